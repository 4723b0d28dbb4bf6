"""One module per measurement of ``make bench``, each ``async (Bench) -> dict`` whose result
goes under its name in bench/results/latest.json (see bench/kafka_bench.py for the order)."""
