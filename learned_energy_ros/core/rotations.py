"""Rotation matrices <-> unit quaternions (x, y, z, w: the order of geometry_msgs/Quaternion)."""
from __future__ import annotations

import numpy as np

__all__ = ["quaternion_to_matrix", "rotation_to_quaternion"]


def quaternion_to_matrix(q) -> np.ndarray:
    """Return the (3, 3) rotation of quaternion ``(x, y, z, w)`` (normalized first).

    Raises:
        ValueError: for a non-finite or zero quaternion.
    """
    x, y, z, w = np.asarray(q, dtype=np.float64).reshape(4)
    n = x * x + y * y + z * z + w * w
    if not np.isfinite(n) or n < 1e-12:
        raise ValueError(f"quaternion {tuple(np.asarray(q).reshape(-1))} is zero or not finite")
    s = 2.0 / n
    return np.array([[1 - s * (y * y + z * z), s * (x * y - z * w), s * (x * z + y * w)],
                     [s * (x * y + z * w), 1 - s * (x * x + z * z), s * (y * z - x * w)],
                     [s * (x * z - y * w), s * (y * z + x * w), 1 - s * (x * x + y * y)]])


def rotation_to_quaternion(rotations) -> np.ndarray:
    """Convert (..., 3, 3) rotation matrices to (..., 4) unit quaternions (x, y, z, w), w >= 0 (a (3, 3) gives (4,))."""
    rotations = np.asarray(rotations, dtype=np.float64)
    r = rotations.reshape(-1, 3, 3)
    trace = np.trace(r, axis1=1, axis2=2)  # (N,)
    # one candidate per largest diagonal term (Shepperd's method): the best conditioned is kept
    candidates = np.stack([
        np.stack([r[:, 2, 1] - r[:, 1, 2], r[:, 0, 2] - r[:, 2, 0], r[:, 1, 0] - r[:, 0, 1], 1 + trace], -1),
        np.stack([1 + 2 * r[:, 0, 0] - trace, r[:, 0, 1] + r[:, 1, 0], r[:, 0, 2] + r[:, 2, 0], r[:, 2, 1] - r[:, 1, 2]], -1),
        np.stack([r[:, 0, 1] + r[:, 1, 0], 1 + 2 * r[:, 1, 1] - trace, r[:, 1, 2] + r[:, 2, 1], r[:, 0, 2] - r[:, 2, 0]], -1),
        np.stack([r[:, 0, 2] + r[:, 2, 0], r[:, 1, 2] + r[:, 2, 1], 1 + 2 * r[:, 2, 2] - trace, r[:, 1, 0] - r[:, 0, 1]], -1),
    ], axis=1)  # (N, 4 candidates, 4)
    best = np.argmax(np.stack([trace, r[:, 0, 0], r[:, 1, 1], r[:, 2, 2]], -1), axis=-1)  # (N,)
    q = candidates[np.arange(len(r)), best]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return np.where(q[:, 3:] < 0, -q, q).reshape(*rotations.shape[:-2], 4)
