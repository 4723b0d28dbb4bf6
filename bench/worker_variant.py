"""``python -m vigie worker`` with faust settings overridden, to measure a proposed change to
``vigie/workers/app.py`` before making it (``BENCH_FAUST_OVERRIDES='{"producer_linger": 0.005}'``).

Used by ``python -m bench --faust-overrides JSON``; services/ stays untouched.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def main() -> None:
    import faust

    overrides: dict[str, Any] = json.loads(os.environ.get("BENCH_FAUST_OVERRIDES", "{}"))
    original = faust.App.__init__

    def patched(self: faust.App, *args: Any, **kwargs: Any) -> None:
        kwargs.update(overrides)
        original(self, *args, **kwargs)

    faust.App.__init__ = patched  # type: ignore[method-assign]
    from vigie.cli import app

    sys.argv = ["vigie", "worker", *sys.argv[1:]]
    app()


if __name__ == "__main__":
    main()
