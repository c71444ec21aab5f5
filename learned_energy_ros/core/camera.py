"""Pinhole camera with ROS CameraInfo distortion models, in numpy and torch.

Coordinates:
    * pixels: raw (distorted) image pixels, u right, v down.
    * normalized: undistorted ideal image-plane coordinates (x/z, y/z).
    * camera frame: REP-103 optical frame, x right, y down, z forward, meters.

Projection is written once with plain arithmetic so the same code runs on
numpy arrays and (differentiably, batched) on torch tensors.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

try:  # torch is a core dependency, but keep numpy-only use possible
    import torch
except ImportError:  # pragma: no cover
    torch = None

__all__ = ["Camera", "CameraError", "DISTORTION_MODELS"]

#: Number of coefficients each supported ``distortion_model`` uses.
DISTORTION_MODELS = {"none": 0, "plumb_bob": 5, "rational_polynomial": 8, "equidistant": 4}
_MODEL_ALIASES = {"": "none", "none": "none", "plumb_bob": "plumb_bob", "radtan": "plumb_bob",
                  "rational_polynomial": "rational_polynomial", "equidistant": "equidistant", "fisheye": "equidistant"}
# Closest a point may come to the image plane before projection is clamped.
_MIN_DEPTH = 1e-6


class CameraError(ValueError):
    """Raised for an unusable camera description (bad K, D, size or model)."""


def _is_torch(a) -> bool:
    return torch is not None and isinstance(a, torch.Tensor)


def _stack(parts, like):
    return torch.stack(parts, dim=-1) if _is_torch(like) else np.stack(parts, axis=-1)


def _field(info, *names, default=None):
    for name in names:
        if isinstance(info, Mapping):
            if name in info:
                return info[name]
        elif hasattr(info, name):
            return getattr(info, name)
    return default


@dataclass(frozen=True, eq=False)
class Camera:
    """Intrinsics + lens distortion of one monocular camera.

    Args:
        K: (3, 3) intrinsic matrix.
        D: distortion coefficients in ROS order for ``distortion_model``.
        distortion_model: one of ``DISTORTION_MODELS`` (``""`` means none).
        width, height: image size in pixels.
        frame_id: the optical frame the camera's points live in.
    """

    K: np.ndarray
    D: np.ndarray
    distortion_model: str
    width: int
    height: int
    frame_id: str = ""

    def __post_init__(self) -> None:
        K = np.asarray(self.K, dtype=np.float64)
        if K.size != 9:
            raise CameraError(f"K must have 9 entries, got {K.size}")
        K = K.reshape(3, 3)
        if not np.all(np.isfinite(K)):
            raise CameraError("K contains NaN or inf")
        if not np.any(K):
            raise CameraError("K is all zero (camera not calibrated)")
        if K[0, 0] <= 0 or K[1, 1] <= 0:
            raise CameraError(f"focal lengths must be positive, got fx={K[0, 0]}, fy={K[1, 1]}")
        if K[1, 0] != 0 or K[2, 0] != 0 or K[2, 1] != 0 or abs(K[2, 2] - 1.0) > 1e-9:
            raise CameraError(f"K must be upper triangular with K[2,2] = 1, got {K.tolist()}")
        model = _MODEL_ALIASES.get(str(self.distortion_model).strip().lower())
        if model is None:
            raise CameraError(
                f"unknown distortion_model {self.distortion_model!r}; supported: plumb_bob, rational_polynomial, equidistant, none"
            )
        D = np.asarray(self.D, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(D)):
            raise CameraError("D contains NaN or inf")
        needed = DISTORTION_MODELS[model]
        if model == "none":
            if np.any(D):
                raise CameraError("distortion_model is empty/none but D has non-zero coefficients")
        elif D.size > needed and np.any(D[needed:]):
            raise CameraError(f"{model} takes {needed} coefficients, got {D.size} with non-zero extras")
        elif model == "equidistant" and D.size != 4:
            raise CameraError(f"equidistant takes 4 coefficients, got {D.size}")
        D = np.pad(D[:needed], (0, needed - min(D.size, needed)))
        width, height = int(self.width), int(self.height)
        if width <= 0 or height <= 0:
            raise CameraError(f"image size must be positive, got {width}x{height}")
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "D", D)
        object.__setattr__(self, "distortion_model", model)
        object.__setattr__(self, "width", width)
        object.__setattr__(self, "height", height)
        object.__setattr__(self, "frame_id", str(self.frame_id))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_camera_info(cls, info) -> "Camera":
        """Build from a ``sensor_msgs/CameraInfo`` or a mapping with its field names.

        Accepts ``k``/``K``, ``d``/``D``, ``distortion_model``, ``width``,
        ``height`` and optionally ``header.frame_id`` or ``frame_id``.
        Raises:
            CameraError: when a field is missing or the calibration is unusable.
        """
        K = _field(info, "k", "K")
        if K is None:
            raise CameraError("camera info has no K")
        D = _field(info, "d", "D", default=())
        header = _field(info, "header")
        frame_id = _field(info, "frame_id", default=None)
        if frame_id is None and header is not None:
            frame_id = _field(header, "frame_id", default="")
        try:
            return cls(
                K=np.asarray(K, dtype=np.float64),
                D=np.asarray(list(D) if D is not None else [], dtype=np.float64),
                distortion_model=_field(info, "distortion_model", default="") or "",
                width=int(_field(info, "width", default=0)),
                height=int(_field(info, "height", default=0)),
                frame_id=frame_id or "",
            )
        except (TypeError, ValueError) as err:
            if isinstance(err, CameraError):
                raise
            raise CameraError(f"malformed camera info: {err}") from None

    @classmethod
    def pinhole(cls, fx: float, fy: float, cx: float, cy: float, width: int, height: int, frame_id: str = "") -> "Camera":
        """Build an undistorted pinhole camera."""
        return cls(np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1.0]]), np.zeros(0), "none", width, height, frame_id)

    @classmethod
    def from_fov(cls, hfov_deg: float, width: int, height: int, frame_id: str = "") -> "Camera":
        """Build a centred, square-pixel pinhole camera from its horizontal field of view."""
        f = 0.5 * width / math.tan(math.radians(hfov_deg) / 2)
        return cls.pinhole(f, f, (width - 1) / 2, (height - 1) / 2, width, height, frame_id)

    def to_camera_info_fields(self) -> dict:
        """Return the CameraInfo fields (lower-case ROS 2 names) of this camera."""
        P = np.zeros((3, 4))
        P[:, :3] = self.K
        return {
            "k": self.K.reshape(-1).tolist(), "d": self.D.tolist(), "distortion_model": self.distortion_model
            if self.distortion_model != "none" else "", "width": self.width, "height": self.height,
            "r": np.eye(3).reshape(-1).tolist(), "p": P.reshape(-1).tolist(), "frame_id": self.frame_id,
        }

    def same_calibration(self, other: "Camera") -> bool:
        """True when K, D, model and size are identical (a swap needs no new state)."""
        return (
            other is not None and self.distortion_model == other.distortion_model and self.width == other.width
            and self.height == other.height and np.array_equal(self.K, other.K) and np.array_equal(self.D, other.D)
        )

    # ------------------------------------------------------------------ properties
    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def cx(self) -> float:
        return float(self.K[0, 2])

    @property
    def cy(self) -> float:
        return float(self.K[1, 2])

    @property
    def mean_focal(self) -> float:
        """Pixels per normalized image unit, (fx + fy) / 2: turns a pixel length (e.g. keypoint noise) into one."""
        return 0.5 * (self.fx + self.fy)

    @property
    def has_distortion(self) -> bool:
        return self.distortion_model != "none" and bool(np.any(self.D))

    # ------------------------------------------------------------------ forward model
    def distort(self, xy):
        """Map undistorted normalized coords (..., 2) to distorted normalized coords (numpy or torch)."""
        x, y = xy[..., 0], xy[..., 1]
        if not self.has_distortion:
            return xy
        D = [float(d) for d in self.D]
        r2 = x * x + y * y
        if self.distortion_model == "equidistant":
            k1, k2, k3, k4 = D
            sqrt, atan = (torch.sqrt, torch.atan) if _is_torch(xy) else (np.sqrt, np.arctan)
            r = sqrt(r2 + 1e-24)
            theta = atan(r)
            t2 = theta * theta
            theta_d = theta * (1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))
            scale = theta_d / r
            return _stack([x * scale, y * scale], xy)
        if self.distortion_model == "plumb_bob":
            k1, k2, p1, p2, k3 = D
            radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        else:  # rational_polynomial
            k1, k2, p1, p2, k3, k4, k5, k6 = D
            radial = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
        xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
        return _stack([xd, yd], xy)

    def normalized_to_pixels(self, xy):
        """Map undistorted normalized coords (..., 2) to raw pixels (..., 2)."""
        d = self.distort(xy)
        K = self.K
        u = K[0, 0] * d[..., 0] + K[0, 1] * d[..., 1] + K[0, 2]
        v = K[1, 1] * d[..., 1] + K[1, 2]
        return _stack([u, v], xy)

    def project_normalized(self, points_3d):
        """Project camera-frame points (..., 3) to undistorted normalized coords (..., 2).

        Depth is clamped to a small positive value so points behind the camera
        give large but finite coordinates (gradients stay defined).
        """
        z = points_3d[..., 2]
        z = z.clamp_min(_MIN_DEPTH) if _is_torch(points_3d) else np.maximum(z, _MIN_DEPTH)
        return _stack([points_3d[..., 0] / z, points_3d[..., 1] / z], points_3d)

    def project(self, points_3d):
        """Project camera-frame points (..., 3) to raw pixels (..., 2); numpy or torch, batched."""
        return self.normalized_to_pixels(self.project_normalized(points_3d))

    # ------------------------------------------------------------------ inverse model
    def pixels_to_distorted(self, points_px):
        """Apply K⁻¹ only: raw pixels (..., 2) to distorted normalized coords."""
        p = np.asarray(points_px, dtype=np.float64)
        K = self.K
        yd = (p[..., 1] - K[1, 2]) / K[1, 1]
        xd = (p[..., 0] - K[0, 2] - K[0, 1] * yd) / K[0, 0]
        return np.stack([xd, yd], axis=-1)

    def undistort(self, xy_distorted, iterations: int = 20):
        """Invert ``distort`` by Gauss-Newton on each point (numpy, (..., 2))."""
        target = np.asarray(xy_distorted, dtype=np.float64)
        if not self.has_distortion:
            return target.copy()
        xy = target.copy()
        eps = 1e-7
        # the point and its 4 central-difference neighbours, distorted in one vectorised call
        offsets = np.array([[0.0, 0.0], [eps, 0.0], [-eps, 0.0], [0.0, eps], [0.0, -eps]])
        offsets = offsets.reshape((5,) + (1,) * (xy.ndim - 1) + (2,))
        for _ in range(iterations):
            dist = self.distort(xy[None] + offsets)  # (5, ..., 2)
            residual = dist[0] - target  # (..., 2)
            jx = (dist[1] - dist[2]) / (2 * eps)
            jy = (dist[3] - dist[4]) / (2 * eps)
            a, c = jx[..., 0], jx[..., 1]
            b, d = jy[..., 0], jy[..., 1]
            det = a * d - b * c
            det = np.where(np.abs(det) < 1e-12, 1e-12, det)
            dx = (d * residual[..., 0] - b * residual[..., 1]) / det
            dy = (-c * residual[..., 0] + a * residual[..., 1]) / det
            step = np.stack([dx, dy], axis=-1)
            xy = xy - step
            if np.all(np.abs(step[np.isfinite(step)]) < 1e-12):
                break
        return xy

    def normalize(self, points_px):
        """Map raw pixels (..., 2) to undistorted normalized coords (..., 2).

        Accepts numpy or torch; returns the same type (not differentiable:
        observations are data, not parameters).
        """
        if _is_torch(points_px):
            out = self.normalize(points_px.detach().cpu().numpy())
            return torch.as_tensor(out, dtype=points_px.dtype, device=points_px.device)
        return self.undistort(self.pixels_to_distorted(points_px))

    def rays(self, points_px):
        """Return unit viewing rays (..., 3) in the optical frame for raw pixels (..., 2)."""
        xy = self.normalize(np.asarray(points_px, dtype=np.float64))
        rays = np.concatenate([xy, np.ones_like(xy[..., :1])], axis=-1)
        return rays / np.linalg.norm(rays, axis=-1, keepdims=True)

    def in_image(self, points_px, margin: float = 0.0):
        """Boolean mask (...,) of pixels inside the image (with an optional margin)."""
        p = np.asarray(points_px)
        return (
            (p[..., 0] >= -0.5 + margin) & (p[..., 0] <= self.width - 0.5 - margin)
            & (p[..., 1] >= -0.5 + margin) & (p[..., 1] <= self.height - 0.5 - margin)
        )

    def __repr__(self) -> str:
        return (
            f"Camera({self.width}x{self.height}, fx={self.fx:.1f}, fy={self.fy:.1f}, cx={self.cx:.1f}, "
            f"cy={self.cy:.1f}, {self.distortion_model}{list(np.round(self.D, 4)) if self.D.size else ''}, "
            f"frame_id={self.frame_id!r})"
        )
