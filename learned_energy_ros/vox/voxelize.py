"""Ground-truth occupancy: frustum grids and world-aligned grids by inside/outside tests.

Occupancy is decided per voxel centre with ``trimesh``'s ``contains`` (ray
tests through Embree, re-checked along a second direction where ambiguous) on
the cleaned, watertight solid. Unlike "voxelize the surface, then fill holes",
this keeps cavities open (mug, bowl, cups): a voxel is full only if its centre
is inside the material.
"""
from __future__ import annotations

import numpy as np

from learned_energy_ros.vox.frustum import FrustumGrid
from learned_energy_ros.vox.meshes import ObjectMesh

__all__ = ["voxelize_frustum", "voxelize_world", "inside"]


def inside(obj: ObjectMesh, points: np.ndarray) -> np.ndarray:
    """Return a bool mask (P,) of normalized-object-frame points (P, 3) inside the solid."""
    points = np.asarray(points, dtype=np.float64)
    assert points.ndim == 2 and points.shape[1] == 3, f"expected (P, 3), got {points.shape}"
    out = np.zeros(len(points), dtype=bool)
    lo, hi = obj.solid.bounds
    near = np.all((points >= lo) & (points <= hi), axis=1)  # skip the many empty cells cheaply
    if near.any():
        out[near] = obj.solid.contains(points[near])
    return out


def voxelize_frustum(obj: ObjectMesh, grid: FrustumGrid, rotation: np.ndarray, translation: np.ndarray,
                     scale: float = 1.0) -> np.ndarray:
    """Occupancy (R, R, R) bool, indexed [i, j, k], of an object placed in the optical frame.

    Args:
        obj: normalized object.
        grid: frustum grid of the camera that sees it.
        rotation, translation, scale: object -> optical frame, ``x_cam = scale * R x + t``.
    """
    R = grid.resolution
    pts = grid.centers().reshape(-1, 3)  # (R^3, 3) optical frame
    local = (pts - np.asarray(translation)) @ np.asarray(rotation) / scale  # R^T (x - t) / s
    return inside(obj, local).reshape(R, R, R)


def voxelize_world(obj: ObjectMesh, resolution: int, half_extent: float = 1.0) -> np.ndarray:
    """Occupancy (R, R, R) bool of a world-aligned cube [-h, h]^3 in the object frame, indexed [x, y, z]."""
    c = -half_extent + (np.arange(resolution) + 0.5) * (2 * half_extent / resolution)
    pts = np.stack(np.meshgrid(c, c, c, indexing="ij"), axis=-1).reshape(-1, 3)
    return inside(obj, pts).reshape(resolution, resolution, resolution)
