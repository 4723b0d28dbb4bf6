"""The service layer: what each stage does with one message, free of Kafka.

The routing engine in ``vigie.workers`` only moves bytes between topics, inside Kafka
transactions, and calls these processors; the benchmark and the tests call them directly.
"""
