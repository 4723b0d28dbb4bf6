# Vigie: `make run` (the demo on a local broker) and `make test` (the whole suite).
# Everything installs from this repository's files; see README.md.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)

.DEFAULT_GOAL := help
.PHONY: help install run test test-unit test-integration lint bench chaos chaos-cluster chaos-cluster-short broker-start broker-stop clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml scripts/check-tools.sh
	@scripts/check-tools.sh "$(PYTHON)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install Vigie with its dev tools

run: $(STAMP) ## Broker + workers + demo feed + live console; Ctrl-C stops everything
	$(BIN)/vigie run

test: $(STAMP) ## Unit and integration tests (starts its own broker on spare ports)
	@scripts/ensure-debian-packages.sh docker-compose prometheus postgresql-15 chromium
	$(BIN)/pytest -q -p no:cacheprovider

test-unit: $(STAMP) ## Unit tests only (no broker)
	$(BIN)/pytest -q tests/unit

test-integration: $(STAMP) ## Integration tests only (real broker)
	$(BIN)/pytest -q tests/integration

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check services tests bench scripts examples/python
	$(BIN)/mypy

# The quixstreams peer pins pydantic<2.14 and confluent-kafka<2.13: it gets a venv of its own
# (the bench-peer extra), passed to the bench as --peer-python; .venv only gets the profilers.
PEER_VENV  := .vigie/peer-venv
BENCH_HASH := $(shell sha256sum pyproject.toml | cut -c1-12)
BENCH_STAMP := $(VENV)/.bench-$(BENCH_HASH)
PEER_STAMP  := $(PEER_VENV)/.installed-$(BENCH_HASH)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	@rm -f $(VENV)/.bench-*
	@touch $(BENCH_STAMP)

$(PEER_STAMP): pyproject.toml
	@test -x $(PEER_VENV)/bin/python || $(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/python -m pip install -q --upgrade pip
	@# If the project's own pins ever exclude quixstreams' (e.g. confluent-kafka>=2.13), pip
	@# cannot resolve both: the project first, then quixstreams over it (pip warns; the peer
	@# imports no Kafka client of Vigie's, only its intake logic).
	$(PEER_VENV)/bin/python -m pip install -q -e '.[bench-peer]' || { \
		$(PEER_VENV)/bin/python -m pip install -q -e . && \
		$(PEER_VENV)/bin/python -m pip install -q 'quixstreams>=3.20,<4'; }
	@rm -f $(PEER_VENV)/.installed-*
	@touch $(PEER_STAMP)

bench: $(BENCH_STAMP) $(PEER_STAMP) ## Benchmarks against the local broker (writes bench/results/latest.json)
	$(BIN)/python -m bench --peer-python $(PEER_VENV)/bin/python $(BENCH_ARGS)

chaos: $(STAMP) ## Chaos run: 10,000 events, 6 worker SIGKILLs, a broker crash, poison (~6 min)
	$(BIN)/python -m tests.chaos --events 10000 --kills 6 $(CHAOS_ARGS)

chaos-cluster: $(STAMP) ## Chaos on 3 Kafka nodes: leader, coordinator, controller kills, rolling restart, 2 down (~14 min)
	$(BIN)/python -m tests.chaos.cluster --events 10000 --kills 6 \
		--json bench/results/chaos-cluster.json $(CHAOS_ARGS)

chaos-cluster-short: $(STAMP) ## Shorter cluster chaos (CI step after make test; < 10 min)
	$(BIN)/python -m tests.chaos.cluster --events 2000 --rate 6 --kills 2 --down 5 \
		--two-down 10 --baseline 10 \
		--faults leader-kill,coordinator-kill,controller-kill,two-down $(CHAOS_ARGS)

broker-start: $(STAMP) ## Start the local Kafka broker in the background
	$(BIN)/vigie broker start

broker-stop: $(STAMP) ## Stop the local Kafka broker
	$(BIN)/vigie broker stop

clean: ## Stop the broker and remove local state (keeps the jar cache)
	-@test -x $(BIN)/vigie && $(BIN)/vigie broker stop
	rm -rf .vigie/state
