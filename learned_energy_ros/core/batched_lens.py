"""Vectorised lens distortion for many cameras at once (numpy, one camera per row).

``Camera.distort`` / ``Camera.normalize`` handle one camera; the training
sampler needs thousands of different cameras per second, so this module packs
each camera as (model id, 8 coefficients, K) and distorts / undistorts a whole
batch in a few array operations. The maths is the same as ``Camera.distort``
(checked against it in the tests).
"""
from __future__ import annotations

import numpy as np

from learned_energy_ros.core.camera import Camera

__all__ = ["LensBatch", "MODEL_IDS"]

#: Integer id per distortion model. plumb_bob and none are rational models with k4..k6 = 0.
MODEL_IDS = {"none": 0, "plumb_bob": 1, "rational_polynomial": 2, "equidistant": 3}


class LensBatch:
    """B cameras packed as arrays so projection runs vectorised.

    Args:
        cameras: sequence of ``Camera`` (length B).
    """

    def __init__(self, cameras) -> None:
        B = len(cameras)
        self.K = np.stack([c.K for c in cameras]) if B else np.zeros((0, 3, 3))  # (B, 3, 3)
        self.size = np.array([[c.width, c.height] for c in cameras], dtype=np.float64).reshape(B, 2)
        self.model = np.array([MODEL_IDS[c.distortion_model] for c in cameras], dtype=np.int64)
        self.coef = np.zeros((B, 8))  # rational order: k1 k2 p1 p2 k3 k4 k5 k6 ; equidistant: k1..k4
        for i, cam in enumerate(cameras):
            self.coef[i, : cam.D.size] = cam.D

    @classmethod
    def from_arrays(cls, K: np.ndarray, size: np.ndarray, model: str, coef: np.ndarray) -> "LensBatch":
        """Pack B cameras of one distortion ``model`` from arrays: K (B, 3, 3), size (B, 2), coef (B, <= 8)."""
        lens = cls([])
        B = K.shape[0]
        lens.K = np.asarray(K, dtype=np.float64)
        lens.size = np.asarray(size, dtype=np.float64).reshape(B, 2)
        lens.model = np.full(B, MODEL_IDS[model], dtype=np.int64)
        lens.coef = np.zeros((B, 8))
        lens.coef[:, : coef.shape[1]] = coef
        return lens

    @classmethod
    def concat(cls, parts: list["LensBatch"], order: np.ndarray) -> "LensBatch":
        """Join lens batches and put row ``order[i]`` of the joined batch at position i."""
        lens = cls([])
        lens.K = np.concatenate([p.K for p in parts])[order]
        lens.size = np.concatenate([p.size for p in parts])[order]
        lens.model = np.concatenate([p.model for p in parts])[order]
        lens.coef = np.concatenate([p.coef for p in parts])[order]
        return lens

    def __len__(self) -> int:
        return self.K.shape[0]

    def distort(self, xy: np.ndarray) -> np.ndarray:
        """Undistorted normalized (B, J, 2) -> distorted normalized (B, J, 2)."""
        x, y = xy[..., 0], xy[..., 1]
        c = [self.coef[:, i : i + 1] for i in range(8)]  # each (B, 1)
        r2 = x * x + y * y
        radial = (1 + r2 * (c[0] + r2 * (c[1] + r2 * c[4]))) / (1 + r2 * (c[5] + r2 * (c[6] + r2 * c[7])))
        xd = x * radial + 2 * c[2] * x * y + c[3] * (r2 + 2 * x * x)
        yd = y * radial + c[2] * (r2 + 2 * y * y) + 2 * c[3] * x * y
        r = np.sqrt(r2 + 1e-24)
        theta = np.arctan(r)
        t2 = theta * theta
        theta_d = theta * (1 + t2 * (c[0] + t2 * (c[1] + t2 * (c[2] + t2 * c[3]))))
        fish = theta_d / r
        is_fish = (self.model == MODEL_IDS["equidistant"])[:, None]
        xd = np.where(is_fish, x * fish, xd)
        yd = np.where(is_fish, y * fish, yd)
        return np.stack([xd, yd], axis=-1)

    def to_pixels(self, xy_distorted: np.ndarray) -> np.ndarray:
        """Distorted normalized (B, J, 2) -> pixels (B, J, 2)."""
        K = self.K[:, None]  # (B, 1, 3, 3)
        u = K[..., 0, 0] * xy_distorted[..., 0] + K[..., 0, 1] * xy_distorted[..., 1] + K[..., 0, 2]
        v = K[..., 1, 1] * xy_distorted[..., 1] + K[..., 1, 2]
        return np.stack([u, v], axis=-1)

    def from_pixels(self, px: np.ndarray) -> np.ndarray:
        """Pixels (B, J, 2) -> distorted normalized (B, J, 2) (K⁻¹ only)."""
        K = self.K[:, None]
        yd = (px[..., 1] - K[..., 1, 2]) / K[..., 1, 1]
        xd = (px[..., 0] - K[..., 0, 2] - K[..., 0, 1] * yd) / K[..., 0, 0]
        return np.stack([xd, yd], axis=-1)

    def undistort(self, xy_distorted: np.ndarray, iterations: int = 20) -> np.ndarray:
        """Invert ``distort`` by Newton steps with a finite-difference Jacobian.

        Points past a lens' fold (where the radial map turns back) have no inverse: their Newton steps run off
        and end non-finite or off target, which callers detect (a round trip, ``np.isfinite``); numpy's
        overflow warnings for them are silenced here.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            return self._newton(xy_distorted, iterations)

    def _newton(self, xy_distorted: np.ndarray, iterations: int) -> np.ndarray:
        target = xy_distorted
        xy = target.copy()
        eps = 1e-7
        dx, dy = np.array([eps, 0.0]), np.array([0.0, eps])
        for _ in range(iterations):
            res = self.distort(xy) - target
            jx = (self.distort(xy + dx) - self.distort(xy - dx)) / (2 * eps)
            jy = (self.distort(xy + dy) - self.distort(xy - dy)) / (2 * eps)
            a, c, b, d = jx[..., 0], jx[..., 1], jy[..., 0], jy[..., 1]
            det = a * d - b * c
            det = np.where(np.abs(det) < 1e-12, 1e-12, det)
            step = np.stack([(d * res[..., 0] - b * res[..., 1]) / det, (-c * res[..., 0] + a * res[..., 1]) / det], -1)
            xy = xy - step
            if np.all(np.abs(step) < 1e-12):
                break
        return xy

    def project(self, points_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Camera-frame points (B, J, 3) -> (pixels (B, J, 2), undistorted normalized (B, J, 2))."""
        z = np.maximum(points_cam[..., 2:3], 1e-6)
        xy = points_cam[..., :2] / z
        return self.to_pixels(self.distort(xy)), xy

    def normalize(self, px: np.ndarray) -> np.ndarray:
        """Pixels (B, J, 2) -> undistorted normalized (B, J, 2)."""
        return self.undistort(self.from_pixels(px))

    def in_image(self, px: np.ndarray) -> np.ndarray:
        """Boolean (B, J): pixel inside its camera's image."""
        w, h = self.size[:, None, 0], self.size[:, None, 1]
        return (px[..., 0] >= -0.5) & (px[..., 0] <= w - 0.5) & (px[..., 1] >= -0.5) & (px[..., 1] <= h - 0.5)


def lens_batch(cameras: list[Camera]) -> LensBatch:
    """Pack ``cameras`` for vectorised projection."""
    return LensBatch(cameras)
