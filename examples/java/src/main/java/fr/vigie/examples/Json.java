package fr.vigie.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import fr.vigie.Address;
import fr.vigie.Category;
import fr.vigie.Certainty;
import fr.vigie.Coordinates;
import fr.vigie.EventStatus;
import fr.vigie.Force;
import fr.vigie.ForceStatus;
import fr.vigie.Location;
import fr.vigie.MessageType;
import fr.vigie.PartnerEvent;
import fr.vigie.ReporterRole;
import fr.vigie.Severity;
import fr.vigie.StatusUpdate;
import fr.vigie.Urgency;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The messages as JSON (field names of the Avro schemas, instants in ISO 8601), to and from
 * the classes avro-maven-plugin generates. A real integration fills the builders from its
 * own data instead; the mapping below shows every field once.
 */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    static JsonNode read(Path file) throws IOException {
        return MAPPER.readTree(file.toFile());
    }

    /** A PartnerEvent from its JSON form; absent optional fields keep the schema default. */
    static PartnerEvent partnerEvent(JsonNode j) {
        PartnerEvent.Builder b = PartnerEvent.newBuilder()
                .setEventId(j.get("event_id").asText())
                .setPartnerId(j.get("partner_id").asText())
                .setSentAt(instant(j.get("sent_at")))
                .setOccurredAt(instant(j.get("occurred_at")))
                .setCategory(Category.valueOf(j.get("category").asText()));
        if (has(j, "status")) b.setStatus(EventStatus.valueOf(j.get("status").asText()));
        if (has(j, "message_type")) b.setMessageType(MessageType.valueOf(j.get("message_type").asText()));
        if (has(j, "references")) {
            List<String> refs = new ArrayList<>();
            j.get("references").forEach(r -> refs.add(r.asText()));
            b.setReferences(refs);
        }
        if (has(j, "incident_id")) b.setIncidentId(j.get("incident_id").asText());
        if (has(j, "urgency")) b.setUrgency(Urgency.valueOf(j.get("urgency").asText()));
        if (has(j, "severity")) b.setSeverity(Severity.valueOf(j.get("severity").asText()));
        if (has(j, "certainty")) b.setCertainty(Certainty.valueOf(j.get("certainty").asText()));
        if (has(j, "site_id")) b.setSiteId(j.get("site_id").asText());
        if (has(j, "location")) b.setLocation(location(j.get("location")));
        if (has(j, "staff_involved")) b.setStaffInvolved(j.get("staff_involved").asBoolean());
        if (has(j, "persons_in_danger")) b.setPersonsInDanger(j.get("persons_in_danger").asBoolean());
        if (has(j, "description")) b.setDescription(j.get("description").asText());
        if (has(j, "expires_at")) b.setExpiresAt(instant(j.get("expires_at")));
        if (has(j, "source_system")) b.setSourceSystem(j.get("source_system").asText());
        if (has(j, "reporter_role")) b.setReporterRole(ReporterRole.valueOf(j.get("reporter_role").asText()));
        return b.build();
    }

    private static Location location(JsonNode j) {
        Location.Builder b = Location.newBuilder();
        if (has(j, "coordinates")) {
            JsonNode c = j.get("coordinates");
            b.setCoordinates(Coordinates.newBuilder()
                    .setLat(c.get("lat").asDouble()).setLon(c.get("lon").asDouble()).build());
        }
        if (has(j, "address")) {
            JsonNode a = j.get("address");
            b.setAddress(Address.newBuilder()
                    .setStreet(text(a, "street"))
                    .setPostcode(text(a, "postcode"))
                    .setCommuneName(text(a, "commune_name"))
                    .setInseeCode(text(a, "insee_code"))
                    .build());
        }
        return b.build();
    }

    /** A StatusUpdate from its JSON form. */
    static StatusUpdate statusUpdate(JsonNode j) {
        return StatusUpdate.newBuilder()
                .setEventId(j.get("event_id").asText())
                .setUnitId(j.get("unit_id").asText())
                .setStatus(ForceStatus.valueOf(j.get("status").asText()))
                .setAt(instant(j.get("at")))
                .setTransferToForce(has(j, "transfer_to_force")
                        ? Force.valueOf(j.get("transfer_to_force").asText()) : null)
                .build();
    }

    /** One JSON line on stdout per fact, for scripts and tests: {"type": kind, ...}. */
    static void emit(String kind, Map<String, Object> fields) {
        ObjectNode node = MAPPER.createObjectNode();
        node.put("type", kind);
        fields.forEach((k, v) -> node.set(k, MAPPER.valueToTree(v instanceof Instant ? v.toString()
                : v instanceof Enum<?> ? ((Enum<?>) v).name() : v)));
        System.out.println(node);
        System.out.flush();
    }

    /** A line for the human at the terminal (stderr, in French). */
    static void say(String text) {
        System.err.println(text);
    }

    private static boolean has(JsonNode j, String name) {
        return j.has(name) && !j.get(name).isNull();
    }

    private static String text(JsonNode j, String name) {
        return has(j, name) ? j.get(name).asText() : null;
    }

    private static Instant instant(JsonNode value) {
        return OffsetDateTime.parse(value.asText()).toInstant();
    }
}
