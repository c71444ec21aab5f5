"""The ``standard-13`` camera protocol: a fixed, published recipe for virtual cameras around a person.

Unlike ``CameraRanges`` (broad randomisation for training), this is an exact recipe an outside reader can
re-implement: 1280x720, fx in [500, 1500] px, mild plumb_bob distortion, 3-7 m away, 0.8-2.2 m high, any
yaw, +-5 deg roll, the pelvis anywhere in the central part of the image, and every protocol joint visible.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from learned_energy_ros.core.batched_lens import LensBatch
from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.skeleton import get_skeleton

__all__ = ["Standard13Cameras", "MixedCameras", "draw_cameras", "PROTOCOL_JOINTS"]

#: Layout whose joints must all be visible (the pelvis and the 12 limb joints).
PROTOCOL_JOINTS = "body13"


def _rotations_from_z(b: np.ndarray) -> np.ndarray:
    """Minimal rotations (n, 3, 3) taking the optical axis (0, 0, 1) onto unit vectors ``b`` (n, 3) (Rodrigues)."""
    n = b.shape[0]
    vx = np.zeros((n, 3, 3))  # skew matrix of v = z x b = (-b1, b0, 0)
    vx[:, 0, 2], vx[:, 1, 2] = b[:, 0], b[:, 1]
    vx[:, 2, 0], vx[:, 2, 1] = -b[:, 0], -b[:, 1]
    return np.eye(3) + vx + vx @ vx / np.maximum(1.0 + b[:, 2], 1e-9)[:, None, None]


def _undistort(xd: np.ndarray, yd: np.ndarray, D: np.ndarray, iterations: int = 20):
    """Invert plumb_bob distortion of normalized points (n,) by fixed-point iteration (mild lenses converge)."""
    k1, k2, p1, p2 = D[:, 0], D[:, 1], D[:, 2], D[:, 3]
    x, y = xd.copy(), yd.copy()
    for _ in range(iterations):
        r2 = x * x + y * y
        radial = 1 + k1 * r2 + k2 * r2 * r2
        x, y = ((xd - (2 * p1 * x * y + p2 * (r2 + 2 * x * x))) / radial,
                (yd - (p1 * (r2 + 2 * y * y) + 2 * p2 * x * y)) / radial)
    return x, y


@dataclass
class Standard13Cameras:
    """Draws cameras of the ``standard-13`` protocol (see ``docs/benchmarks/pose.md``).

    Attributes mirror the protocol text; change them only to define a new protocol.
    """

    size: tuple = (1280, 720)
    fx: tuple = (500.0, 1500.0)
    aspect_jitter: float = 0.01  # fy = fx * (1 +- 1 %)
    principal_jitter: float = 0.03  # principal point at the centre +- 3 % of the size
    k1: tuple = (-0.1, 0.1)
    k2: tuple = (-0.02, 0.02)
    tangential: float = 0.001
    distance_m: tuple = (3.0, 7.0)  # horizontal distance to the pelvis
    height_m: tuple = (0.8, 2.2)  # above the floor (world z = 0)
    roll_deg: float = 5.0
    pelvis_u: tuple = (0.1, 0.9)  # pelvis pixel, fraction of the width
    pelvis_v: tuple = (0.15, 0.85)  # and of the height
    min_depth_m: float = 0.1
    min_slope: float = 0.3  # d/dr of r (1 + k1 r^2 + k2 r^4) at every joint: the lens map must not fold
    redraws: int = 50

    def __post_init__(self) -> None:
        skel = get_skeleton("mocap27")
        self._check = np.array([skel.index(n) for n in get_skeleton(PROTOCOL_JOINTS).joints])
        self._pelvis = skel.index("pelvis")

    def _draw(self, rng: np.random.Generator, pelvis: np.ndarray, yaw: np.ndarray | None = None):
        """Draw n cameras for pelvis positions (n, 3): ``(K (n, 3, 3), D (n, 5), R (n, 3, 3), t (n, 3))``.

        ``yaw`` (n,) rad places each camera at that azimuth around the pelvis instead of a drawn one (rigs).
        """
        n = pelvis.shape[0]
        w, h = self.size
        fx = rng.uniform(*self.fx, size=n)
        fy = fx * (1 + rng.uniform(-self.aspect_jitter, self.aspect_jitter, size=n))
        cx = w / 2 + rng.uniform(-1, 1, size=n) * self.principal_jitter * w
        cy = h / 2 + rng.uniform(-1, 1, size=n) * self.principal_jitter * h
        K = np.zeros((n, 3, 3))
        K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = fx, fy, cx, cy, 1.0
        D = np.zeros((n, 5))
        D[:, 0], D[:, 1] = rng.uniform(*self.k1, size=n), rng.uniform(*self.k2, size=n)
        D[:, 2:4] = rng.uniform(-self.tangential, self.tangential, size=(n, 2))
        yaw = rng.uniform(0, 2 * math.pi, size=n) if yaw is None else np.asarray(yaw, dtype=np.float64)
        dist = rng.uniform(*self.distance_m, size=n)
        eye = np.stack([pelvis[:, 0] + dist * np.cos(yaw), pelvis[:, 1] + dist * np.sin(yaw),
                        rng.uniform(*self.height_m, size=n)], -1)
        forward = pelvis - eye
        forward /= np.linalg.norm(forward, axis=-1, keepdims=True)
        right = np.stack([forward[:, 1], -forward[:, 0], np.zeros(n)], -1)
        right /= np.maximum(np.linalg.norm(right, axis=-1, keepdims=True), 1e-9)
        look = np.stack([right, np.cross(forward, right), forward], 1)  # rows: optical axes in world coordinates
        roll = np.radians(rng.uniform(-self.roll_deg, self.roll_deg, size=n))
        c, s = np.cos(roll), np.sin(roll)
        spin = np.zeros((n, 3, 3))
        spin[:, 0, 0], spin[:, 0, 1], spin[:, 1, 0], spin[:, 1, 1], spin[:, 2, 2] = c, -s, s, c, 1.0
        # Turn each camera so the pelvis lands on a random pixel: its ray must become that pixel's ray.
        u, v = rng.uniform(*self.pelvis_u, size=n) * w, rng.uniform(*self.pelvis_v, size=n) * h
        x, y = _undistort((u - cx) / fx, (v - cy) / fy, D)
        ray = np.stack([x, y, np.ones(n)], -1)
        ray /= np.linalg.norm(ray, axis=-1, keepdims=True)
        R = _rotations_from_z(ray) @ spin @ look
        return K, D, R, -np.einsum("nij,nj->ni", R, eye)

    def _valid(self, lens: LensBatch, points_cam: np.ndarray) -> np.ndarray:
        """(n,) True where every point (n, J, 3) is in front, inside the image and where the lens does not fold."""
        z = points_cam[..., 2]
        xy = points_cam[..., :2] / np.maximum(z, 1e-9)[..., None]
        r2 = (xy ** 2).sum(-1)
        k1, k2 = lens.coef[:, :1], lens.coef[:, 1:2]
        ok = (z > self.min_depth_m).all(-1) & (1 + 3 * k1 * r2 + 5 * k2 * r2 ** 2 >= self.min_slope).all(-1)
        px = lens.to_pixels(lens.distort(xy))
        w, h = self.size
        return ok & ((px[..., 0] >= 0) & (px[..., 0] < w) & (px[..., 1] >= 0) & (px[..., 1] < h)).all(-1)

    def sample_batch(self, rng: np.random.Generator, joints_world: np.ndarray,
                     yaw: np.ndarray | None = None) -> tuple[LensBatch, np.ndarray, np.ndarray]:
        """Draw one camera per ``mocap27`` pose.

        Args:
            rng: seeded generator.
            joints_world: (B, 27, 3) ``mocap27`` joints, world +Z up, floor at z = 0 (meters).
            yaw: optional (B,) azimuth (rad) of each camera around its pelvis (kept through redraws).
        Returns:
            ``(lens (B cameras), R_wc (B, 3, 3), t_wc (B, 3))`` with ``p_cam = R_wc @ p_world + t_wc``; a pose
            whose ``redraws`` draws all failed keeps its last draw (it may leave a joint outside the image).
        """
        joints_world = np.asarray(joints_world, dtype=np.float64)
        assert joints_world.ndim == 3 and joints_world.shape[1:] == (27, 3), joints_world.shape
        B = joints_world.shape[0]
        K, D, R, t = np.zeros((B, 3, 3)), np.zeros((B, 5)), np.zeros((B, 3, 3)), np.zeros((B, 3))
        todo = np.arange(B)
        for _ in range(self.redraws):
            K[todo], D[todo], R[todo], t[todo] = self._draw(rng, joints_world[todo, self._pelvis],
                                                            None if yaw is None else np.asarray(yaw)[todo])
            lens = LensBatch.from_arrays(K[todo], np.tile(self.size, (len(todo), 1)), "plumb_bob", D[todo])
            points = np.einsum("nij,nkj->nki", R[todo], joints_world[todo][:, self._check]) + t[todo, None]
            todo = todo[~self._valid(lens, points)]
            if todo.size == 0:
                break
        return LensBatch.from_arrays(K, np.tile(self.size, (B, 1)), "plumb_bob", D), R, t

    def sample_for(self, rng: np.random.Generator, joints_world: np.ndarray) -> tuple[Camera, np.ndarray, np.ndarray]:
        """Draw a camera for one ``mocap27`` pose (27, 3); see ``sample_batch``."""
        lens, R, t = self.sample_batch(rng, np.asarray(joints_world, dtype=np.float64)[None])
        camera = Camera(K=lens.K[0], D=lens.coef[0, :5], distortion_model="plumb_bob", width=self.size[0],
                        height=self.size[1], frame_id="standard13_optical")
        return camera, R[0], t[0]


@dataclass
class MixedCameras:
    """Draw each camera from one of several camera sources (anything with ``sample_for``), chosen uniformly."""

    sources: tuple

    def sample_batch(self, rng: np.random.Generator, joints_world: np.ndarray) -> tuple[LensBatch, np.ndarray, np.ndarray]:
        """Draw one camera per pose (B, 27, 3), each from a uniformly chosen source; see ``Standard13Cameras``."""
        B = joints_world.shape[0]
        which = rng.integers(len(self.sources), size=B)
        parts, Rs, ts, rows = [], [], [], []
        for k, source in enumerate(self.sources):
            idx = np.flatnonzero(which == k)
            if idx.size == 0:
                continue
            lens, R, t = draw_cameras(source, rng, joints_world[idx])
            parts.append(lens), Rs.append(R), ts.append(t), rows.append(idx)
        order = np.argsort(np.concatenate(rows))
        return LensBatch.concat(parts, order), np.concatenate(Rs)[order], np.concatenate(ts)[order]


def draw_cameras(source, rng: np.random.Generator, joints_world: np.ndarray) -> tuple[LensBatch, np.ndarray, np.ndarray]:
    """Draw one camera per ``mocap27`` pose (B, 27, 3) from ``source``: vectorised where it offers ``sample_batch``,
    else one ``sample_for`` call per pose. Returns ``(lens, R (B, 3, 3), t (B, 3))``."""
    if hasattr(source, "sample_batch"):
        return source.sample_batch(rng, joints_world)
    B = joints_world.shape[0]
    cams, R, t = [], np.zeros((B, 3, 3)), np.zeros((B, 3))
    for b in range(B):
        cam, R[b], t[b] = source.sample_for(rng, joints_world[b])
        cams.append(cam)
    return LensBatch(cams), R, t
