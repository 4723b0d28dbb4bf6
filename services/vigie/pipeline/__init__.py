"""The service layer: what each stage does with one message, free of Kafka.

The faust agents in ``vigie.workers`` only move bytes between topics and call these
processors; the benchmark and the tests call them directly.
"""
