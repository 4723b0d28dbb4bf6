package fr.vigie.examples;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

/**
 * Kafka connection settings of a Vigie client.
 *
 * <p>From the environment that {@code vigie broker client-config <login> --env} exports
 * (VIGIE_BOOTSTRAP_SERVERS, VIGIE_SECURITY_PROTOCOL, VIGIE_SASL_MECHANISM, VIGIE_SASL_USERNAME,
 * VIGIE_SASL_PASSWORD, VIGIE_SSL_CAFILE), then, if given, a Java properties file on top
 * ({@code vigie broker client-config <login> --java} prints one, without bootstrap.servers).
 *
 * <p>Nothing to set for the partitioner: the Java client's default partitioner hashes a
 * record's key with murmur2, as Vigie requires (a record on another partition is rejected
 * WRONG_PARTITION). Never set {@code partitioner.class}.
 */
final class Connection {
    private Connection() {}

    static Properties properties(Path file) throws IOException {
        Map<String, String> env = System.getenv();
        Properties props = new Properties();
        props.put("bootstrap.servers", env.getOrDefault("VIGIE_BOOTSTRAP_SERVERS", "127.0.0.1:9092"));
        String protocol = env.getOrDefault("VIGIE_SECURITY_PROTOCOL", "PLAINTEXT");
        props.put("security.protocol", protocol);
        if (protocol.toUpperCase().startsWith("SASL")) {
            props.put("sasl.mechanism", env.getOrDefault("VIGIE_SASL_MECHANISM", "SCRAM-SHA-512"));
            props.put("sasl.jaas.config",
                    "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                            + env.getOrDefault("VIGIE_SASL_USERNAME", "") + "\" password=\""
                            + env.getOrDefault("VIGIE_SASL_PASSWORD", "") + "\";");
        }
        String ca = env.get("VIGIE_SSL_CAFILE");
        if (ca != null && !ca.isEmpty()) {
            // The CA that signed the brokers' certificates (PEM); the host name is checked.
            props.put("ssl.truststore.type", "PEM");
            props.put("ssl.truststore.location", ca);
        }
        if (file != null) {
            try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                props.load(reader);
            }
        }
        return props;
    }
}
