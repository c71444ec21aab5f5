"""Which detection in camera A is which person in camera B, and who is who across frames (ROS-free).

Across cameras two cues are combined, each in units of its own gate: the symmetric epipolar distance of the
joints both detections see (depth-free; divided by the person's 2D size, so it means the same near and far)
and the distance between the pelvis estimates of the two single-view lifts in the common frame (it separates
people that share epipolar lines, as people standing side by side do for cameras at one height). Cameras are
added one at a time: each detection joins the group of people found so far (Hungarian over the mean cost to
the group's members) or starts a new person. Across frames, fused people keep ids by pelvis distance.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["AssociationConfig", "pair_cost", "associate", "FusedTracker"]

_UNMATCHABLE = 1e6


@dataclass(frozen=True)
class AssociationConfig:
    """Gates of the cross-camera association and of the tracks of fused people."""

    epipolar_gate: float = 0.25  # mean symmetric epipolar distance, in units of the detection's 2D size
    distance_gate_m: float = 2.0  # distance of the two single-view pelvis estimates (monocular depth is rough)
    min_common_joints: int = 3  # joints both detections see, needed to compare them
    track_gate_m: float = 0.8  # farthest a fused person's pelvis moves between frames and keeps its id
    track_timeout_s: float = 1.0  # a fused track unseen this long dies


def _essential(pose_a, pose_b) -> np.ndarray:
    """E with ``x_b^T E x_a = 0`` for normalized points of camera a and b (``CameraPose``)."""
    R = pose_b.rotation.T @ pose_a.rotation  # a -> b
    t = pose_b.rotation.T @ (pose_a.translation - pose_b.translation)
    tx = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
    return tx @ R


def _size(xy: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """(N,) diagonal of the visible joints' box (normalized units), floored."""
    lo = np.where(visible[..., None], xy, np.inf).min(1)
    hi = np.where(visible[..., None], xy, -np.inf).max(1)
    with np.errstate(invalid="ignore"):
        return np.maximum(np.nan_to_num(np.linalg.norm(hi - lo, axis=-1), nan=1e-3, posinf=1e-3), 1e-3)


def pair_cost(xy_a, vis_a, root_a, pose_a, xy_b, vis_b, root_b, pose_b, config: AssociationConfig) -> np.ndarray:
    """(Na, Nb) association cost of two cameras' detections; inf where a gate rejects the pair.

    Args:
        xy_a, xy_b: (N, J, 2) normalized undistorted keypoints; vis_a, vis_b: (N, J) observed joints.
        root_a, root_b: (N, 3) single-view pelvis estimates in the common frame.
        pose_a, pose_b: the cameras' ``CameraPose``.
    """
    E = _essential(pose_a, pose_b)
    ha = np.concatenate([xy_a, np.ones_like(xy_a[..., :1])], -1)  # (Na, J, 3)
    hb = np.concatenate([xy_b, np.ones_like(xy_b[..., :1])], -1)
    lines_b = ha @ E.T  # (Na, J, 3) epipolar lines in b
    lines_a = hb @ E  # (Nb, J, 3) in a
    alg = np.einsum("bjk,ajk->abj", hb, lines_b)  # (Na, Nb, J) x_b^T E x_a
    d_b = np.abs(alg) / np.linalg.norm(lines_b[:, None, :, :2], axis=-1).clip(1e-12)
    d_a = np.abs(alg) / np.linalg.norm(lines_a[None, :, :, :2], axis=-1).clip(1e-12)
    rel = 0.5 * (d_a / _size(xy_a, vis_a)[:, None, None] + d_b / _size(xy_b, vis_b)[None, :, None])
    common = vis_a[:, None] & vis_b[None]  # (Na, Nb, J)
    count = common.sum(-1)
    epi = np.where(common, rel, 0.0).sum(-1) / np.maximum(count, 1)
    dist = np.linalg.norm(root_a[:, None] - root_b[None], axis=-1)
    ok = (count >= config.min_common_joints) & (epi < config.epipolar_gate) & (dist < config.distance_gate_m)
    return np.where(ok, epi / config.epipolar_gate + dist / config.distance_gate_m, np.inf)


def associate(xy, visible, roots, poses, config: AssociationConfig | None = None) -> list[dict]:
    """Group detections of V cameras into people.

    Args:
        xy, visible, roots: V arrays (N_v, J, 2), (N_v, J), (N_v, 3) as in ``pair_cost``.
        poses: V ``CameraPose``.
    Returns:
        one dict ``{view: detection index}`` per person (people seen by one camera included), in order of
        first appearance.
    """
    cfg = config or AssociationConfig()
    groups: list[dict] = []
    for v in range(len(xy)):
        n_v = len(xy[v])
        cost = np.full((n_v, len(groups)), np.inf)
        pairs = {u: pair_cost(xy[u], visible[u], roots[u], poses[u], xy[v], visible[v], roots[v], poses[v], cfg)
                 for u in range(v) if len(xy[u]) and n_v}
        for g, group in enumerate(groups):
            members = [pairs[u][i] for u, i in group.items()]  # each (n_v,)
            if members:
                cost[:, g] = np.mean(members, axis=0)  # inf if any member rejects the pair
        taken = np.full(n_v, False)
        if cost.size:
            rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, _UNMATCHABLE))
            for r, c in zip(rows, cols):
                if np.isfinite(cost[r, c]):
                    groups[c][v], taken[r] = int(r), True
        groups += [{v: int(i)} for i in np.flatnonzero(~taken)]
    return groups


class FusedTracker:
    """Ids of fused people across frames: Hungarian on pelvis distance in the common frame, with a timeout."""

    def __init__(self, config: AssociationConfig | None = None) -> None:
        self.config = config or AssociationConfig()
        self.tracks: dict[int, dict] = {}  # id -> {"root": (3,), "seen": stamp, "joints": (K, 3) or None}
        self._next = 0

    def reset(self) -> list[int]:
        """Forget every track; return their ids."""
        ids = list(self.tracks)
        self.tracks.clear()
        return ids

    def update(self, stamp: float, roots: np.ndarray) -> tuple[np.ndarray, list[int]]:
        """Assign ids to people whose pelvis estimates are ``roots`` (N, 3); return ``(ids (N,), vanished)``."""
        cfg = self.config
        vanished = [t for t, tr in self.tracks.items() if stamp - tr["seen"] > cfg.track_timeout_s]
        for t in vanished:
            del self.tracks[t]
        ids = np.full(len(roots), -1, np.int64)
        alive = list(self.tracks)
        if alive and len(roots):
            d = np.linalg.norm(roots[:, None] - np.stack([self.tracks[t]["root"] for t in alive])[None], axis=-1)
            d = np.where(np.isfinite(d) & (d < cfg.track_gate_m), d, np.inf)
            rows, cols = linear_sum_assignment(np.where(np.isfinite(d), d, _UNMATCHABLE))
            for r, c in zip(rows, cols):
                if np.isfinite(d[r, c]):
                    ids[r] = alive[c]
        for n in np.flatnonzero(ids < 0):
            ids[n], self._next = self._next, self._next + 1
            self.tracks[int(ids[n])] = {"joints": None}
        for t, root in zip(ids, roots):
            self.tracks[int(t)].update(root=np.asarray(root, np.float64), seen=stamp)
        return ids, vanished

    def previous(self, ids, num_joints: int) -> np.ndarray:
        """(N, K, 3) each track's last fused skeleton, NaN rows where none."""
        out = np.full((len(ids), num_joints, 3), np.nan)
        for n, t in enumerate(ids):
            j = self.tracks.get(int(t), {}).get("joints")
            if j is not None:
                out[n] = j
        return out

    def set_joints(self, ids, joints) -> None:
        """Store accepted skeletons (N, K, 3) of tracks ``ids`` (the next frame's temporal history)."""
        for t, j in zip(ids, np.asarray(joints, np.float64)):
            if int(t) in self.tracks:
                self.tracks[int(t)]["joints"] = j.copy()
                self.tracks[int(t)]["root"] = j[0].copy()
