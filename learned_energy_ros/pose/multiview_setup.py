"""Starts and per-view maps of the multi-view descent (``pose.multiview``): geometry only, no energies.

A start is a metric skeleton in the common frame with a reference view. ``term_maps`` turns each start into
the descent's state (its reference view's canonical pose, ``pose.canonical``) and, for every view that sees the
person, the affine map ``P_v = P A^T + b`` from that state to the view's own canonical frame and units.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from learned_energy_ros.pose.canonical import Canonical, to_canonical

__all__ = ["Candidates", "TermMaps", "candidate_starts", "term_maps", "triangulate_rays"]

# A rescaled single-view lift moves at most this factor nearer or farther: beyond it the rays' meeting point is
# not trusted (nearly parallel rays, a wrong association).
_MAX_RESCALE = 2.0
# A view whose hypothesis root is nearer than this (m) in front of it cannot score the hypothesis.
_MIN_DEPTH = 0.1


@dataclass
class Candidates:
    """C starts: ``joints`` (C, 17, 3) m in the common frame, ``person`` (C,), ``ref_slot`` (C,) reference slot."""

    joints: np.ndarray
    person: np.ndarray
    ref_slot: np.ndarray


@dataclass
class TermMaps:
    """The descent's starts and its T (start, view) terms.

    Attributes:
        P0: (C, 17, 3) float32 start states; size: (C,) their metric person size (m); can_ref: reference views.
        owner: (T,) start of each term; term_slot: (T,) the term's (view, person) slot.
        A: (T, 3, 3), b: (T, 1, 3) the state-to-view maps; valid: (T,) 1 where the view can score the start.
    """

    P0: torch.Tensor
    size: torch.Tensor
    can_ref: Canonical
    owner: torch.Tensor
    term_slot: np.ndarray
    A: torch.Tensor
    b: torch.Tensor
    valid: torch.Tensor


def triangulate_rays(centres: np.ndarray, directions: np.ndarray, weights=None) -> np.ndarray | None:
    """Weighted least-squares meeting point (3,) of rays ``centres + s directions`` (m, 3); None when
    ill-conditioned (parallel rays, fewer than two rays with weight)."""
    d = directions / np.linalg.norm(directions, axis=-1, keepdims=True)
    w = np.ones(len(d)) if weights is None else np.asarray(weights, np.float64)
    proj = (np.eye(3)[None] - d[:, :, None] * d[:, None, :]) * w[:, None, None]  # (m, 3, 3) orthogonal to each ray
    M, rhs = proj.sum(0), np.einsum("mij,mj->i", proj, centres)
    if np.linalg.cond(M) > 1e6:
        return None
    return np.linalg.solve(M, rhs)


def candidate_starts(people, slot_n, single_common, own_energy, slot_pose, mean: bool = True,
                     slot_weight=None, every_view: bool = True) -> Candidates:
    """Starts of the people ``people``: each view's lift rescaled about its camera to the triangulated pelvis,
    and (``mean``) their mean with the reference of the view whose lift explains its own 2D best. ``slot_weight``
    (S,) weighs the rays (a down-weighted view barely moves the meeting point); ``every_view`` False keeps only the
    start of the view whose lift explains its own 2D best."""
    joints, person, ref = [], [], []
    for n in people:
        s_idx = np.flatnonzero(slot_n == n)
        centres = np.stack([slot_pose[s].translation for s in s_idx])  # (m, 3)
        pelvis = single_common[s_idx, 0]  # (m, 3)
        meet = triangulate_rays(centres, pelvis - centres, None if slot_weight is None else slot_weight[s_idx])
        rescaled = []
        for s, c, p in zip(s_idx, centres, pelvis):
            dist = np.linalg.norm(p - c)
            factor = 1.0
            if meet is not None and dist > 1e-6:
                along = float((meet - c) @ (p - c)) / dist
                factor = float(np.clip(along / dist, 1 / _MAX_RESCALE, _MAX_RESCALE)) if along > 0 else 1.0
            rescaled.append(c + factor * (single_common[s] - c))
        if every_view:
            joints += rescaled
            person += [n] * len(s_idx)
            ref += list(s_idx)
        else:
            k = int(np.argmin(own_energy[s_idx]))
            joints.append(rescaled[k]), person.append(n), ref.append(s_idx[k])
        if mean:
            joints.append(np.mean(rescaled, axis=0))
            person.append(n)
            ref.append(s_idx[int(np.argmin(own_energy[s_idx]))])
    return Candidates(np.stack(joints), np.asarray(person, np.int64), np.asarray(ref, np.int64))


def term_maps(cands: Candidates, slots, slot_pose) -> TermMaps:
    """Build the states and (start, view) maps of ``cands`` over ``slots`` (``multiview._SlotContexts``) whose
    cameras have the poses ``slot_pose`` (one ``CameraPose`` per slot)."""
    can = slots.can
    dev = can.R.device
    R64, scale64 = can.R.double().cpu(), can.scale.double().cpu()
    person_of_slot = slots.person  # (S,) person of each slot: a start is scored by every view of its person
    ref = cands.ref_slot
    X_ref = np.stack([slot_pose[s].to_camera(j) for s, j in zip(ref, cands.joints)])  # (C, 17, 3)
    P0, d0 = to_canonical(torch.as_tensor(X_ref), R64[ref], scale64[ref])
    size = d0 * scale64[ref]  # (C,) metric person size of each start
    owner, term_slot = [], []
    for c, n in enumerate(cands.person):
        for s in np.flatnonzero(person_of_slot == n):
            owner.append(c), term_slot.append(s)
    owner, term_slot = np.asarray(owner, np.int64), np.asarray(term_slot, np.int64)
    X_v = np.stack([slot_pose[s].to_camera(cands.joints[c]) for c, s in zip(owner, term_slot)])
    P_v, d_v = to_canonical(torch.as_tensor(X_v), R64[term_slot], scale64[term_slot])
    valid = (d_v > _MIN_DEPTH) & (d0[owner] > _MIN_DEPTH)
    size_v = torch.where(valid, d_v * scale64[term_slot], torch.ones_like(d_v))
    rot = lambda idx: torch.as_tensor(np.stack([slot_pose[s].rotation for s in idx]))  # noqa: E731
    A = R64[term_slot] @ rot(term_slot).transpose(1, 2) @ rot(ref[owner]) @ R64[ref[owner]].transpose(1, 2)
    A = A * (size[owner] / size_v)[:, None, None]
    b = (P_v - P0[owner] @ A.transpose(1, 2)).mean(1, keepdim=True)  # constant over joints by construction
    A, b = torch.where(valid[:, None, None], A, 0.0), torch.where(valid[:, None, None], b, 0.0)
    f32 = lambda t: t.to(dtype=torch.float32, device=dev)  # noqa: E731
    i = torch.as_tensor(ref, device=dev)
    can_ref = Canonical(can.rays_c[i], can.R[i], can.scale[i], can.mask[i])
    return TermMaps(f32(P0), f32(size), can_ref, torch.as_tensor(owner, device=dev), term_slot, f32(A), f32(b),
                    f32(valid.to(torch.float64)))
