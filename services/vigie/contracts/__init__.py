"""Contracts: the messages that cross the bus, their Avro schemas, codec and validation."""
