"""Rotation matrices <-> unit quaternions (x, y, z, w: the order of geometry_msgs/Quaternion)."""
from __future__ import annotations

import numpy as np

__all__ = ["quaternion_to_matrix", "matrix_to_quaternion"]


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


def matrix_to_quaternion(R) -> np.ndarray:
    """Return the unit quaternion (4,) ``(x, y, z, w)``, ``w >= 0``, of a (3, 3) rotation matrix."""
    R = np.asarray(R, dtype=np.float64).reshape(3, 3)
    # Shepperd's method: divide by the largest of the four candidates (stable near 180 degrees)
    diag = np.array([R[0, 0], R[1, 1], R[2, 2]])
    trace = diag.sum()
    k = int(np.argmax([*diag, trace]))
    if k == 3:
        w = 0.5 * np.sqrt(1 + trace)
        q = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1], 0.0]) / (4 * w)
        q[3] = w
    else:
        i, j, m = k, (k + 1) % 3, (k + 2) % 3
        q = np.zeros(4)
        q[i] = 0.5 * np.sqrt(1 + R[i, i] - R[j, j] - R[m, m])
        q[j] = (R[j, i] + R[i, j]) / (4 * q[i])
        q[m] = (R[m, i] + R[i, m]) / (4 * q[i])
        q[3] = (R[m, j] - R[j, m]) / (4 * q[i])
    q /= np.linalg.norm(q)
    return -q if q[3] < 0 else q
