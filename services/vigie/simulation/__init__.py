"""Realistic demo and test feeds built from the sample sites (no Kafka here)."""
