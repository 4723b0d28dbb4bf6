"""Vigie's benchmarks: micro-benches (codec, policy) and the Kafka benchmark (``make bench``).

``services/`` goes on the path here, once, so that every module of the Kafka benchmark imports
``vigie`` from a checkout where the package is not installed.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "services") not in sys.path:
    sys.path.insert(0, str(ROOT / "services"))
