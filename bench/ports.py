"""Listening ports for the servers a bench run starts (worker metrics, gateway, PostgreSQL).

``vigie.workers.launcher.free_port`` asks the kernel for a port (bind to 0), which comes from
the ephemeral range (``net.ipv4.ip_local_port_range``, 32768-60999 by default): the range the
kernel also hands to every outgoing connection. The bench opens hundreds of them (its
counting consumers, publishers, the workers' own clients), so between the pick and the
server's bind the port may already be the local end of a connection: a full run once lost its
``alerts`` worker that way (``address already in use`` on its metrics port, right after the
gateway run). A port below that range is never given to an outgoing connection; it is
checked free here and never handed out twice in one bench.
"""

from __future__ import annotations

import contextlib
import random
import socket
from pathlib import Path

from vigie.workers.launcher import free_port

_GIVEN: set[int] = set()
_RNG = random.Random()


def _ephemeral_low() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    return 32768


def listen_port() -> int:
    """A loopback port nobody listens on now, outside the ephemeral range if it can."""
    high = _ephemeral_low()
    low = max(1024, high - 12_000)
    for _ in range(200):
        port = _RNG.randrange(low, high)
        if port in _GIVEN:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    return free_port()  # nothing free below the range: the kernel's pick
