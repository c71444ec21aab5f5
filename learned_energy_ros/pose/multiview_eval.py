"""Multi-view evaluation (``eval-lifter --views N``, ``benchmarks/pose_multiview.py``): rigs, conditions, methods.

Each sample is one ``val`` frame (10 fps, evenly spread over the clips) seen by V ``standard-13`` cameras placed
around the person: the first at a drawn azimuth, the others 90 deg (two views) or 360/V deg apart, each
+-10 deg, every other setting drawn as in ``standard-13`` (focal length, lens, distance, height, roll, where
the pelvis lands in the image). The common frame is the mocap world (z up).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from learned_energy_ros.core.metrics import STANDARD13_JOINTS, mpjpe, p_mpjpe
from learned_energy_ros.core.protocol_cameras import Standard13Cameras
from learned_energy_ros.core.skeleton import MOCAP_SKELETON, TRAINING_SKELETON, get_skeleton, joint_mapping
from learned_energy_ros.core.virtual_camera import DetectorNoise
from learned_energy_ros.pose.fusion import CameraHealth
from learned_energy_ros.pose.lift_types import DEFAULT_KEYPOINT_NOISE_PX
from learned_energy_ros.pose.multiview import MultiViewConfig, lift_multiview_normalized
from learned_energy_ros.pose.rig import CameraPose
from learned_energy_ros.pose.triangulation import ransac_triangulate

__all__ = ["VIEW_CONDITIONS", "MultiViewSet", "multiview_eval_set", "evaluate_multiview", "BAD_VIEW"]

#: 2D and calibration conditions of the multi-view table.
VIEW_CONDITIONS = ("clean", "occluded-limb", "outlier-per-view", "noisy", "bad-rotation", "bad-shift")
#: The view whose given extrinsic is wrong in ``bad-rotation`` / ``bad-shift`` (and whose limb is hidden).
BAD_VIEW = 1
_JITTER_DEG = 10.0
_INPUT = "body13"


@dataclass
class MultiViewSet:
    """B samples seen by V views: ``truth`` (B, 17, 3) world; ``xy`` (V, B, J, 2) normalized; ``scores`` (V, B, J);
    ``true_poses`` / ``given_poses``: V lists of B ``CameraPose`` (what the methods are told may be wrong);
    ``focal`` (V, B) px; ``condition``."""

    truth: np.ndarray
    xy: np.ndarray
    scores: np.ndarray
    true_poses: list
    given_poses: list
    focal: np.ndarray
    condition: str


def _offsets(views: int) -> np.ndarray:
    return np.radians([0.0, 90.0]) if views == 2 else np.arange(views) * 2 * math.pi / views


def _one_outlier(px: np.ndarray, scores: np.ndarray, rng) -> np.ndarray:
    """Displace one observed joint per sample by 15-50 % of the 2D height, score unchanged (confidently wrong)."""
    out = px.copy()
    for b in range(len(px)):
        seen = np.flatnonzero(scores[b] > 0)
        j = seen[rng.integers(len(seen))]
        height = np.ptp(px[b, seen, 1])
        angle = rng.uniform(0, 2 * math.pi)
        out[b, j] += rng.uniform(0.15, 0.5) * height * np.array([math.cos(angle), math.sin(angle)])
    return out


def multiview_eval_set(clips, views: int, samples: int, seed: int = 0, condition: str = "clean",
                       noise_px: float = 2.0) -> MultiViewSet:
    """Draw the seeded multi-view set (see the module docstring) under ``condition`` (``VIEW_CONDITIONS``)."""
    from learned_energy_ros.pose.dataset import PoseSampler

    if condition not in VIEW_CONDITIONS or views < 1:
        raise ValueError(f"condition must be one of {VIEW_CONDITIONS} and views >= 1")
    base = DetectorNoise(sigma_px=8.0 if condition == "noisy" else noise_px, score_range=(1.0, 1.0))
    sampler = PoseSampler(clips, Standard13Cameras(), base, input_skeleton=_INPUT, seed=seed, target_fps=10.0,
                          observed=_INPUT)
    rng = np.random.default_rng(seed + 1)
    idx = np.linspace(0, len(sampler) - 1, samples).round().astype(np.int64)
    world = sampler.frames[idx].astype(np.float64)  # (B, 27, 3)
    B = len(idx)
    yaw0 = rng.uniform(0, 2 * math.pi, size=B)
    xy, scores, focal, true_poses, given = [], [], [], [], []
    for v, off in enumerate(_offsets(views)):
        jitter = 0.0 if v == 0 else np.radians(rng.uniform(-_JITTER_DEG, _JITTER_DEG, size=B))
        lens, R, t = Standard13Cameras().sample_batch(rng, world, yaw=yaw0 + off + jitter)
        sampler.noise = DetectorNoise(sigma_px=base.sigma_px, score_range=(1.0, 1.0),
                                      limb_dropout_prob=1.0 if condition == "occluded-limb" and v == BAD_VIEW % views else 0.0)
        batch = sampler.observe_world(world, lens, R, t)
        sc = batch.scores.numpy().astype(np.float64)
        norm = batch.normalized.numpy().astype(np.float64)
        if condition == "outlier-per-view":
            norm = np.where(sc[..., None] > 0, lens.normalize(_one_outlier(batch.keypoints_px.numpy(), sc, rng)), 0.0)
        xy.append(norm), scores.append(sc), focal.append(lens.K[:, 0, 0])
        poses = [CameraPose(r.T, -r.T @ tt) for r, tt in zip(R, t)]
        true_poses.append(poses)
        if v == BAD_VIEW and condition in ("bad-rotation", "bad-shift"):
            poses = [p.perturbed(rotation_deg=5.0) if condition == "bad-rotation" else p.perturbed(shift_m=0.2)
                     for p in poses]
        given.append(poses)
    truth = world[:, joint_mapping(MOCAP_SKELETON, TRAINING_SKELETON)]
    return MultiViewSet(truth, np.stack(xy), np.stack(scores), true_poses, given, np.stack(focal), condition)


def _scored(pred: np.ndarray, truth: np.ndarray) -> dict:
    """Metrics over the 13 protocol joints in the common frame (mm): MPJPE, P-MPJPE, absolute pelvis error."""
    skel = get_skeleton(TRAINING_SKELETON)
    idx = [skel.index(n) for n in STANDARD13_JOINTS]
    p, t = pred[:, idx], truth[:, idx]
    return {"mpjpe": float(np.mean(mpjpe(p, t))), "p_mpjpe": float(np.mean(p_mpjpe(p, t))),
            "root_abs": float(np.mean(np.linalg.norm(p[:, 0] - t[:, 0], axis=-1)) * 1000),
            "per_sample": mpjpe(p, t)}


def _triangulated(data: MultiViewSet, fallback: np.ndarray) -> np.ndarray:
    """RANSAC + DLT of the body13 joints into the 17-joint layout; joints seen once come from ``fallback``."""
    V = len(data.given_poses)
    R = np.stack([[p.rotation.T for p in row] for row in data.given_poses])  # (V, B, 3, 3)
    t = -np.einsum("vbij,vbj->vbi", R, np.stack([[p.translation for p in row] for row in data.given_poses]))
    points, _ = ransac_triangulate(data.xy, data.scores, R, t, data.focal)  # (B, 13, 3)
    out = fallback.copy()
    m = joint_mapping(_INPUT, TRAINING_SKELETON)  # (17,) body13 index of each output joint
    for k, j in enumerate(m):
        if j >= 0:
            ok = np.isfinite(points[:, j]).all(-1)
            out[ok, k] = points[ok, j]
    return out if V > 1 else fallback


def evaluate_multiview(lifter, data: MultiViewSet, config: MultiViewConfig | None = None) -> dict:
    """Score single views, the fusion and triangulation on ``data``; return rows and per-view diagnostics."""
    V, B = data.scores.shape[:2]
    start = time.perf_counter()
    fused = lift_multiview_normalized(data.xy, data.scores, data.given_poses, lifter, _INPUT, config=config,
                                      keypoint_noise=DEFAULT_KEYPOINT_NOISE_PX / data.focal)
    fused_ms = 1000 * (time.perf_counter() - start) / B
    single = np.nan_to_num(fused.single_joints) if V > 1 else fused.single_joints
    per_view = [_scored(fused.single_joints[:, v], data.truth) for v in range(V)] if V > 1 else [_scored(fused.joints, data.truth)]
    singles = np.stack([r["per_sample"] for r in per_view])  # (V, B)
    best_view = np.argmin(singles, 0)
    rows = {"single (mean over cameras)": {k: float(np.mean([r[k] for r in per_view])) for k in ("mpjpe", "p_mpjpe", "root_abs")},
            "best single view (oracle, per sample)": _scored(single[np.arange(B), best_view], data.truth),
            "fused (IGE, summed energies)": _scored(fused.joints, data.truth)}
    if V > 1:
        fallback = fused.single_joints[:, 0].copy()
        rows["triangulation (RANSAC + DLT)"] = _scored(_triangulated(data, np.where(np.isfinite(fallback), fallback, fused.joints)), data.truth)
    rows["fused (IGE, summed energies)"]["ms_per_person"] = fused_ms
    excess = fused.view_energy - fused.single_energy  # (B, V)
    health = CameraHealth()
    health.update([f"camera {v}" for v in range(V)], fused)
    diag = {"named": health.disagreeing(), "mean_excess": np.nanmean(excess, 0).tolist(),
            "largest_excess_share": np.bincount(np.nanargmax(np.nan_to_num(excess, nan=-np.inf), 1), minlength=V).tolist(),
            "mean_weight": fused.view_weight.mean(0).tolist()}
    for r in rows.values():
        r.pop("per_sample", None)
    return {"views": V, "samples": B, "condition": data.condition, "rows": rows, "diagnostics": diag}
