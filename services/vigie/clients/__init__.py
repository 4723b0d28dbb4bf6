"""What partners and units compute on their side, Kafka-free: events read and checked before
they leave a partner, a unit's status record. Sending and reading them is ``vigie.kafka``."""
