"""Frame bookkeeping for ``/diagnostics``: input rates, latency, skipped frames by reason."""
from __future__ import annotations

import threading
import time
from collections import Counter, deque

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

__all__ = ["FrameStats", "to_diagnostic_array"]

_RATE_WINDOW_S = 5.0  # inputs/outputs rates are averaged over this many seconds
_LATENCY_WINDOW = 50  # processing latency statistics over this many frames


class FrameStats:
    """Count arrivals, processed/skipped frames and latency (plain Python, testable without ROS).

    Thread-safe: input callbacks, the worker and the diagnostics timer run in
    different executor threads.

    Args:
        clock: monotonic time source in seconds (injectable for tests).
    """

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.arrivals: dict[str, deque] = {}
        self.skipped: Counter = Counter()
        self.counts: Counter = Counter()
        self.latencies: deque = deque(maxlen=_LATENCY_WINDOW)
        self._reported_skips = 0
        self._lock = threading.Lock()

    def arrived(self, topic: str) -> None:
        """Record one message on ``topic``."""
        with self._lock:
            self.arrivals.setdefault(topic, deque(maxlen=1000)).append(self.clock())
            self.counts[f"received_{topic}"] += 1

    def skip(self, reason: str, n: int = 1) -> None:
        """Record ``n`` frames skipped for ``reason`` (a short snake_case key)."""
        with self._lock:
            self.skipped[reason] += n

    def count(self, key: str, n: int = 1) -> None:
        """Add ``n`` to a named counter (e.g. ``rejected_energy``)."""
        with self._lock:
            self.counts[key] += n

    def processed(self, latency_s: float) -> None:
        """Record one processed frame and its processing latency."""
        with self._lock:
            self.counts["frames_processed"] += 1
            self.latencies.append(float(latency_s))

    def rate(self, topic: str) -> float:
        """Messages per second on ``topic`` over the last few seconds."""
        now = self.clock()
        with self._lock:
            times = [t for t in self.arrivals.get(topic, ()) if now - t <= _RATE_WINDOW_S]
        if len(times) < 2:
            return 0.0
        return (len(times) - 1) / max(times[-1] - times[0], 1e-9)

    def new_skips(self) -> int:
        """Return how many frames were skipped since the previous call."""
        with self._lock:
            total = sum(self.skipped.values())
        new, self._reported_skips = total - self._reported_skips, total
        return new

    def summary(self) -> dict[str, float]:
        """Return every statistic as a flat ``name -> number`` dict."""
        out: dict[str, float] = {f"rate_{topic}_hz": self.rate(topic) for topic in list(self.arrivals)}
        with self._lock:
            out.update(self.counts)
            out.update({f"skipped_{reason}": n for reason, n in self.skipped.items()})
            ordered = sorted(self.latencies)
        out["skipped_total"] = sum(v for k, v in out.items() if k.startswith("skipped_"))
        if ordered:
            out["latency_mean_ms"] = 1e3 * sum(ordered) / len(ordered)
            out["latency_max_ms"] = 1e3 * ordered[-1]
        return out


def to_diagnostic_array(stats: FrameStats, name: str, hardware_id: str, stamp, warn_topics=()) -> DiagnosticArray:
    """Build a DiagnosticArray with one status holding every statistic.

    Level is WARN when a topic in ``warn_topics`` has no recent messages or
    frames were skipped since the previous report, else OK.
    """
    summary = stats.summary()
    status = DiagnosticStatus(name=name, hardware_id=hardware_id)
    silent = [t for t in warn_topics if stats.rate(t) == 0.0]
    if silent:
        status.level, status.message = DiagnosticStatus.WARN, f"no recent input on {', '.join(silent)}"
    elif (new_skips := stats.new_skips()):
        status.level, status.message = DiagnosticStatus.WARN, f"{new_skips} frames skipped since last report"
    else:
        status.level, status.message = DiagnosticStatus.OK, "ok"
    status.values = [KeyValue(key=k, value=f"{v:.4g}" if isinstance(v, float) else str(v)) for k, v in summary.items()]
    array = DiagnosticArray()
    array.header.stamp = stamp
    array.status = [status]
    return array
