"""Vigie's benchmarks: micro-benches (codec, policy) and the Kafka benchmark (``make bench``)."""
