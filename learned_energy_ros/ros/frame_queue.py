"""Overload policy and stamp checks of the nodes (plain Python, testable without ROS).

When synchronized frames arrive faster than the model runs, the node keeps at
most ``depth`` pending frames and drops the OLDEST: the newest data is what a
robot needs, and the latency of a processed frame stays below about
``(depth + 1) x processing time``. Every drop is counted for ``/diagnostics``.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque

__all__ = ["FrameQueue", "check_stamp", "StampRejected"]


class StampRejected(ValueError):
    """A frame whose stamp is too far in the future or too old; ``reason`` is the diagnostics key."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def check_stamp(stamp_s: float, now_s: float, max_future_s: float, max_age_s: float) -> None:
    """Refuse a frame stamped too far ahead of, or behind, the node clock.

    Args:
        stamp_s: the frame's header stamp (s).
        now_s: the node clock (ROS time, sim time when ``use_sim_time``).
        max_future_s: tolerated lead of the stamp over the clock (0: no check).
        max_age_s: tolerated age of the stamp (0: no check; bags replayed without sim time are old).
    Raises:
        StampRejected: ``future_stamp`` or ``stale_stamp``.
    """
    if not math.isfinite(stamp_s):
        raise StampRejected("bad_stamp", f"stamp {stamp_s}")
    if max_future_s > 0 and stamp_s - now_s > max_future_s:
        raise StampRejected("future_stamp", f"stamp is {stamp_s - now_s:.3f} s ahead of the node clock "
                            f"(max_stamp_future={max_future_s} s)")
    if max_age_s > 0 and now_s - stamp_s > max_age_s:
        raise StampRejected("stale_stamp", f"stamp is {now_s - stamp_s:.3f} s old (max_stamp_age={max_age_s} s)")


class FrameQueue:
    """Thread-safe bounded FIFO of pending frames that evicts the oldest when full.

    Args:
        depth: most frames waiting for processing (>= 1).
        clock: monotonic clock (s), injectable for tests.
    """

    def __init__(self, depth: int = 2, clock=time.monotonic):
        if int(depth) < 1:
            raise ValueError(f"queue depth must be >= 1, got {depth}")
        self.clock = clock
        self._items: deque = deque()
        self._depth = int(depth)
        self._lock = threading.Lock()
        self.dropped = 0  # frames evicted unprocessed because newer ones arrived

    @property
    def depth(self) -> int:
        return self._depth

    def set_depth(self, depth: int) -> None:
        """Change the depth (>= 1); excess oldest frames are dropped on the next push."""
        if int(depth) < 1:
            raise ValueError(f"queue depth must be >= 1, got {depth}")
        self._depth = int(depth)

    def push(self, item) -> int:
        """Append ``item``; return how many oldest frames were evicted to make room."""
        with self._lock:
            self._items.append((self.clock(), item))
            evicted = 0
            while len(self._items) > self._depth:
                self._items.popleft()
                evicted += 1
            self.dropped += evicted
            return evicted

    def pop(self):
        """Return ``(seconds waited, item)`` of the oldest pending frame, or None when empty."""
        with self._lock:
            if not self._items:
                return None
            queued_at, item = self._items.popleft()
            return self.clock() - queued_at, item

    def clear(self) -> int:
        """Drop every pending frame (deactivation); return how many."""
        with self._lock:
            n = len(self._items)
            self._items.clear()
            return n

    def __len__(self) -> int:
        return len(self._items)


class SequenceGaps:
    """Count messages a subscription never saw, from publication sequence-number gaps per publisher.

    A keep-last reader history overwrites its OLDEST samples when callbacks fall
    behind; those losses never reach a callback, so they are counted here from
    ``MessageInfo`` (publisher gid + publication sequence number).
    """

    def __init__(self):
        self._last: dict[tuple, int] = {}
        self.lost: dict[str, int] = {}

    def note(self, topic: str, info) -> int:
        """Record one received message's ``info`` (a MessageInfo mapping); return how many were missed before it."""
        try:
            seq = info["publication_sequence_number"]
            gid = bytes(info["publisher_gid"]["data"])
        except (KeyError, TypeError):
            return 0
        if seq is None:
            return 0
        key = (topic, gid)
        last = self._last.get(key)
        self._last[key] = int(seq)
        if last is None or seq <= last:  # first message, or a restarted publisher
            return 0
        gap = int(seq) - last - 1
        if gap:
            self.lost[topic] = self.lost.get(topic, 0) + gap
        return gap
