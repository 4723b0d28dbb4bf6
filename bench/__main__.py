"""``python -m bench`` (``make bench``): the end-to-end benchmark on a local Kafka broker."""

from bench.kafka_bench import main

raise SystemExit(main())
