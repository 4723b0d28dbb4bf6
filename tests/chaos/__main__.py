"""``python -m tests.chaos``: a full chaos run on a broker of its own (``make chaos``).

Starts a LocalBroker on free loopback ports with a temporary state folder, runs the harness,
prints the figures and exits non-zero when an invariant is broken.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.chaos.harness import ChaosConfig, run_chaos
from vigie.broker.local import LocalBroker
from vigie.settings import Settings
from vigie.workers.launcher import free_port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--events", type=int, default=10_000, help="feed messages")
    parser.add_argument("--kills", type=int, default=6, help="worker SIGKILLs (>= 3)")
    parser.add_argument("--rate", type=float, default=30.0, help="feed messages per second")
    parser.add_argument("--poison-every", type=int, default=50,
                        help="one poison message after every N feed messages")
    parser.add_argument("--graceful-broker-restart", action="store_true",
                        help="stop the broker gracefully instead of SIGKILL")
    parser.add_argument("--seed", type=int, default=1805)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    config = ChaosConfig(events=args.events, kills=args.kills, rate=args.rate,
                         poison_every=args.poison_every,
                         broker_crash=not args.graceful_broker_restart, seed=args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="vigie-chaos-"))
    port, controller = free_port(), free_port()
    broker = LocalBroker(Settings(broker_port=port, controller_port=controller,
                                  bootstrap_servers=f"127.0.0.1:{port}",
                                  state_dir=tmp / "kafka-state", partitions=4))
    print(f"local broker on 127.0.0.1:{port} (state in {tmp})", flush=True)
    broker.start()
    try:
        report = run_chaos(broker, config, tmp / "run",
                           say=lambda line: print(line, flush=True))
    finally:
        broker.stop()
    print(report.table())
    if args.json:
        args.json.write_text(report.to_json())
    if not args.keep and report.ok:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"logs kept in {tmp}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
