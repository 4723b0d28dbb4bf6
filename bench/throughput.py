"""What a throughput run reports: events/s between the first and the last output, the CPU
each event cost the measured processes, and their peak memory.

CPU and RSS come from /proc (no psutil needed). CPU is sampled at the first and the last
output seen, so start-up and the idle tail do not count against the cost per event.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from bench.kafka_io import Count

CLK_TCK = os.sysconf("SC_CLK_TCK")


class Proc:
    """CPU seconds and peak RSS of one process."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def cpu(self) -> float:
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat.rsplit(") ", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime

    def peak_rss_mb(self) -> float:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0


class Sampler:
    """CPU of the measured processes at the first and the last output seen."""

    def __init__(self, procs: list[Proc]) -> None:
        self.procs = procs
        self.first: tuple[int, float] | None = None
        self.last: tuple[int, float] | None = None

    def cpu(self) -> float:
        return sum(p.cpu() for p in self.procs)

    def progress(self, count: Count) -> None:
        point = (count.count, self.cpu())
        if self.first is None:
            self.first = point
        self.last = point

    def cpu_us_per_event(self) -> float:
        if self.first is None or self.last is None or self.last[0] <= self.first[0]:
            return float("nan")
        return (self.last[1] - self.first[1]) / (self.last[0] - self.first[0]) * 1e6


def summarize(count: Count, sample: Sampler, peak_rss_mb: float) -> dict[str, Any]:
    return {
        "outputs_counted": count.count,
        "complete": count.done,
        "eps": round(count.eps()),
        "eps_steady": round(count.eps(skip=0.1)),
        "seconds": round((count.last_ts or 0) - (count.first_ts or 0), 2),
        "cpu_us_per_event": round(sample.cpu_us_per_event(), 1),
        # What one fully busy core would do at that CPU cost: robust to a shared machine.
        "cpu_capacity_eps": round(1e6 / sample.cpu_us_per_event())
        if sample.cpu_us_per_event() > 0 else 0,
        "peak_rss_mb": round(peak_rss_mb, 1),
    }
