"""Starts and per-view maps of the multi-view descent (``pose.multiview``): geometry only, no energies.

A start is a metric skeleton in the common frame with a reference view. ``term_maps`` turns each start into
the descent's state (its reference view's canonical pose, ``pose.canonical``) and, for every view that sees the
person, the affine map ``P_v = P A^T + b`` from that state to the view's own canonical frame and units. The
(start, view) terms are laid out as a grid with one row per (view, person) slot, so that the row's prepared
observation serves all the starts of that person at once. Everything is batched over slots and starts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from learned_energy_ros.pose.canonical import Canonical, to_canonical

__all__ = ["SlotPoses", "Candidates", "TermMaps", "candidate_starts", "term_maps"]

# A rescaled single-view lift moves at most this factor nearer or farther: beyond it the rays' meeting point is
# not trusted (nearly parallel rays, a wrong association).
_MAX_RESCALE = 2.0
# A view whose hypothesis root is nearer than this (m) in front of it cannot score the hypothesis.
_MIN_DEPTH = 0.1
# Rays whose normal matrix is worse conditioned than this do not meet (parallel rays, fewer than two with weight).
_MAX_COND = 1e6


@dataclass
class SlotPoses:
    """The camera poses of S (view, person) slots: ``rotation`` (S, 3, 3), ``translation`` (S, 3) (``CameraPose``)."""

    rotation: np.ndarray
    translation: np.ndarray

    @classmethod
    def stack(cls, poses) -> "SlotPoses":
        """From one ``CameraPose`` per slot."""
        return cls(np.stack([p.rotation for p in poses]).astype(np.float64),
                   np.stack([p.translation for p in poses]).astype(np.float64))

    def to_camera(self, points, idx) -> np.ndarray:
        """Common-frame points (B, J, 3) -> the optical frames of slots ``idx`` (B,)."""
        return (np.asarray(points, np.float64) - self.translation[idx, None]) @ self.rotation[idx]

    def to_common(self, points, idx) -> np.ndarray:
        """Optical-frame points (B, J, 3) of slots ``idx`` (B,) -> common frame."""
        return np.asarray(points, np.float64) @ self.rotation[idx].transpose(0, 2, 1) + self.translation[idx, None]


@dataclass
class Candidates:
    """C starts: ``joints`` (C, 17, 3) m in the common frame, ``person`` (C,), ``ref_slot`` (C,) reference slot."""

    joints: np.ndarray
    person: np.ndarray
    ref_slot: np.ndarray


@dataclass
class TermMaps:
    """The descent's starts and its (start, view) terms on a (G, k) grid: row g = slot ``rows[g]``, k = most starts
    of one person; the row's entries are the starts of the slot's person, padded (weight 0, zero map).

    Attributes:
        P0: (C, 17, 3) float32 start states; size: (C,) their metric person size (m); can_ref: reference views.
        rows: (G,) slot of each row; owner: (G, k) start of each term.
        A: (G, k, 3, 3), b: (G, k, 1, 3) the state-to-view maps; valid: (G, k) 1 where the view can score the start.
    """

    P0: torch.Tensor
    size: torch.Tensor
    can_ref: Canonical
    rows: np.ndarray
    owner: torch.Tensor
    A: torch.Tensor
    b: torch.Tensor
    valid: torch.Tensor


def meeting_points(centres: np.ndarray, directions: np.ndarray, group: np.ndarray, groups: int,
                   weights=None) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least-squares meeting point of each group's rays ``centres + s directions`` (m, 3).

    Returns:
        ``(points (groups, 3), ok (groups,))``; ``ok`` False where the rays do not meet (parallel, < 2 weighted).
    """
    d = directions / np.linalg.norm(directions, axis=-1, keepdims=True)
    w = np.ones(len(d)) if weights is None else np.asarray(weights, np.float64)
    proj = (np.eye(3)[None] - d[:, :, None] * d[:, None, :]) * w[:, None, None]  # (m, 3, 3) orthogonal to each ray
    M, rhs = np.zeros((groups, 3, 3)), np.zeros((groups, 3))
    np.add.at(M, group, proj)
    np.add.at(rhs, group, np.einsum("mij,mj->mi", proj, centres))
    ok = np.linalg.cond(M) <= _MAX_COND
    return np.linalg.solve(np.where(ok[:, None, None], M, np.eye(3)), rhs[..., None])[..., 0], ok


def _first_per_group(key: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Index of the lowest ``key`` in each group (the first one on ties; groups 0..G-1 all present)."""
    order = np.lexsort((np.arange(len(key)), key, group))
    return order[np.r_[True, group[order][1:] != group[order][:-1]]]


def candidate_starts(people, slot_n, single_common, own_energy, poses: SlotPoses, mean: bool = True,
                     slot_weight=None, every_view: bool = True) -> Candidates:
    """Starts of the people ``people``: each view's lift rescaled about its camera to the triangulated pelvis,
    and (``mean``) their mean with the reference of the view whose lift explains its own 2D best. ``slot_weight``
    (S,) weighs the rays (a down-weighted view barely moves the meeting point); ``every_view`` False keeps only the
    start of the view whose lift explains its own 2D best. Starts come person by person, in slot order."""
    people = np.asarray(people, np.int64)
    rank = np.full(int(max(people.max(), slot_n.max())) + 1, -1)
    rank[people] = np.arange(len(people))
    s = np.flatnonzero(rank[slot_n] >= 0)
    s = s[np.lexsort((s, rank[slot_n[s]]))]  # (m,) the people's slots, person by person
    g = rank[slot_n[s]]
    centres, pelvis = poses.translation[s], single_common[s, 0]
    meet, ok = meeting_points(centres, pelvis - centres, g, len(people),
                              None if slot_weight is None else slot_weight[s])
    dist = np.linalg.norm(pelvis - centres, axis=-1)
    along = np.einsum("mi,mi->m", meet[g] - centres, pelvis - centres) / np.maximum(dist, 1e-300)
    factor = np.where(ok[g] & (dist > 1e-6) & (along > 0),
                      np.clip(along / np.maximum(dist, 1e-300), 1 / _MAX_RESCALE, _MAX_RESCALE), 1.0)
    rescaled = centres[:, None] + factor[:, None, None] * (single_common[s] - centres[:, None])  # (m, 17, 3)
    best = s[_first_per_group(own_energy[s], g)]  # (P,) the view that explains its own 2D best
    if every_view:
        joints, group, ref = rescaled, g, s
    else:
        joints, group, ref = rescaled[_first_per_group(own_energy[s], g)], np.arange(len(people)), best
    if mean:
        sums = np.zeros((len(people),) + rescaled.shape[1:])
        np.add.at(sums, g, rescaled)
        joints = np.concatenate([joints, sums / np.bincount(g, minlength=len(people))[:, None, None]])
        group, ref = np.concatenate([group, np.arange(len(people))]), np.concatenate([ref, best])
    order = np.argsort(group, kind="stable")  # person by person, each person's mean last
    return Candidates(joints[order], people[group[order]], ref[order].astype(np.int64))


def _grid(person_of_slot: np.ndarray, cands: Candidates):
    """Rows (slots of the starts' people), and for every real entry its (row, column, start)."""
    rows = np.flatnonzero(np.isin(person_of_slot, cands.person))  # (G,)
    match = person_of_slot[rows][:, None] == cands.person[None]  # (G, C)
    count = match.sum(1)
    g, c = np.nonzero(match)  # row-major: each row's starts in order
    j = np.arange(len(g)) - np.repeat(np.cumsum(count) - count, count)
    return rows, int(count.max()), g, j, c


def term_maps(cands: Candidates, slots, poses: SlotPoses) -> TermMaps:
    """Build the states and (start, view) maps of ``cands`` over ``slots`` (``multiview._SlotContexts``) whose
    cameras have the poses ``poses`` (one per slot)."""
    can = slots.can
    dev = can.R.device
    R64, scale64 = can.R.double().cpu(), can.scale.double().cpu()
    ref = cands.ref_slot
    X_ref = poses.to_camera(cands.joints, ref)  # (C, 17, 3)
    P0, d0 = to_canonical(torch.as_tensor(X_ref), R64[ref], scale64[ref])
    size = d0 * scale64[ref]  # (C,) metric person size of each start
    rows, k, g, j, c = _grid(slots.person, cands)  # a start is scored by every view of its person
    s = rows[g]  # (T,) slot of each real term
    P_v, d_v = to_canonical(torch.as_tensor(poses.to_camera(cands.joints[c], s)), R64[s], scale64[s])
    valid = (d_v > _MIN_DEPTH) & (d0[c] > _MIN_DEPTH)
    size_v = torch.where(valid, d_v * scale64[s], torch.ones_like(d_v))
    rot = lambda idx: torch.as_tensor(poses.rotation[idx])  # noqa: E731
    A = R64[s] @ rot(s).transpose(1, 2) @ rot(ref[c]) @ R64[ref[c]].transpose(1, 2)
    A = A * (size[c] / size_v)[:, None, None]
    b = (P_v - P0[c] @ A.transpose(1, 2)).mean(1, keepdim=True)  # constant over joints by construction
    on = valid[:, None, None]
    f32 = lambda t: t.to(dtype=torch.float32, device=dev)  # noqa: E731
    owner = np.repeat(c[np.searchsorted(g, np.arange(len(rows)))], k).reshape(len(rows), k)  # padding: row's 1st
    owner[g, j] = c
    grid = lambda t, shape: torch.zeros((len(rows), k) + shape, dtype=torch.float64).index_put_(  # noqa: E731
        (torch.as_tensor(g), torch.as_tensor(j)), t)
    i = torch.as_tensor(ref, device=dev)
    can_ref = Canonical(can.rays_c[i], can.R[i], can.scale[i], can.mask[i])
    return TermMaps(f32(P0), f32(size), can_ref, rows, torch.as_tensor(owner, device=dev),
                    f32(grid(torch.where(on, A, 0.0), (3, 3))), f32(grid(torch.where(on, b, 0.0), (1, 3))),
                    f32(grid(valid.to(torch.float64), ())))
