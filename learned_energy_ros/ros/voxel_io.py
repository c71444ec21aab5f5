"""VoxelResult -> ROS messages: occupancy cloud (x, y, z, occupancy) and a CUBE_LIST marker."""
from __future__ import annotations

import numpy as np
from learned_energy_ros.ros.clouds import points_to_cloud
from learned_energy_ros.ros.markers import cube_list_cdr

__all__ = ["probability_colors", "result_to_messages"]


def probability_colors(prob: np.ndarray) -> np.ndarray:
    """RGBA (P, 4) in [0, 1]: blue (uncertain) to yellow-red (certain), more opaque when certain."""
    p = np.clip(np.asarray(prob, dtype=np.float64), 0, 1)
    return np.stack([p, 0.3 + 0.5 * p * (1 - p) * 4 * 0.5, 1 - p, 0.4 + 0.6 * p], axis=-1)


def result_to_messages(result, header, threshold: float, lifetime_s: float):
    """Return (PointCloud2, serialized MarkerArray) of the voxels of ``result`` above ``threshold``.

    The CUBE_LIST goes from numpy to CDR bytes in bulk (no Point/ColorRGBA object per voxel).

    Args:
        result: a ``VoxelResult``.
        header: std_msgs/Header of the input (stamp + optical frame).
        threshold: occupancy threshold.
        lifetime_s: marker lifetime.
    """
    points, prob = result.occupied(threshold)  # (P, 3), (P,)
    cloud = points_to_cloud(header, points, {"occupancy": prob.astype(np.float32)})
    size = float(max(result.grid.voxel_size()))
    return cloud, cube_list_cdr(header, points, size, probability_colors(prob), lifetime_s=lifetime_s)
