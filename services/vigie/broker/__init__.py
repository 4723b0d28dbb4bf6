"""The local Apache Kafka broker: jars from Maven Central, KRaft storage, start/stop/status."""
