"""Detector-side person ids that stay stable across frames: greedy IoU matching of person boxes."""
from __future__ import annotations

import numpy as np

__all__ = ["box_iou", "BoxTracker"]


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of boxes ``a`` (N, 4) and ``b`` (M, 4) as ``x0, y0, x1, y1`` -> (N, M)."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    lo = np.maximum(a[:, None, :2], b[None, :, :2])  # (N, M, 2)
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=-1)
    area = lambda x: np.prod(np.clip(x[:, 2:] - x[:, :2], 0, None), axis=-1)  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


class BoxTracker:
    """Give each box the id of the best-overlapping box of recent frames, or a new id.

    Args:
        min_iou: a box keeps an id only when it overlaps that track's last box at least this much.
        max_missed: frames a track may go unseen before its id is retired.
    """

    def __init__(self, min_iou: float = 0.3, max_missed: int = 5):
        self.min_iou, self.max_missed = float(min_iou), int(max_missed)
        self.tracks: dict[int, tuple[np.ndarray, int]] = {}  # id -> (last box (4,), frames missed)
        self._next = 0

    def reset(self) -> None:
        """Forget every track (ids restart at 0)."""
        self.tracks, self._next = {}, 0

    def update(self, boxes: np.ndarray) -> np.ndarray:
        """Assign ids to this frame's boxes (N, 4); return (N,) int64 ids."""
        boxes = np.asarray(boxes, float).reshape(-1, 4)
        ids = np.full(len(boxes), -1, dtype=np.int64)
        known = list(self.tracks)
        if known and len(boxes):
            iou = box_iou(boxes, np.stack([self.tracks[k][0] for k in known]))  # (N, T)
            for flat in np.argsort(-iou, axis=None):  # greedy, best pairs first
                n, t = np.unravel_index(flat, iou.shape)
                if iou[n, t] < self.min_iou:
                    break
                if ids[n] < 0 and known[t] not in ids:
                    ids[n] = known[t]
        for n in np.flatnonzero(ids < 0):
            ids[n], self._next = self._next, self._next + 1
        seen = set(ids.tolist())
        for track in known:
            if track not in seen:
                box, missed = self.tracks[track]
                if missed + 1 > self.max_missed:
                    del self.tracks[track]
                else:
                    self.tracks[track] = (box, missed + 1)
        for n, track in enumerate(ids):
            self.tracks[int(track)] = (boxes[n], 0)
        return ids
