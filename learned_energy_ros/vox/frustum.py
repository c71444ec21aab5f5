"""Frustum voxel grids: voxel (i, j, k) <-> camera-frame points.

Voxel ``(i, j, k)`` covers pixel column bin ``i``, pixel row bin ``j`` of the
grid's camera image (each bin ``width / R`` by ``height / R`` pixels) and depth
bin ``k`` between ``near`` and ``far`` along the optical axis (z, metres).

Depth bins are **linear in z** by default. The reconstructor's frustum is a
tight box around one object (``far - near`` is about the object's size, and
``near`` is several object sizes away), so inverse-depth bins would be almost
linear anyway while linear bins give every depth slab the same metric
thickness, which is what the concatenation projection's channels assume and
what IoU on metric shapes rewards. ``depth_bins="inverse"`` (uniform in 1/z,
finer near the camera) is available for wide depth ranges (scenes).

The lateral bins live in the *raw* image of the grid's camera, so a voxel
centre projects (with distortion) exactly onto the centre of its pixel bin.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learned_energy_ros.core.camera import Camera

__all__ = ["FrustumGrid", "FrustumError", "DEPTH_BINS"]

DEPTH_BINS = ("linear", "inverse")


class FrustumError(ValueError):
    """Raised for an invalid frustum grid (resolution, depth range, bin mode)."""


@dataclass(frozen=True, eq=False)
class FrustumGrid:
    """A resolution^3 voxel grid spanning a camera's image and a depth range.

    Args:
        camera: camera whose raw image the lateral bins divide.
        resolution: voxels per axis R.
        near, far: metric depth range (z in the optical frame), 0 < near < far.
        depth_bins: ``"linear"`` (uniform in z) or ``"inverse"`` (uniform in 1/z).
    """

    camera: Camera
    resolution: int
    near: float
    far: float
    depth_bins: str = "linear"

    def __post_init__(self) -> None:
        if int(self.resolution) < 1:
            raise FrustumError(f"resolution must be >= 1, got {self.resolution}")
        if not (np.isfinite(self.near) and np.isfinite(self.far) and 0 < self.near < self.far):
            raise FrustumError(f"need 0 < near < far, got near={self.near}, far={self.far}")
        if self.depth_bins not in DEPTH_BINS:
            raise FrustumError(f"depth_bins must be one of {DEPTH_BINS}, got {self.depth_bins!r}")
        object.__setattr__(self, "resolution", int(self.resolution))

    # ------------------------------------------------------------------ depth axis
    def depth_edges(self) -> np.ndarray:
        """Return the R + 1 depth bin boundaries (metres, increasing)."""
        return self._depth(np.linspace(0.0, 1.0, self.resolution + 1))

    def depth_centers(self) -> np.ndarray:
        """Return the R bin-centre depths (metres); inverse bins use the 1/z midpoint."""
        return self._depth((np.arange(self.resolution) + 0.5) / self.resolution)

    def _depth(self, t: np.ndarray) -> np.ndarray:
        """Depth (m) at fraction ``t`` (...,) of the depth axis (0: near, 1: far) under the bin mode."""
        if self.depth_bins == "linear":
            return self.near + t * (self.far - self.near)
        return 1.0 / (1.0 / self.near + t * (1.0 / self.far - 1.0 / self.near))

    def depth_to_bin(self, z: np.ndarray) -> np.ndarray:
        """Map depths (...,) to continuous bin coordinates (k + 0.5 at a bin centre)."""
        z = np.asarray(z, dtype=np.float64)
        if self.depth_bins == "linear":
            t = (z - self.near) / (self.far - self.near)
        else:
            t = (1.0 / np.maximum(z, 1e-12) - 1.0 / self.near) / (1.0 / self.far - 1.0 / self.near)
        return t * self.resolution

    # ------------------------------------------------------------------ lateral axes
    def pixel_centers(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (u (R,), v (R,)): raw-pixel centres of the column and row bins."""
        R = self.resolution
        su, sv = self.camera.width / R, self.camera.height / R
        # pixel p covers [p - 0.5, p + 0.5], so the image spans [-0.5, W - 0.5]
        u = -0.5 + (np.arange(R) + 0.5) * su
        v = -0.5 + (np.arange(R) + 0.5) * sv
        return u, v

    def pixels_to_bins(self, px: np.ndarray) -> np.ndarray:
        """Map raw pixels (..., 2) to continuous (i, j) bin coordinates (..., 2)."""
        px = np.asarray(px, dtype=np.float64)
        R = self.resolution
        i = (px[..., 0] + 0.5) * R / self.camera.width
        j = (px[..., 1] + 0.5) * R / self.camera.height
        return np.stack([i, j], axis=-1)

    # ------------------------------------------------------------------ 3D mapping
    def centers(self) -> np.ndarray:
        """Return all voxel centres (R, R, R, 3) in the optical frame, indexed [i, j, k]."""
        R = self.resolution
        u, v = self.pixel_centers()
        uu, vv = np.meshgrid(u, v, indexing="ij")  # (R, R) indexed [i, j]
        xy = self.camera.normalize(np.stack([uu, vv], axis=-1))  # (R, R, 2) undistorted
        z = self.depth_centers()  # (R,)
        pts = np.empty((R, R, R, 3))
        pts[..., 0] = xy[:, :, None, 0] * z[None, None, :]
        pts[..., 1] = xy[:, :, None, 1] * z[None, None, :]
        pts[..., 2] = z[None, None, :]
        return pts

    def index_to_points(self, ijk: np.ndarray) -> np.ndarray:
        """Map integer voxel indices (P, 3) to their centres (P, 3) in the optical frame."""
        ijk = np.asarray(ijk)
        assert ijk.ndim == 2 and ijk.shape[1] == 3, f"expected (P, 3) indices, got {ijk.shape}"
        u, v = self.pixel_centers()
        xy = self.camera.normalize(np.stack([u[ijk[:, 0]], v[ijk[:, 1]]], axis=-1))  # (P, 2)
        z = self.depth_centers()[ijk[:, 2]]  # (P,)
        return np.concatenate([xy * z[:, None], z[:, None]], axis=-1)

    def bins_to_points(self, bins: np.ndarray) -> np.ndarray:
        """Map continuous (i, j, k) coordinates (..., 3) to optical-frame points (..., 3) (``points_to_bins`` inverted)."""
        bins = np.asarray(bins, dtype=np.float64)
        R = self.resolution
        px = np.stack([bins[..., 0] * self.camera.width / R - 0.5, bins[..., 1] * self.camera.height / R - 0.5], -1)
        z = self._depth(bins[..., 2] / R)
        return np.concatenate([self.camera.normalize(px) * z[..., None], z[..., None]], axis=-1)

    def points_to_bins(self, points: np.ndarray) -> np.ndarray:
        """Map optical-frame points (..., 3) to continuous (i, j, k) coordinates (..., 3)."""
        points = np.asarray(points, dtype=np.float64)
        ij = self.pixels_to_bins(self.camera.project(points))
        k = self.depth_to_bin(points[..., 2])
        return np.concatenate([ij, k[..., None]], axis=-1)

    def voxel_size(self) -> tuple[float, float, float]:
        """Approximate metric voxel size (dx, dy, dz) at the middle depth (pinhole part only)."""
        zm = 0.5 * (self.near + self.far)
        R = self.resolution
        return (self.camera.width / R / self.camera.fx * zm, self.camera.height / R / self.camera.fy * zm,
                (self.far - self.near) / R)

    def cell_volumes(self) -> np.ndarray:
        """Return the metric volume (R, R, R) of every frustum cell (pinhole part, indexed [i, j, k]).

        A cell is a pyramid slab: (pixel area / (fx fy)) * (z1^3 - z0^3) / 3.
        """
        R = self.resolution
        e = self.depth_edges()
        area = (self.camera.width / R / self.camera.fx) * (self.camera.height / R / self.camera.fy)
        slab = area * (e[1:] ** 3 - e[:-1] ** 3) / 3.0  # (R,)
        return np.broadcast_to(slab[None, None, :], (R, R, R)).copy()
