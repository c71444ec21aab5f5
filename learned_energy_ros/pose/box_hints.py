"""Person boxes from a 2D detector as association hints (ROS-free).

A detector that tracks (``vision_msgs/Detection2D.id``) knows who is who across
frames better than keypoints alone when people cross. Each person's keypoints are
matched to the box that holds most of them; the box's tracking id then becomes the
person's detector id, which the tracker treats as a prior (``Tracker`` id bonus).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["assign_boxes", "IdTable", "MIN_INSIDE"]

#: Share of a person's visible keypoints that must lie in a box to take its id.
MIN_INSIDE = 0.6


def assign_boxes(keypoints, visible, boxes, min_inside: float = MIN_INSIDE) -> np.ndarray:
    """Match persons to boxes, one to one, by the share of visible keypoints inside.

    Args:
        keypoints: (N, J, 2) pixels.
        visible: (N, J) bool.
        boxes: (B, 4) pixel boxes ``(xmin, ymin, xmax, ymax)``.
        min_inside: smallest share of a person's visible keypoints inside its box.
    Returns:
        (N,) int: the box of each person, -1 for none.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)  # (N, J, 2)
    visible = np.asarray(visible, dtype=bool)  # (N, J)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)  # (B, 4)
    out = np.full(len(keypoints), -1, dtype=np.int64)
    if not len(keypoints) or not len(boxes):
        return out
    u, v = keypoints[:, None, :, 0], keypoints[:, None, :, 1]  # (N, 1, J)
    lo, hi = boxes[None, :, None, :2], boxes[None, :, None, 2:]  # (1, B, 1, 2)
    with np.errstate(invalid="ignore"):  # NaN keypoints of invisible joints
        inside = (u >= lo[..., 0]) & (u <= hi[..., 0]) & (v >= lo[..., 1]) & (v <= hi[..., 1])  # (N, B, J)
    share = (inside & visible[:, None]).sum(-1) / np.maximum(visible.sum(-1), 1)[:, None]  # (N, B)
    rows, cols = linear_sum_assignment(-share)
    keep = share[rows, cols] >= min_inside
    out[rows[keep]] = cols[keep]
    return out


class IdTable:
    """Stable small integers for string ids (tracking ids of boxes, ROS4HRI body ids), in order of first sight.

    Args:
        size: ids remembered; the least recently seen is forgotten beyond it.
    """

    def __init__(self, size: int = 4096):
        self.size, self.ids, self._next = size, {}, 0

    def __call__(self, key: str) -> int:
        value = self.ids.pop(key, None)
        if value is None:
            value, self._next = self._next, self._next + 1
        self.ids[key] = value  # most recently seen last
        while len(self.ids) > self.size:
            del self.ids[next(iter(self.ids))]
        return value
