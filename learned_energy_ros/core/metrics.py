"""Pose and voxel metrics with the names used in the literature (numpy or torch in, same type out).

Pose errors take 3D joints in meters and return per-sample errors in millimetres
(or a fraction, for root depth), so callers choose the aggregate (mean, median).
Numpy inputs are computed in float64 torch and returned as numpy; torch inputs
stay torch (differentiable where the operation is).
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

__all__ = [
    "MetricsError", "mpjpe", "p_mpjpe", "n_mpjpe", "absolute_error", "root_depth_error",
    "acceleration_error", "jitter", "voxel_iou", "mean_per_group", "pose_metrics",
]

_MM = 1000.0


class MetricsError(ValueError):
    """Raised when metric inputs have mismatched or invalid shapes."""


def _as_torch(*arrays):
    """Return (tensors, was_numpy)."""
    was_numpy = not isinstance(arrays[0], torch.Tensor)
    out = [a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a), dtype=torch.float64) for a in arrays]
    return out, was_numpy


def _back(x: torch.Tensor, was_numpy: bool):
    return x.detach().cpu().numpy() if was_numpy else x


def _check_pose(pred, target) -> None:
    if pred.shape != target.shape or pred.ndim < 2 or pred.shape[-1] != 3:
        raise MetricsError(f"expected matching (..., J, 3) poses, got {tuple(pred.shape)} and {tuple(target.shape)}")


def _per_joint(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return torch.linalg.norm(pred - target, dim=-1).mean(dim=-1) * _MM  # (...,)


def mpjpe(pred, target, root: int = 0):
    """Mean per-joint position error after aligning the root joints (mm).

    Args:
        pred, target: (..., J, 3) joints in meters.
        root: index of the root joint (h36m17 pelvis = 0).
    Returns:
        (...,) error per pose in millimetres.
    """
    (p, t), np_in = _as_torch(pred, target)
    _check_pose(p, t)
    return _back(_per_joint(p - p[..., root : root + 1, :], t - t[..., root : root + 1, :]), np_in)


def absolute_error(pred, target):
    """Mean per-joint error in the camera frame with no alignment at all (mm), shape (...,)."""
    (p, t), np_in = _as_torch(pred, target)
    _check_pose(p, t)
    return _back(_per_joint(p, t), np_in)


def n_mpjpe(pred, target, root: int = 0):
    """MPJPE after root alignment and the least-squares scale of the prediction (mm), shape (...,)."""
    (p, t), np_in = _as_torch(pred, target)
    _check_pose(p, t)
    p = p - p[..., root : root + 1, :]
    t = t - t[..., root : root + 1, :]
    scale = (p * t).sum(dim=(-1, -2)) / (p * p).sum(dim=(-1, -2)).clamp_min(1e-12)  # (...,)
    return _back(_per_joint(scale[..., None, None] * p, t), np_in)


def procrustes_align(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Return ``pred`` (N, J, 3) after the similarity transform that best matches ``target``."""
    mu_p, mu_t = pred.mean(dim=-2, keepdim=True), target.mean(dim=-2, keepdim=True)
    p0, t0 = pred - mu_p, target - mu_t
    norm_p = torch.linalg.norm(p0, dim=(-2, -1), keepdim=True).clamp_min(1e-12)
    norm_t = torch.linalg.norm(t0, dim=(-2, -1), keepdim=True).clamp_min(1e-12)
    p0, t0 = p0 / norm_p, t0 / norm_t
    H = p0.transpose(-1, -2) @ t0  # (N, 3, 3)
    U, S, Vt = torch.linalg.svd(H)
    # Fix reflections so the result is a proper rotation.
    sign = torch.sign(torch.linalg.det(U @ Vt))
    Vt = torch.cat([Vt[..., :2, :], Vt[..., 2:, :] * sign[..., None, None]], dim=-2)
    S = torch.cat([S[..., :2], S[..., 2:] * sign[..., None]], dim=-1)
    R = U @ Vt  # (N, 3, 3) minimises |p0 @ R - t0| (orthogonal Procrustes)
    scale = S.sum(dim=-1)[..., None, None] * norm_t / norm_p
    return scale * (pred - mu_p) @ R + mu_t


def p_mpjpe(pred, target):
    """MPJPE after Procrustes alignment (rotation, translation and scale) (mm).

    Args:
        pred, target: (N, J, 3) or (J, 3) joints in meters.
    Returns:
        (N,) (or scalar) error in millimetres.
    """
    (p, t), np_in = _as_torch(pred, target)
    _check_pose(p, t)
    single = p.ndim == 2
    if single:
        p, t = p[None], t[None]
    err = _per_joint(procrustes_align(p, t), t)
    return _back(err[0] if single else err, np_in)


def root_depth_error(pred, target, root: int = 0):
    """Absolute root depth error as a fraction of the true root depth, shape (...,)."""
    (p, t), np_in = _as_torch(pred, target)
    _check_pose(p, t)
    z_true = t[..., root, 2]
    return _back((p[..., root, 2] - z_true).abs() / z_true.abs().clamp_min(1e-9), np_in)


def _second_difference(seq: torch.Tensor) -> torch.Tensor:
    if seq.ndim != 3 or seq.shape[-1] != 3 or seq.shape[0] < 3:
        raise MetricsError(f"expected a sequence (T >= 3, J, 3), got {tuple(seq.shape)}")
    return seq[2:] - 2 * seq[1:-1] + seq[:-2]  # (T-2, J, 3)


def acceleration_error(pred_seq, target_seq):
    """Mean per-joint error of the second finite difference (mm / frame²) over a (T, J, 3) sequence."""
    (p, t), np_in = _as_torch(pred_seq, target_seq)
    _check_pose(p, t)
    err = torch.linalg.norm(_second_difference(p) - _second_difference(t), dim=-1).mean() * _MM
    return float(err) if np_in else err


def jitter(seq):
    """Mean per-joint magnitude of the second finite difference (mm / frame²) of a (T, J, 3) sequence."""
    (s,), np_in = _as_torch(seq)
    err = torch.linalg.norm(_second_difference(s), dim=-1).mean() * _MM
    return float(err) if np_in else err


def voxel_iou(pred_prob, target, threshold: float = 0.5):
    """Intersection over union of occupancy grids per sample.

    Args:
        pred_prob: (N, *grid) or (*grid) predicted occupancy probabilities.
        target: same shape, boolean or {0, 1} ground-truth occupancy.
        threshold: a voxel counts as occupied when ``pred_prob > threshold``.
    Returns:
        (N,) IoU per sample (a scalar for one grid); 1.0 when both grids are empty.
    """
    (p, t), np_in = _as_torch(pred_prob, target)
    if p.shape != t.shape:
        raise MetricsError(f"voxel grids differ in shape: {tuple(p.shape)} vs {tuple(t.shape)}")
    single = p.ndim <= 3
    occ_p = (p > threshold).reshape(1 if single else p.shape[0], -1)
    occ_t = (t > 0.5).reshape(occ_p.shape)
    inter = (occ_p & occ_t).sum(dim=-1).double()
    union = (occ_p | occ_t).sum(dim=-1).double()
    iou = torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))
    return _back(iou[0] if single else iou, np_in)


def mean_per_group(values, groups) -> dict:
    """Average per-sample ``values`` within each group label (e.g. object class or id).

    Returns:
        {group: mean} plus ``"mean_of_groups"`` (each group weighted equally).
    """
    vals = np.asarray(values, dtype=np.float64).reshape(-1)
    labels = list(groups)
    if len(labels) != vals.size:
        raise MetricsError(f"{vals.size} values but {len(labels)} group labels")
    sums: dict = defaultdict(list)
    for label, value in zip(labels, vals):
        sums[label].append(value)
    out = {label: float(np.mean(v)) for label, v in sums.items()}
    out["mean_of_groups"] = float(np.mean(list(out.values()))) if out else float("nan")
    return out


def pose_metrics(pred, target, root: int = 0) -> dict:
    """Return the standard summary of a batch of absolute camera-frame predictions.

    Args:
        pred, target: (N, J, 3) joints in meters in the camera optical frame.
    Returns:
        dict with mean ``mpjpe``, ``p_mpjpe``, ``n_mpjpe``, ``abs_error`` (mm),
        ``root_depth_pct`` (median root depth error, % of distance) and ``n``.
    """
    (p, t), _ = _as_torch(pred, target)
    p, t = p.detach().double().cpu(), t.detach().double().cpu()
    if p.ndim != 3:
        raise MetricsError(f"expected (N, J, 3), got {tuple(p.shape)}")
    return {
        "mpjpe": float(mpjpe(p, t, root).mean()),
        "p_mpjpe": float(p_mpjpe(p, t).mean()),
        "n_mpjpe": float(n_mpjpe(p, t, root).mean()),
        "abs_error": float(absolute_error(p, t).mean()),
        "root_depth_pct": float(torch.quantile(root_depth_error(p, t, root), 0.5) * 100.0),
        "n": int(p.shape[0]),
    }


#: The ``standard-13`` joints (pelvis = hip midpoint, 12 limb joints), by name in the 3D output layout.
STANDARD13_JOINTS = ("pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
                     "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist")


def standard13_metrics(pred, target, skeleton="h36m17") -> dict:
    """Return the ``standard-13`` protocol's metrics of absolute camera-frame predictions.

    Args:
        pred, target: (N, J, 3) joints in meters (optical frame) in layout ``skeleton``.
    Returns:
        dict (mm unless stated) over the 13 protocol joints: ``mpjpe`` (each pose's pelvis subtracted),
        ``p_mpjpe``, ``n_mpjpe``, ``mpjpe_hips12`` (hip midpoints aligned, the 12 limb joints), ``abs_error``,
        ``root_depth_pct`` (median |pelvis depth error| / distance, %), ``depth_bias_pct`` (median signed
        (predicted - true) / true pelvis depth, %) and ``n``.
    """
    from learned_energy_ros.core.skeleton import get_skeleton

    skel = get_skeleton(skeleton)
    idx = [skel.index(n) for n in STANDARD13_JOINTS]
    (p, t), _ = _as_torch(pred, target)
    p, t = p.detach().double().cpu()[:, idx], t.detach().double().cpu()[:, idx]
    hips = lambda x: 0.5 * (x[:, 1:2] + x[:, 2:3])  # noqa: E731  (N, 1, 3) hip midpoint
    limbs = _per_joint(p[:, 1:] - hips(p), t[:, 1:] - hips(t))  # (N,) mm
    z_true = t[:, 0, 2]
    signed = (p[:, 0, 2] - z_true) / z_true.abs().clamp_min(1e-9)
    return {
        "mpjpe": float(mpjpe(p, t, 0).mean()),
        "p_mpjpe": float(p_mpjpe(p, t).mean()),
        "n_mpjpe": float(n_mpjpe(p, t, 0).mean()),
        "mpjpe_hips12": float(limbs.mean()),
        "abs_error": float(absolute_error(p, t).mean()),
        "root_depth_pct": float(torch.quantile(signed.abs(), 0.5) * 100.0),
        "depth_bias_pct": float(torch.quantile(signed, 0.5) * 100.0),
        "n": int(p.shape[0]),
    }
