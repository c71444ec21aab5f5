"""Approximate-time synchronization of camera_info + keypoints (+ image).

``message_filters`` is used when importable (system ROS installs); it is not on
PyPI, so ``ApproximateTimeSynchronizer`` below is the equivalent used
otherwise. It is plain Python (no rclpy) so tests feed it mock messages without
spinning, like message_filters' own ``test_approxsync.py``.
"""
from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Callable

logger = logging.getLogger(__name__)

__all__ = ["ApproximateTimeSynchronizer", "StampBuffer", "header_stamp_ns", "message_filters_available"]


def header_stamp_ns(msg) -> int:
    """Return ``msg.header.stamp`` as integer nanoseconds."""
    stamp = msg.header.stamp
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def message_filters_available() -> bool:
    """True when the ROS ``message_filters`` package can be imported."""
    try:
        import message_filters  # noqa: F401
    except ImportError:
        return False
    return True


class ApproximateTimeSynchronizer:
    """Group messages from several inputs whose stamps lie within ``slop``.

    Each input keeps its ``queue_size`` newest messages keyed by stamp. When a
    message arrives, the tightest combination (smallest stamp spread, at most
    ``slop``) that contains it is emitted; it and every older message are then
    dropped, so emitted groups are in stamp order.

    Args:
        num_inputs: number of inputs (e.g. 2 for camera_info + keypoints).
        queue_size: per-input queue length.
        slop: maximum stamp spread in seconds.
        callback: called with one message per input, in input order.
    """

    def __init__(self, num_inputs: int, queue_size: int, slop: float, callback: Callable | None = None):
        if num_inputs < 1 or queue_size < 1 or not slop >= 0:
            raise ValueError(f"need num_inputs >= 1, queue_size >= 1, slop >= 0; got {num_inputs}, {queue_size}, {slop}")
        self.queue_size = int(queue_size)
        self.slop_ns = int(round(slop * 1e9))
        self.queues: list[dict[int, object]] = [{} for _ in range(num_inputs)]
        self.callbacks = [callback] if callback is not None else []
        self.dropped = 0  # messages evicted or superseded without being emitted

    def registerCallback(self, callback: Callable) -> None:  # noqa: N802 (message_filters spelling)
        """Add a callback (message_filters-compatible name)."""
        self.callbacks.append(callback)

    def set_params(self, queue_size: int | None = None, slop: float | None = None) -> None:
        """Change queue size and/or slop; takes effect on the next message."""
        if queue_size is not None:
            self.queue_size = int(queue_size)
        if slop is not None:
            self.slop_ns = int(round(slop * 1e9))

    def add(self, index: int, msg, stamp_ns: int | None = None):
        """Add ``msg`` to input ``index``; return the emitted tuple or None."""
        stamp = header_stamp_ns(msg) if stamp_ns is None else int(stamp_ns)
        queue = self.queues[index]
        if stamp in queue:
            self.dropped += 1
        queue[stamp] = msg
        while len(queue) > self.queue_size:
            del queue[min(queue)]
            self.dropped += 1
        group = self._best_group(index, stamp)
        if group is None:
            return None
        msgs = tuple(self.queues[i][t] for i, t in enumerate(group))
        for i, t in enumerate(group):
            old = [s for s in self.queues[i] if s <= t]
            self.dropped += len(old) - 1
            for s in old:
                del self.queues[i][s]
        for callback in self.callbacks:
            callback(*msgs)
        return msgs

    def _best_group(self, index: int, stamp: int):
        candidates = []
        for i, queue in enumerate(self.queues):
            if i == index:
                candidates.append([stamp])
                continue
            near = [s for s in queue if abs(s - stamp) <= self.slop_ns]
            if not near:
                return None
            candidates.append(near)
        best, best_spread = None, None
        for combo in itertools.product(*candidates):
            spread = max(combo) - min(combo)
            if spread <= self.slop_ns and (best_spread is None or spread < best_spread):
                best, best_spread = combo, spread
        return best


class StampBuffer:
    """Keep the last few messages of one input and look them up by nearest stamp.

    The optional image is matched this way so lifting never waits for images.
    """

    def __init__(self, size: int = 5):
        self.items: deque = deque(maxlen=max(int(size), 1))

    def add(self, msg, stamp_ns: int | None = None) -> None:
        self.items.append((header_stamp_ns(msg) if stamp_ns is None else int(stamp_ns), msg))

    def nearest(self, stamp_ns: int, slop: float):
        """Return the message closest to ``stamp_ns`` within ``slop`` seconds, or None."""
        if not self.items:
            return None
        stamp, msg = min(self.items, key=lambda item: abs(item[0] - stamp_ns))
        return msg if abs(stamp - stamp_ns) <= slop * 1e9 else None
