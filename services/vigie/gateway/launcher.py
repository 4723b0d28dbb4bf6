"""A real ``python -m vigie gateway`` subprocess: how ``vigie run``, the integration test and
the bench start the gateway (the same launcher as the workers', ``workers.launcher``)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from vigie.gateway.settings import GatewaySettings
from vigie.workers.launcher import VigieProcess


class GatewayNotReady(RuntimeError):
    pass


@dataclass
class GatewayProcess(VigieProcess):
    """The gateway with the parent's Kafka settings and these gateway settings."""

    config: GatewaySettings | None = None

    def command(self) -> list[str]:
        return ["gateway", "--loglevel", self.loglevel]

    def env(self) -> dict[str, str]:
        env = super().env()
        if self.config is not None:
            env.update(self.config.environment())
        return env

    @property
    def url(self) -> str:
        assert self.config is not None
        scheme = "https" if self.config.tls_certfile else "http"
        return f"{scheme}://{self.config.host}:{self.config.port}"

    def start(self, wait: bool = True, timeout: float = 90.0) -> GatewayProcess:
        self.spawn()
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Until ``/readyz`` answers 200 (its acks index caught up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise GatewayNotReady(f"la passerelle s'est arrêtée ; journal {self.log_path}:"
                                      f"\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise GatewayNotReady(f"passerelle non prête après {timeout:.0f} s ; journal "
                              f"{self.log_path}:\n{self.log_tail()}")
