"""Random virtual cameras and a detector-like 2D noise model, for training and evaluation.

A virtual camera looks at a person from a random viewpoint with random
intrinsics and lens distortion; ``observe`` turns 3D joints into the 2D
keypoints + scores a real detector would report (pixel noise, confident
outliers, dropped joints and whole limbs, off-image and behind-camera joints
with score 0). Everything is seeded through a ``numpy.random.Generator``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from learned_energy_ros.core.batched_lens import LensBatch
from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.skeleton import get_skeleton

__all__ = ["CameraRanges", "DetectorNoise", "sample_camera", "world_to_camera", "observe", "observe_batch", "limb_groups"]

# Joints nearer than this to the camera plane count as not visible (m).
_NEAR = 0.05
# An undistort(distort(x)) round trip farther than this means the lens model folded over: not visible.
_ROUND_TRIP_TOL = 1e-3
_LAB_INTRINSICS = ((600.0, 600.0, 320.0, 240.0, 640, 480), (910.0, 910.0, 640.0, 360.0, 1280, 720),
                   (1400.0, 1400.0, 960.0, 540.0, 1920, 1080))


@dataclass
class CameraRanges:
    """Ranges virtual cameras are drawn from (uniform unless stated).

    Attributes:
        hfov_deg: list of (lo, hi) horizontal field-of-view ranges; one is picked uniformly.
        image_sizes: (width, height) choices.
        principal_jitter: principal point offset from the image centre, fraction of width/height.
        aspect_jitter: relative fy/fx deviation (non-square pixels).
        distortion_probs: (model, probability) pairs.
        radial_k1, radial_k2: plumb_bob / rational k1, k2 ranges.
        tangential: max |p1|, |p2|.
        rational_k4: rational_polynomial denominator k4 range (k5 = k6 = 0).
        fisheye_k: range of each equidistant k1..k4.
        distance_m: horizontal camera-to-person distance range.
        height_m: camera height above the ground (world z) range.
        look_at_jitter_m: std of the look-at point around the person's root (puts people off-centre).
        roll_jitter_deg: std of the camera roll.
        fit_margin_m: minimum half-extent that must fit in the vertical FOV (pushes the camera back).
        fixed_intrinsics: if non-empty, (fx, fy, cx, cy, w, h) choices replace the FOV/size sampling.
    """

    hfov_deg: tuple = ((45.0, 100.0),)
    image_sizes: tuple = ((640, 480), (848, 480), (1280, 720), (1280, 960), (1920, 1080))
    principal_jitter: float = 0.04
    aspect_jitter: float = 0.01
    distortion_probs: tuple = (("none", 0.4), ("plumb_bob", 0.3), ("rational_polynomial", 0.15), ("equidistant", 0.15))
    radial_k1: tuple = (-0.3, 0.1)
    radial_k2: tuple = (-0.05, 0.1)
    tangential: float = 0.002
    rational_k4: tuple = (-0.1, 0.1)
    fisheye_k: tuple = (-0.03, 0.03)
    distance_m: tuple = (2.5, 10.0)
    height_m: tuple = (0.5, 2.5)
    look_at_jitter_m: float = 0.5
    roll_jitter_deg: float = 5.0
    fit_margin_m: float = 1.0
    fixed_intrinsics: tuple = ()

    def sample_for(self, rng: np.random.Generator, joints_world) -> tuple[Camera, np.ndarray, np.ndarray]:
        """Draw a camera looking at the pelvis (joint 0 of ``mocap27``) of one pose (27, 3); see ``sample_camera``."""
        return sample_camera(rng, self, np.asarray(joints_world)[0])

    @classmethod
    def broad(cls) -> "CameraRanges":
        """The training default: wide intrinsics, distortion and viewpoint randomisation."""
        return cls()

    @classmethod
    def narrow(cls) -> "CameraRanges":
        """A lab: three fixed undistorted intrinsics, moderate distances."""
        return cls(fixed_intrinsics=_LAB_INTRINSICS, distortion_probs=(("none", 1.0),), distance_m=(3.0, 6.0),
                   height_m=(1.0, 2.0), look_at_jitter_m=0.3, roll_jitter_deg=2.0)

    @classmethod
    def unseen(cls) -> "CameraRanges":
        """Intrinsics, lenses and viewpoints outside ``broad``: very narrow/wide FOV, fisheye, strong distortion, far."""
        return cls(hfov_deg=((20.0, 38.0), (110.0, 140.0)), image_sizes=((320, 240), (1440, 1080), (2048, 1536)),
                   principal_jitter=0.08, distortion_probs=(("equidistant", 0.4), ("rational_polynomial", 0.3), ("none", 0.3)),
                   radial_k1=(-0.45, -0.32), radial_k2=(0.1, 0.2), rational_k4=(0.15, 0.3), fisheye_k=(0.04, 0.08),
                   distance_m=(10.0, 20.0), height_m=(2.6, 4.0))


@dataclass
class DetectorNoise:
    """A detector-like 2D noise model.

    Attributes:
        sigma_px: Gaussian pixel noise std (per sample uniform in [sigma_px, sigma_px_max] when that is set).
        sigma_px_max: optional upper bound of the per-sample noise std.
        outlier_prob: per-joint probability of a confident outlier.
        outlier_range: outlier displacement as a fraction of the person's 2D height.
        outlier_score: score range given to outliers (mid confidence: detectors are confidently wrong).
        dropout_prob: per-joint probability that the detector misses a visible joint (score 0).
        limb_dropout_prob: per-person probability that one whole limb (elbow+wrist or knee+ankle+foot) is missed.
        score_range: score range of correct detections.
        body_only_prob: per-person probability that every joint outside the limbs is missed (face, torso:
            people seen from behind, hats, crops, body-only detectors).
    """

    sigma_px: float = 2.0
    sigma_px_max: float | None = None
    outlier_prob: float = 0.0
    outlier_range: tuple = (0.15, 0.5)
    outlier_score: tuple = (0.3, 0.6)
    dropout_prob: float = 0.0
    limb_dropout_prob: float = 0.0
    score_range: tuple = (0.6, 1.0)
    body_only_prob: float = 0.0

    @classmethod
    def clean(cls) -> "DetectorNoise":
        """Perfect 2D (ground truth projections, scores 1)."""
        return cls(sigma_px=0.0, score_range=(1.0, 1.0))

    @classmethod
    def training(cls) -> "DetectorNoise":
        """The training default: 0-6 px noise, some outliers, dropped joints and limbs."""
        return cls(sigma_px=0.0, sigma_px_max=6.0, outlier_prob=0.03, dropout_prob=0.04, limb_dropout_prob=0.3)

    @classmethod
    def standard13(cls) -> "DetectorNoise":
        """The ``standard-13`` protocol's 2D: 2 px Gaussian noise, every joint at score 1."""
        return cls(sigma_px=2.0, score_range=(1.0, 1.0))

    @classmethod
    def missing_limbs(cls) -> "DetectorNoise":
        """2 px noise and one whole limb missing in every person."""
        return cls(sigma_px=2.0, limb_dropout_prob=1.0)

    @classmethod
    def outliers(cls) -> "DetectorNoise":
        """2 px noise and 10 % of joints displaced far with mid scores."""
        return cls(sigma_px=2.0, outlier_prob=0.1)

    @classmethod
    def noisy(cls) -> "DetectorNoise":
        """8 px Gaussian noise."""
        return cls(sigma_px=8.0)


def _uniform(rng, lo_hi) -> float:
    lo, hi = lo_hi
    return float(rng.uniform(lo, hi)) if hi > lo else float(lo)


def _sample_intrinsics(rng, r: CameraRanges, model: str):
    if r.fixed_intrinsics:
        fx, fy, cx, cy, w, h = r.fixed_intrinsics[rng.integers(len(r.fixed_intrinsics))]
        return np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1.0]]), int(w), int(h)
    w, h = r.image_sizes[rng.integers(len(r.image_sizes))]
    hfov = math.radians(_uniform(rng, r.hfov_deg[rng.integers(len(r.hfov_deg))]))
    # An equidistant lens maps angle linearly to radius; a pinhole maps its tangent.
    f = 0.5 * w / (hfov / 2 if model == "equidistant" else math.tan(hfov / 2))
    fy = f * (1 + rng.uniform(-r.aspect_jitter, r.aspect_jitter))
    cx = (w - 1) / 2 + rng.uniform(-1, 1) * r.principal_jitter * w
    cy = (h - 1) / 2 + rng.uniform(-1, 1) * r.principal_jitter * h
    return np.array([[f, 0, cx], [0, fy, cy], [0, 0, 1.0]]), int(w), int(h)


def _sample_distortion(rng, r: CameraRanges, model: str) -> np.ndarray:
    if model == "none":
        return np.zeros(0)
    if model == "equidistant":
        return rng.uniform(*r.fisheye_k, size=4)
    k1, k2 = _uniform(rng, r.radial_k1), _uniform(rng, r.radial_k2)
    p1, p2 = rng.uniform(-r.tangential, r.tangential, size=2)
    if model == "plumb_bob":
        return np.array([k1, k2, p1, p2, 0.0])
    return np.array([k1, k2, p1, p2, 0.0, _uniform(rng, r.rational_k4), 0.0, 0.0])


def _cross(a, b) -> np.ndarray:  # np.cross is slow for single 3-vectors
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _look_at(eye: np.ndarray, target: np.ndarray, roll: float) -> np.ndarray:
    forward = target - eye
    forward /= np.linalg.norm(forward)
    right = np.array([forward[1], -forward[0], 0.0])  # forward x world up
    right /= max(np.linalg.norm(right), 1e-9)
    down = _cross(forward, right)
    R = np.stack([right, down, forward])  # rows: optical axes in world coordinates
    c, s = math.cos(roll), math.sin(roll)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]]) @ R


def sample_camera(rng: np.random.Generator, ranges: CameraRanges, target_world) -> tuple[Camera, np.ndarray, np.ndarray]:
    """Draw a camera looking at ``target_world`` (3,) (world +Z up, meters).

    Returns:
        ``(camera, R_wc (3, 3), t_wc (3,))`` with ``p_cam = R_wc @ p_world + t_wc`` (REP-103 optical frame).
    """
    target = np.asarray(target_world, dtype=np.float64).reshape(3)
    names, probs = zip(*ranges.distortion_probs)
    probs = np.asarray(probs, dtype=np.float64)
    model = names[rng.choice(len(names), p=probs / probs.sum())]
    K, w, h = _sample_intrinsics(rng, ranges, model)
    D = _sample_distortion(rng, ranges, model)
    vhalf = math.atan(0.5 * h / K[1, 1])
    dist = max(_uniform(rng, ranges.distance_m), ranges.fit_margin_m / math.tan(vhalf))
    azimuth = rng.uniform(0, 2 * math.pi)
    eye = np.array([target[0] + dist * math.cos(azimuth), target[1] + dist * math.sin(azimuth), _uniform(rng, ranges.height_m)])
    look = target + rng.normal(0, ranges.look_at_jitter_m, size=3)
    R = _look_at(eye, look, math.radians(rng.normal(0, ranges.roll_jitter_deg)))
    camera = Camera(K=K, D=D, distortion_model=model, width=w, height=h, frame_id="virtual_camera_optical")
    return camera, R, -R @ eye


def world_to_camera(points, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Map world points (..., 3) into the camera frame: ``R @ p + t``."""
    return np.asarray(points, dtype=np.float64) @ np.asarray(R).T + np.asarray(t)


def limb_groups(skeleton) -> list[np.ndarray]:
    """Return the joint indices of each droppable limb (forearm + hand, shin + foot) of a layout."""
    skel = get_skeleton(skeleton)
    parts = {"arm": ("elbow", "wrist", "pinky", "index", "thumb"), "leg": ("knee", "ankle", "heel", "toe")}
    groups = []
    for side in ("left_", "right_"):
        for keys in parts.values():
            idx = [i for i, n in enumerate(skel.joints) if n.startswith(side) and any(k in n for k in keys)]
            if idx:
                groups.append(np.array(idx))
    return groups


def _limb_mask(skeleton) -> np.ndarray:
    """(J,) True for the pelvis, the 12 limb joints and the feet of a layout."""
    keep = ("pelvis", "hip", "knee", "ankle", "heel", "toe", "shoulder", "elbow", "wrist")
    return np.array([any(k in n for k in keep) for n in get_skeleton(skeleton).joints])


def observe_batch(joints_cam, lens: LensBatch, noise: DetectorNoise, rng: np.random.Generator, skeleton="coco17"):
    """Observe B people, each through its own camera.

    Args:
        joints_cam: (B, J, 3) joints in each camera's optical frame (layout ``skeleton``).
        lens: the B cameras packed as a ``LensBatch``.
    Returns:
        ``(keypoints_px (B, J, 2), normalized (B, J, 2), scores (B, J), visible (B, J))``; joints with score 0
        have keypoints and normalized coordinates set to 0.
    """
    P = np.asarray(joints_cam, dtype=np.float64)
    B, J, _ = P.shape
    assert len(lens) == B, (len(lens), B)
    px, xy = lens.project(P)  # (B, J, 2) each
    visible = (P[..., 2] > _NEAR) & lens.in_image(px)
    visible &= np.linalg.norm(lens.undistort(lens.distort(xy)) - xy, axis=-1) < _ROUND_TRIP_TOL
    scores = rng.uniform(*noise.score_range, size=(B, J))
    sigma = noise.sigma_px if noise.sigma_px_max is None else rng.uniform(noise.sigma_px, noise.sigma_px_max, size=(B, 1, 1))
    px = px + rng.normal(size=(B, J, 2)) * sigma
    _add_outliers(px, scores, visible, noise, rng)
    missed = rng.random((B, J)) < noise.dropout_prob
    if noise.body_only_prob > 0:
        body_only = rng.random(B) < noise.body_only_prob
        missed |= body_only[:, None] & ~_limb_mask(skeleton)[None]
    groups = limb_groups(skeleton)
    if groups:
        for b in np.flatnonzero(rng.random(B) < noise.limb_dropout_prob):
            missed[b, groups[rng.integers(len(groups))]] = True
    scores = np.where(visible & ~missed, scores, 0.0)
    normalized = lens.normalize(px)
    ok = scores > 0
    px = np.where(ok[..., None], px, 0.0)
    normalized = np.where(ok[..., None] & np.isfinite(normalized), normalized, 0.0)
    return px, normalized, scores, visible


def _add_outliers(px, scores, visible, noise: DetectorNoise, rng) -> None:
    if noise.outlier_prob <= 0:
        return
    B, J, _ = px.shape
    height = (np.where(visible, px[..., 1], -np.inf).max(1) - np.where(visible, px[..., 1], np.inf).min(1))
    height = np.where(np.isfinite(height), height, 0.0)  # (B,) 2D person height (0 when nothing is visible)
    hit = (rng.random((B, J)) < noise.outlier_prob) & visible
    angle = rng.uniform(0, 2 * np.pi, size=(B, J))
    mag = rng.uniform(*noise.outlier_range, size=(B, J)) * height[:, None]
    shift = np.stack([np.cos(angle), np.sin(angle)], -1) * mag[..., None]
    px += np.where(hit[..., None], shift, 0.0)
    scores[hit] = rng.uniform(*noise.outlier_score, size=int(hit.sum()))


def observe(joints_cam, camera: Camera, noise: DetectorNoise, rng: np.random.Generator, skeleton="coco17"):
    """Observe N people through one camera like a 2D detector would.

    Args:
        joints_cam: (N, J, 3) joints in the camera optical frame (layout ``skeleton``).
        camera: the camera.
        noise: the detector noise model.
        rng: seeded generator (same seed, same output).
        skeleton: layout of the J joints (needed to drop whole limbs).
    Returns:
        ``(keypoints_px (N, J, 2), scores (N, J), visible (N, J))``; visible = in front of the camera and inside
        the image; invisible or missed joints have score 0.
    """
    P = np.asarray(joints_cam, dtype=np.float64)
    assert P.ndim == 3 and P.shape[-1] == 3, P.shape
    px, _, scores, visible = observe_batch(P, LensBatch([camera] * P.shape[0]), noise, rng, skeleton)
    return px, scores, visible
