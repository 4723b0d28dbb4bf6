"""Debian programs the integration tests drive (prometheus, chromium), installed on demand.

``make test`` installs them first (scripts/ensure-debian-packages.sh); a test run on its own
as root installs what is missing the same way, and elsewhere the test skips saying why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ENSURE = Path(__file__).resolve().parents[2] / "scripts" / "ensure-debian-packages.sh"


def debian_command(command: str, package: str, timeout: float = 900) -> str:
    """The path of ``command``, installing Debian's ``package`` if needed and possible."""
    found = shutil.which(command)
    if found is None and os.geteuid() == 0:
        subprocess.run([str(ENSURE), package], check=False, timeout=timeout)
        found = shutil.which(command)
    if found is None:
        pytest.skip(f"{command} not installed and not installable here (needs root and "
                    f"apt-get: apt-get install {package})")
    return found
