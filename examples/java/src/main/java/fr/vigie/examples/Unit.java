package fr.vigie.examples;

import fr.vigie.Force;
import fr.vigie.ForceStatus;
import fr.vigie.Lane;
import fr.vigie.MessageType;
import fr.vigie.PartnerEvent;
import fr.vigie.RoutedEvent;
import fr.vigie.StatusUpdate;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Unit (police or gendarmerie) client of Vigie: read routed events, send statuses.
 *
 * <pre>
 * eval "$(vigie broker client-config unit-pn-csp-creil --env)"
 * java -cp 'target/vigie-examples.jar:target/lib/*' fr.vigie.examples.Unit follow --unit pn-csp-creil [--take-in-charge]
 * java ... fr.vigie.examples.Unit status --unit pn-csp-creil ROOT_ID CLOSED
 * java ... fr.vigie.examples.Unit status --unit gn-bt-meru ROOT_ID TRANSFER_REQUESTED --transfer-to PN
 * java ... fr.vigie.examples.Unit encode-status statut.json out.bin      (no Kafka)
 * </pre>
 *
 * <p>A status cites the ROOT event id of the incident, which is the Kafka key of the routed
 * record (for the copies of an UPDATE or a CANCEL too), and is keyed by it. An urgent alert
 * (force.u.alerts.v1) must be taken in charge within 300 s, or Vigie escalates it.
 */
public final class Unit {
    private Unit() {}

    public static void main(String[] args) throws Exception {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        Args a = new Args(args);
        int code;
        switch (a.command()) {
            case "follow" -> code = follow(a);
            case "status" -> code = status(a);
            case "encode-status" -> code = encodeStatus(a);
            default -> {
                Json.say("Commandes : follow --unit U [--take-in-charge] | status --unit U ID STATUT | encode-status STATUT.json SORTIE.bin");
                code = 64;
            }
        }
        System.exit(code);
    }

    static byte[] bytes(StatusUpdate update) throws java.io.IOException {
        ByteBuffer buffer = StatusUpdate.getEncoder().encode(update);
        byte[] out = new byte[buffer.remaining()];
        buffer.get(out);
        return out;
    }

    static int encodeStatus(Args a) throws Exception {
        StatusUpdate update = Json.statusUpdate(Json.read(Path.of(a.positional(1))));
        Files.write(Path.of(a.positional(2)), bytes(update));
        return 0;
    }

    /** StatusUpdate producer on force.u.status.v1, keyed by the root event id (UTF-8). */
    static final class StatusSender implements AutoCloseable {
        final String unit;
        final KafkaProducer<byte[], byte[]> producer;

        StatusSender(String unit, Properties connection) {
            this.unit = unit;
            Properties props = new Properties();
            props.putAll(connection);
            props.put("acks", "all");
            props.put("enable.idempotence", "true");
            producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
        }

        void send(String rootId, ForceStatus status, Force transferTo) throws Exception {
            StatusUpdate update = StatusUpdate.newBuilder()
                    .setEventId(rootId)
                    .setUnitId(unit)
                    .setStatus(status)
                    .setAt(Instant.now())
                    .setTransferToForce(transferTo)
                    .build();
            String topic = "force." + unit + ".status.v1";
            RecordMetadata meta = producer.send(new ProducerRecord<>(topic,
                    rootId.getBytes(StandardCharsets.UTF_8), bytes(update))).get();
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("topic", topic);
            f.put("partition", meta.partition());
            f.put("offset", meta.offset());
            f.put("event_id", rootId);
            f.put("status", status);
            Json.emit("status_sent", f);
            Json.say("Statut " + status + " envoyé pour " + rootId + ".");
        }

        @Override
        public void close() {
            producer.close();
        }
    }

    static int status(Args a) throws Exception {
        ForceStatus status = ForceStatus.valueOf(a.positional(2));
        String to = a.option("--transfer-to");
        if (status == ForceStatus.TRANSFER_REQUESTED && to == null) {
            Json.say("Précisez --transfer-to PN ou GN pour une demande de transfert.");
            return 2;
        }
        try (StatusSender sender = new StatusSender(a.option("--unit"), Connection.properties(a.path("--config")))) {
            sender.send(a.positional(1), status, to == null ? null : Force.valueOf(to));
        }
        return 0;
    }

    static int follow(Args a) throws Exception {
        String unit = a.option("--unit");
        String wanted = a.option("--event-id");
        Properties connection = Connection.properties(a.path("--config"));
        Properties props = new Properties();
        props.putAll(connection);
        String group = a.option("--group");
        props.put("group.id", group != null ? group : "unit-" + unit + "-routage"); // ACLs: unit-u-... only
        props.put("auto.offset.reset", "earliest");
        props.put("isolation.level", "read_committed"); // Vigie writes in transactions
        Set<String> taken = new HashSet<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props,
                new ByteArrayDeserializer(), new ByteArrayDeserializer());
             StatusSender sender = a.flag("--take-in-charge") ? new StatusSender(unit, connection) : null) {
            consumer.subscribe(List.of("force." + unit + ".alerts.v1", "force." + unit + ".incidents.v1"));
            Instant deadline = Instant.now().plus(a.seconds("--timeout", 60));
            while (Instant.now().isBefore(deadline)) {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    RoutedEvent copy;
                    try {
                        copy = RoutedEvent.getDecoder().decode(record.value());
                    } catch (Exception e) { // never stop the watch for one unreadable record
                        Json.say("Message illisible ignoré (" + record.topic() + " offset "
                                + record.offset() + ") : " + e.getMessage());
                        continue;
                    }
                    PartnerEvent event = copy.getEvent();
                    // The key IS the root id: cite it, whatever the copy (NEW, UPDATE, CANCEL).
                    String root = new String(record.key(), StandardCharsets.UTF_8);
                    Map<String, Object> f = new LinkedHashMap<>();
                    f.put("topic", record.topic());
                    f.put("key", root);
                    f.put("event_id", event.getEventId());
                    f.put("message_type", event.getMessageType());
                    f.put("status", event.getStatus());
                    f.put("category", event.getCategory());
                    f.put("unit_id", copy.getUnitId());
                    f.put("lane", copy.getDecision().getLane());
                    f.put("units", copy.getDecision().getUnits());
                    f.put("routing_rule", copy.getDecision().getRoutingRule());
                    Json.emit("routed", f);
                    Json.say((copy.getDecision().getLane() == Lane.ALERT ? "ALERTE " : "")
                            + event.getMessageType() + " " + event.getCategory() + " (" + root + ") pour "
                            + copy.getUnitId() + " : " + copy.getDecision().getExplanation());
                    boolean match = root.equals(wanted) || event.getEventId().equals(wanted);
                    if (sender != null && event.getMessageType() != MessageType.CANCEL
                            && (wanted == null || match) && taken.add(root)) {
                        sender.send(root, ForceStatus.TAKEN_IN_CHARGE, null);
                    }
                    if (match) return 0;
                }
            }
        }
        if (wanted != null) {
            Json.say(wanted + " : rien reçu dans le délai.");
            return 1;
        }
        return 0;
    }
}
