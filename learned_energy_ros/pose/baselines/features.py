"""Shared input/output geometry of the baselines: anchor ray, person size, absolute placement.

Every baseline outputs absolute joints in the camera optical frame the same way:

* the *anchor* is the observed 2D hip midpoint in undistorted normalized
  coordinates (or, when a hip is missing, a score-weighted mean of the visible
  torso joints, else of all visible joints);
* the *size* is the median distance of the visible joints to the anchor (one
  wild joint cannot move a median);
* a method predicts root-relative joints (meters, pelvis = 0), the log depth of
  the pelvis and the pelvis' 2D offset from the anchor in person-size units;
  the pelvis is then ``z * (anchor + size * offset, 1)``.
"""
from __future__ import annotations

import torch

from learned_energy_ros.core.skeleton import TRAINING_SKELETON, get_skeleton

#: Detector scores at or below this count as missing.
MIN_SCORE = 0.1  # same threshold as the IGE canonicalization
_TORSO = ("left_hip", "right_hip", "left_shoulder", "right_shoulder")


class BaselineError(ValueError):
    """Raised for unusable baseline inputs, method names or checkpoints."""


def visible(scores: torch.Tensor, min_score: float = MIN_SCORE) -> torch.Tensor:
    """Return the (B, J) float mask of joints that count as observed."""
    return (scores > min_score).to(scores.dtype)


def _weighted_mean(xy: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return (xy * w[..., None]).sum(dim=1) / w.sum(dim=1, keepdim=True).clamp_min(1e-9)


def anchor_and_size(normalized: torch.Tensor, scores: torch.Tensor, skeleton: str, min_score: float = MIN_SCORE):
    """Return the person's anchor (B, 2) and robust 2D size (B,) in normalized coordinates.

    Args:
        normalized: (B, J, 2) undistorted normalized keypoints.
        scores: (B, J) detector scores.
        skeleton: layout name of the J keypoints.
    """
    skel = get_skeleton(skeleton)
    vis = visible(scores, min_score)  # (B, J)
    normalized = torch.where(vis[..., None] > 0, normalized, torch.zeros_like(normalized))
    w_all = vis
    w_torso = torch.zeros_like(vis)
    w_hips = torch.zeros_like(vis)
    for name in _TORSO:
        if skel.has(name):
            j = skel.index(name)
            w_torso[:, j] = vis[:, j]
            if name.endswith("hip"):
                w_hips[:, j] = vis[:, j]
    both_hips = (w_hips.sum(dim=1) >= 2)[:, None]  # (B, 1)
    has_torso = (w_torso.sum(dim=1) > 0)[:, None]
    anchor = torch.where(
        both_hips, _weighted_mean(normalized, w_hips),
        torch.where(has_torso, _weighted_mean(normalized, w_torso), _weighted_mean(normalized, w_all)),
    )  # (B, 2)
    dist = torch.linalg.norm(normalized - anchor[:, None], dim=-1)  # (B, J)
    dist = torch.where(vis > 0, dist, torch.full_like(dist, float("nan")))
    size = torch.nanmedian(dist, dim=1).values  # (B,)
    size = torch.nan_to_num(size, nan=1.0).clamp_min(1e-4)
    return anchor, size


def encode_targets(joints_cam: torch.Tensor, anchor: torch.Tensor, size: torch.Tensor):
    """Split absolute joints (B, 17, 3) into (root-relative (B,17,3), log depth (B,), offset (B,2))."""
    root = get_skeleton(TRAINING_SKELETON).root_index
    pelvis = joints_cam[:, root]  # (B, 3)
    z = pelvis[:, 2].clamp_min(1e-3)
    offset = (pelvis[:, :2] / z[:, None] - anchor) / size[:, None]
    return joints_cam - pelvis[:, None], torch.log(z), offset


def decode_outputs(rel: torch.Tensor, log_z: torch.Tensor, offset: torch.Tensor, anchor: torch.Tensor, size: torch.Tensor):
    """Inverse of ``encode_targets``: absolute joints (B, 17, 3) in the optical frame."""
    root = get_skeleton(TRAINING_SKELETON).root_index
    rel = rel - rel[:, root : root + 1]
    z = torch.exp(log_z)[:, None]  # (B, 1)
    xy = (anchor + size[:, None] * offset) * z
    pelvis = torch.cat([xy, z], dim=-1)  # (B, 3)
    return rel + pelvis[:, None]


def check_batch(batch) -> None:
    """Raise ``BaselineError`` for non-finite observations (missing joints must be flagged by score)."""
    for name in ("normalized", "scores", "keypoints_px"):
        value = getattr(batch, name)
        vis = visible(batch.scores) > 0
        bad = ~torch.isfinite(value)
        if name != "scores":
            bad = bad.any(dim=-1) & vis
        if bad.any():
            raise BaselineError(f"PoseBatch.{name} holds NaN/inf for observed joints")
