package fr.vigie.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import fr.vigie.Acknowledgement;
import fr.vigie.Category;
import fr.vigie.MessageType;
import fr.vigie.PartnerEvent;
import fr.vigie.Urgency;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Landlord (bailleur) client of Vigie: publish a PartnerEvent, read its acknowledgements.
 *
 * <pre>
 * eval "$(vigie broker client-config partner-opac-oise --env)"
 * java -cp 'target/vigie-examples.jar:target/lib/*' fr.vigie.examples.Landlord publish evenement.json
 * java ... fr.vigie.examples.Landlord acks --partner opac-oise [--event-id ID] [--timeout 60]
 * java ... fr.vigie.examples.Landlord sandbox --partner opac-oise [--event-id ID]   (TEST copies)
 * java ... fr.vigie.examples.Landlord encode evenement.json out.bin      (no Kafka)
 * </pre>
 *
 * <p>Values are Avro single-object encoded by {@link BinaryMessageEncoder}: C3 01, the 8-byte
 * little-endian CRC-64-AVRO fingerprint of the writer schema, the Avro body. The key is the
 * root event id in UTF-8. stdout: one JSON line per fact; stderr: French text. Exit status:
 * 0 the awaited status came, 2 REJECTED or EXPIRED, 1 time-out.
 */
public final class Landlord {
    static final Set<String> ROUTING_OUTCOMES = Set.of("ROUTED", "REJECTED", "EXPIRED", "DUPLICATE");
    static final Set<String> FAILED = Set.of("REJECTED", "EXPIRED");
    static final Set<Category> URGENT = EnumSet.of(Category.STAFF_AGGRESSION, Category.STAFF_THREAT,
            Category.WEAPON);

    private Landlord() {}

    public static void main(String[] args) throws Exception {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        Args a = new Args(args);
        int code;
        switch (a.command()) {
            case "publish" -> code = publish(a);
            case "acks" -> code = acks(a);
            case "sandbox" -> code = sandbox(a);
            case "encode" -> code = encode(a);
            default -> {
                Json.say("Commandes : publish EVENEMENT.json | acks --partner P | sandbox --partner P | encode EVENEMENT.json SORTIE.bin");
                code = 64;
            }
        }
        System.exit(code);
    }

    /** The Kafka key: the event's own id for a NEW, else the first reference (the root). */
    static String rootId(PartnerEvent event) {
        if (event.getMessageType() == MessageType.NEW || event.getReferences().isEmpty()) {
            return event.getEventId();
        }
        return event.getReferences().get(0);
    }

    /** The urgent lane (partner.p.alerts.v1): vigie.routing.policy.lane_for. */
    static String topicFor(PartnerEvent event) {
        boolean alert = URGENT.contains(event.getCategory()) || event.getPersonsInDanger()
                || (event.getStaffInvolved() && event.getUrgency() == Urgency.IMMEDIATE);
        return "partner." + event.getPartnerId() + (alert ? ".alerts.v1" : ".incidents.v1");
    }

    static byte[] bytes(PartnerEvent event) throws java.io.IOException {
        ByteBuffer buffer = PartnerEvent.getEncoder().encode(event);
        byte[] out = new byte[buffer.remaining()];
        buffer.get(out);
        return out;
    }

    static int encode(Args a) throws Exception {
        PartnerEvent event = Json.partnerEvent(Json.read(Path.of(a.positional(1))));
        Files.write(Path.of(a.positional(2)), bytes(event));
        return 0;
    }

    static int publish(Args a) throws Exception {
        JsonNode json = Json.read(Path.of(a.positional(1)));
        ObjectNode filled = ((ObjectNode) json).deepCopy();
        // Keep the id to re-send the same event: Vigie then answers DUPLICATE, never twice.
        if (!filled.hasNonNull("event_id")) filled.put("event_id", UUID.randomUUID().toString());
        if (!filled.hasNonNull("sent_at")) filled.put("sent_at", Instant.now().toString());
        PartnerEvent event = Json.partnerEvent(filled);
        String key = rootId(event);
        String topic = topicFor(event);
        Properties connection = Connection.properties(a.path("--config"));
        try (KafkaConsumer<byte[], byte[]> consumer = ackConsumer(event.getPartnerId(), connection)) {
            Properties props = new Properties();
            props.putAll(connection);
            props.put("acks", "all");
            props.put("enable.idempotence", "true"); // a retry never writes twice
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props,
                    new ByteArraySerializer(), new ByteArraySerializer())) {
                RecordMetadata meta = producer.send(new ProducerRecord<>(topic,
                        key.getBytes(StandardCharsets.UTF_8), bytes(event))).get();
                Map<String, Object> f = new LinkedHashMap<>();
                f.put("topic", meta.topic());
                f.put("partition", meta.partition());
                f.put("offset", meta.offset());
                f.put("key", key);
                f.put("event_id", event.getEventId());
                Json.emit("published", f);
                Json.say("Publié " + event.getEventId() + " sur " + meta.topic() + " (partition "
                        + meta.partition() + ", offset " + meta.offset() + ").");
            }
            Set<String> wanted = a.all("--wait-for").isEmpty() ? ROUTING_OUTCOMES : Set.copyOf(a.all("--wait-for"));
            return waitForAcks(consumer, event.getEventId(), wanted, a.seconds("--timeout", 60));
        }
    }

    /** The copies of the partner's TEST events: what the units would have received. */
    static int sandbox(Args a) throws Exception {
        String partner = a.option("--partner");
        String wanted = a.option("--event-id");
        Properties props = new Properties();
        props.putAll(Connection.properties(a.path("--config")));
        props.put("group.id", "partner-" + partner + "-bac-a-sable");
        props.put("auto.offset.reset", "earliest");
        props.put("isolation.level", "read_committed");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props,
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of("partner." + partner + ".sandbox.v1"));
            Instant deadline = Instant.now().plus(a.seconds("--timeout", 60));
            while (Instant.now().isBefore(deadline)) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    fr.vigie.RoutedEvent copy;
                    try {
                        copy = fr.vigie.RoutedEvent.getDecoder().decode(record.value());
                    } catch (Exception e) {
                        Json.say("Message illisible ignoré (offset " + record.offset() + ") : " + e.getMessage());
                        continue;
                    }
                    Map<String, Object> f = new LinkedHashMap<>();
                    f.put("key", new String(record.key(), StandardCharsets.UTF_8));
                    f.put("event_id", copy.getEvent().getEventId());
                    f.put("status", copy.getEvent().getStatus());
                    f.put("unit_id", copy.getUnitId());
                    f.put("lane", copy.getDecision().getLane());
                    f.put("explanation", copy.getDecision().getExplanation());
                    Json.emit("sandbox", f);
                    Json.say("Bac à sable : " + copy.getEvent().getEventId() + " aurait été envoyé à "
                            + copy.getUnitId() + ".");
                    if (copy.getEvent().getEventId().equals(wanted)) return 0;
                }
            }
        }
        return wanted != null ? 1 : 0;
    }

    static int acks(Args a) throws Exception {
        Properties connection = Connection.properties(a.path("--config"));
        try (KafkaConsumer<byte[], byte[]> consumer = ackConsumer(a.option("--partner"), connection)) {
            return waitForAcks(consumer, a.option("--event-id"), Set.copyOf(a.all("--wait-for")),
                    a.seconds("--timeout", 60));
        }
    }

    /**
     * partner.p.acks.v1 in the group partner-p-accuses (the ACLs allow only groups named
     * partner-p-...); read_committed because Vigie writes acknowledgements in transactions
     * (the Java default, read_uncommitted, could show an aborted copy).
     */
    static KafkaConsumer<byte[], byte[]> ackConsumer(String partner, Properties connection) {
        Properties props = new Properties();
        props.putAll(connection);
        props.put("group.id", "partner-" + partner + "-accuses");
        props.put("auto.offset.reset", "earliest");
        props.put("isolation.level", "read_committed");
        props.put("enable.auto.commit", "true");
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props,
                new ByteArrayDeserializer(), new ByteArrayDeserializer());
        consumer.subscribe(List.of("partner." + partner + ".acks.v1"));
        return consumer;
    }

    static int waitForAcks(KafkaConsumer<byte[], byte[]> consumer, String eventId, Set<String> wanted,
                           Duration timeout) throws Exception {
        Instant deadline = Instant.now().plus(timeout);
        Set<String> seen = new HashSet<>();
        while (Instant.now().isBefore(deadline)) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                Acknowledgement ack;
                try {
                    ack = Acknowledgement.getDecoder().decode(record.value());
                } catch (Exception e) { // never stop the watch for one unreadable record
                    Json.say("Message illisible ignoré (offset " + record.offset() + ") : " + e.getMessage());
                    continue;
                }
                if (eventId != null && !eventId.equals(ack.getEventId())) continue;
                if (!seen.add(ack.getAckId())) continue; // the same answer re-read: not news
                Map<String, Object> f = new LinkedHashMap<>();
                f.put("event_id", ack.getEventId());
                f.put("status", ack.getStatus());
                f.put("units", ack.getUnits());
                f.put("reason_code", ack.getReasonCode());
                f.put("reason_message", ack.getReasonMessage());
                f.put("routing_rule", ack.getRoutingRule());
                f.put("competent_unit_id", ack.getCompetentUnitId());
                f.put("issued_at", ack.getIssuedAt());
                Json.emit("ack", f);
                String status = ack.getStatus().name();
                Json.say(ack.getEventId() + " : " + status + " " + String.join(", ", ack.getUnits())
                        + (ack.getReasonCode() != null
                        ? " (" + ack.getReasonCode() + " : " + ack.getReasonMessage() + ")" : ""));
                if (eventId != null && FAILED.contains(status)) return 2;
                if (wanted.contains(status)) return 0;
            }
        }
        if (wanted.isEmpty()) return 0;
        Json.say("Délai dépassé sans la réponse attendue.");
        return 1;
    }
}
