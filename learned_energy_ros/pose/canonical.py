"""Camera-free canonical inputs: rotate the person's root ray onto the optical axis and divide by 2D size.

After ``canonicalize`` no network sees focal length, principal point, image
position or pixel scale: the observation is what a virtual camera looking
straight at the person would see, in units of the person's own 2D size.

Canonical 3D convention (used by the energies and the initial net): a pose
``P`` (B, J, 3) in *person-size units* relative to the point ``(0, 0, depth)``
on the canonical optical axis, where ``depth`` is the root depth and
``size = depth * scale`` is the metric size matching the 2D ``scale``:
``X_canonical = P * size + (0, 0, depth)`` and ``X_camera = R^T X_canonical``.
Projected to canonical 2D units this is ``P_xy / (1 + scale * P_z)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from learned_energy_ros.core.skeleton import get_skeleton

__all__ = ["Canonical", "canonicalize", "to_camera", "to_canonical", "project_canonical", "root_pair"]

# Smallest 2D size accepted (normalized units); below it the person is a dot.
_MIN_SCALE = 1e-4
# Canonical coordinates are clipped to this many person sizes: with one or two observed joints the size is
# meaningless and unclipped values would blow up the networks (such samples are unusable anyway).
_MAX_CANONICAL = 20.0


@dataclass
class Canonical:
    """A canonicalized observation batch.

    Attributes:
        rays_c: (B, J, 2) canonical 2D in person-size units (0 for masked joints).
        R: (B, 3, 3) rotation taking camera-frame rays to the canonical frame (root ray -> +z).
        scale: (B,) robust 2D person size in normalized (rotated) image units.
        mask: (B, J) bool, joint observed (score > min_score).
    """

    rays_c: torch.Tensor
    R: torch.Tensor
    scale: torch.Tensor
    mask: torch.Tensor


def root_pair(skeleton) -> tuple[int, int] | None:
    """Return the (left_hip, right_hip) indices of a layout, or None when it lacks them."""
    skel = get_skeleton(skeleton)
    if skel.has("left_hip") and skel.has("right_hip"):
        return skel.index("left_hip"), skel.index("right_hip")
    return None


def _masked_median(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Upper median over the last dim of ``values`` where ``mask`` (NaN-free, >= 1 True per row assumed)."""
    filled = torch.where(mask, values, torch.full_like(values, float("inf")))
    ordered = filled.sort(dim=-1).values
    k = (mask.sum(-1) // 2).clamp(max=values.shape[-1] - 1).unsqueeze(-1)
    return ordered.gather(-1, k).squeeze(-1)


def _rotation_to_axis(ray: torch.Tensor) -> torch.Tensor:
    """Minimal rotations (B, 3, 3) taking unit rays (B, 3) onto +z (Rodrigues)."""
    z = torch.zeros_like(ray)
    z[:, 2] = 1.0
    v = torch.cross(ray, z, dim=-1)  # (B, 3) axis * sin
    c = (ray * z).sum(-1)  # (B,) cos
    vx = torch.zeros(ray.shape[0], 3, 3, dtype=ray.dtype, device=ray.device)
    vx[:, 0, 1], vx[:, 0, 2], vx[:, 1, 2] = -v[:, 2], v[:, 1], -v[:, 0]
    vx = vx - vx.transpose(1, 2)
    eye = torch.eye(3, dtype=ray.dtype, device=ray.device).expand_as(vx)
    return eye + vx + vx @ vx / (1 + c).clamp_min(1e-6)[:, None, None]


def canonicalize(normalized: torch.Tensor, scores: torch.Tensor, min_score: float = 0.1, skeleton="coco17") -> Canonical:
    """Canonicalize undistorted normalized 2D joints.

    Root ray: the midpoint of the two hips when both are observed, else the
    per-axis median of the observed joints. Robust size: the median distance
    of the observed joints to the root in the rotated image (one wild joint
    moves a median by at most one rank), floored at ``_MIN_SCALE``.

    Args:
        normalized: (B, J, 2) undistorted normalized coordinates.
        scores: (B, J) confidences; ``<= min_score`` = missing (its coordinates are ignored).
        min_score: missing threshold.
        skeleton: layout of the J joints (to find the hips).
    Returns:
        ``Canonical``; rows with no observed joint get identity R, scale 1, all-False mask.
    """
    B, J, _ = normalized.shape
    assert scores.shape == (B, J), (normalized.shape, scores.shape)
    mask = scores > min_score  # (B, J)
    xy = torch.where(mask[..., None], normalized, torch.zeros_like(normalized))
    any_obs = mask.any(-1)
    safe_mask = mask | ~any_obs[:, None]  # rows without joints: use all (zeros), results are discarded
    pair = root_pair(skeleton)
    hips_ok = mask[:, pair[0]] & mask[:, pair[1]] if pair is not None else None
    if hips_ok is not None and bool(hips_ok.all()):  # the usual case: no median needed
        centre = 0.5 * (xy[:, pair[0]] + xy[:, pair[1]])
    else:
        centre = torch.stack([_masked_median(xy[..., i], safe_mask) for i in range(2)], -1)  # (B, 2)
        if hips_ok is not None:
            centre = torch.where(hips_ok[:, None], 0.5 * (xy[:, pair[0]] + xy[:, pair[1]]), centre)
    ray = torch.cat([centre, torch.ones_like(centre[:, :1])], -1)
    R = _rotation_to_axis(ray / ray.norm(dim=-1, keepdim=True))  # (B, 3, 3)
    rays = torch.cat([xy, torch.ones_like(xy[..., :1])], -1) @ R.transpose(1, 2)  # (B, J, 3)
    c2d = rays[..., :2] / rays[..., 2:3].clamp_min(1e-6)  # (B, J, 2) rotated image, root at 0
    dist = c2d.norm(dim=-1)
    scale = _masked_median(dist, safe_mask).clamp_min(_MIN_SCALE)
    scale = torch.where(any_obs, scale, torch.ones_like(scale))
    rays_c = (c2d / scale[:, None, None]).clamp(-_MAX_CANONICAL, _MAX_CANONICAL)
    rays_c = torch.where(mask[..., None], rays_c, torch.zeros_like(c2d))
    return Canonical(rays_c=rays_c, R=R, scale=scale, mask=mask)


def project_canonical(pose: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Project canonical poses (B, J, 3) to canonical 2D (B, J, 2) in person-size units."""
    z = (1 + scale[:, None] * pose[..., 2]).clamp_min(1e-3)  # (B, J) depth / root depth
    return pose[..., :2] / z[..., None]


def to_camera(pose_canonical: torch.Tensor, R: torch.Tensor, depth: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Map canonical poses (B, J, 3) (person-size units) to metric camera-frame joints (B, J, 3).

    Args:
        pose_canonical: (B, J, 3) pose relative to (0, 0, depth) in units of ``depth * scale``.
        R: (B, 3, 3) canonical rotation from ``canonicalize``.
        depth: (B,) root depth (m).
        scale: (B,) 2D size from ``canonicalize``.
    """
    size = (depth * scale)[:, None, None]
    X = pose_canonical * size
    X = X + torch.stack([torch.zeros_like(depth), torch.zeros_like(depth), depth], -1)[:, None]
    return X @ R  # R^T applied to row vectors


def to_canonical(joints_cam: torch.Tensor, R: torch.Tensor, scale: torch.Tensor, root: int = 0):
    """Inverse of ``to_camera``: metric camera-frame joints (B, J, 3) -> (pose (B, J, 3), depth (B,)).

    ``depth`` is the canonical z of joint ``root``.
    """
    X = joints_cam @ R.transpose(1, 2)  # (B, J, 3) canonical frame
    depth = X[:, root, 2]
    size = (depth * scale)[:, None, None]
    offset = torch.stack([torch.zeros_like(depth), torch.zeros_like(depth), depth], -1)[:, None]
    return (X - offset) / size, depth
