"""The bench's servers get ports that no outgoing connection can take from them: below the
kernel's ephemeral range, free when handed out, never handed out twice, a taken one skipped."""

from __future__ import annotations

import socket

import pytest
from bench import ports


def test_ports_are_below_the_ephemeral_range_free_and_distinct() -> None:
    given = [ports.listen_port() for _ in range(50)]
    assert len(set(given)) == len(given)
    low = ports._ephemeral_low()
    assert all(1024 <= p < low for p in given)
    for port in given[:5]:  # a server can listen on it
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
            server.listen()


class _Scripted:
    """Stands in for the random generator: the ports to try, in order."""

    def __init__(self, *order: int) -> None:
        self.order = list(order)

    def randrange(self, _low: int, _high: int) -> int:
        return self.order.pop(0)


def test_a_port_someone_listens_on_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken, socket.socket() as spare:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        spare.bind(("127.0.0.1", 0))
        free = spare.getsockname()[1]
        spare.close()
        busy = taken.getsockname()[1]
        monkeypatch.setattr(ports, "_RNG", _Scripted(busy, free))
        assert ports.listen_port() == free
