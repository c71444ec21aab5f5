"""Body augmentation of ``mocap27`` training poses: mirroring, segment proportions and stature.

Eight motion-capture subjects are very little variety, and their joint-to-joint lengths are shorter than
the adult population's. ``BodyAugment`` re-grows each pose along the kinematic tree with per-segment length
factors (the same on both sides) and scales it to a stature drawn from an adult population prior, so that
the metric size the lifter learns is a deliberate prior (see ``docs/benchmarks/pose.md``, "Metric size").

Stature is estimated from four limb segments with the segment-length fractions of stature of Drillis &
Contini (as tabulated in D. A. Winter, *Biomechanics and Motor Control of Human Movement*, 4th ed., 2009,
fig. 4.1): thigh 0.245 H, shank 0.246 H, upper arm 0.186 H, forearm 0.146 H.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learned_energy_ros.core.skeleton import MOCAP_SKELETON, get_skeleton

__all__ = ["BodyAugment", "estimate_stature", "mirror_mocap", "STATURE_FRACTIONS", "ADULT_STATURE_M"]

#: Limb segments and their length as a fraction of stature (Drillis & Contini, in Winter 2009).
STATURE_FRACTIONS = {"thigh": 0.245, "shank": 0.246, "upper_arm": 0.186, "forearm": 0.146}
#: Adult stature prior (m): mean and std of men and women pooled, from the US NHANES 2015-2018 means
#: (men 175.4 cm, women 161.5 cm; within-sex SD ~7.3 cm; Fryar et al., Vital Health Stat 3(46), 2021).
ADULT_STATURE_M = (1.685, 0.10)

_SEGMENT_JOINTS = {"thigh": ("hip", "knee"), "shank": ("knee", "ankle"), "upper_arm": ("shoulder", "elbow"),
                   "forearm": ("elbow", "wrist")}
# Parent of every mocap27 joint (None = root) and the length group its bone belongs to.
_PARENT = {
    "pelvis": (None, None), "spine": ("pelvis", "torso"), "thorax": ("spine", "torso"), "neck": ("thorax", "neck"),
    "head": ("neck", "neck"), "head_top": ("head", "head"), "nose": ("head", "head"), "left_eye": ("head", "head"),
    "right_eye": ("head", "head"), "left_ear": ("head", "head"), "right_ear": ("head", "head"),
}
for _s in ("left_", "right_"):
    _PARENT.update({
        f"{_s}hip": ("pelvis", "hip_width"), f"{_s}knee": (f"{_s}hip", "thigh"), f"{_s}ankle": (f"{_s}knee", "shank"),
        f"{_s}heel": (f"{_s}ankle", "foot"), f"{_s}big_toe": (f"{_s}ankle", "foot"),
        f"{_s}shoulder": ("thorax", "shoulder_width"), f"{_s}elbow": (f"{_s}shoulder", "upper_arm"),
        f"{_s}wrist": (f"{_s}elbow", "forearm"),
    })
_GROUPS = ("torso", "neck", "head", "hip_width", "thigh", "shank", "foot", "shoulder_width", "upper_arm", "forearm")


def _indices():
    skel = get_skeleton(MOCAP_SKELETON)
    order = sorted(skel.joints, key=lambda n: _depth(n))
    parents = np.array([skel.index(_PARENT[n][0]) if _PARENT[n][0] else -1 for n in order])
    groups = np.array([_GROUPS.index(_PARENT[n][1]) if _PARENT[n][1] else 0 for n in order])
    return np.array([skel.index(n) for n in order]), parents, groups


def _depth(name: str) -> int:
    parent = _PARENT[name][0]
    return 0 if parent is None else 1 + _depth(parent)


def _mirror_index() -> np.ndarray:
    skel = get_skeleton(MOCAP_SKELETON)
    swap = lambda n: n.replace("left_", "@").replace("right_", "left_").replace("@", "right_")  # noqa: E731
    return np.array([skel.index(swap(n)) for n in skel.joints])


_ORDER, _PARENTS, _GROUP = _indices()
_FEET = [get_skeleton(MOCAP_SKELETON).index(f"{s}{p}") for s in ("left_", "right_") for p in ("ankle", "heel", "big_toe")]
_MIRROR = _mirror_index()


def estimate_stature(joints: np.ndarray) -> np.ndarray:
    """Stature (m) implied by the limb lengths of ``mocap27`` poses (..., 27, 3), averaged over both sides."""
    skel = get_skeleton(MOCAP_SKELETON)
    total, fraction = 0.0, 0.0
    for name, (a, b) in _SEGMENT_JOINTS.items():
        for s in ("left_", "right_"):
            total = total + np.linalg.norm(joints[..., skel.index(s + a), :] - joints[..., skel.index(s + b), :], axis=-1)
            fraction += STATURE_FRACTIONS[name]
    return total / fraction


def mirror_mocap(joints: np.ndarray) -> np.ndarray:
    """Mirror ``mocap27`` poses (..., 27, 3) across the world x = 0 plane, swapping left and right joints."""
    out = joints[..., _MIRROR, :].copy()
    out[..., 0] = -out[..., 0]
    return out


@dataclass
class BodyAugment:
    """Random mirroring, segment proportions and stature of ``mocap27`` poses.

    Attributes:
        mirror_prob: probability of a left-right mirror image.
        segment_std: std of the log length factor of each segment group (both sides share it).
        stature: (mean, std) in meters of the stature poses are scaled to; None keeps the subjects' sizes.
    """

    mirror_prob: float = 0.5
    segment_std: float = 0.06
    stature: tuple | None = ADULT_STATURE_M

    def __call__(self, joints: np.ndarray, rng: np.random.Generator, repeat: int = 1) -> np.ndarray:
        """Return augmented copies of poses (B, 27, 3) (meters, world +Z up); the pelvis stays in place.

        ``repeat``: consecutive poses that are one body (frames of one window) share one draw (B % repeat == 0).
        """
        P = np.asarray(joints, dtype=np.float64)
        assert P.ndim == 3 and P.shape[1:] == (27, 3) and P.shape[0] % repeat == 0, (P.shape, repeat)
        G = P.shape[0] // repeat
        per_pose = lambda a: np.repeat(a, repeat, axis=0)  # noqa: E731
        flip = per_pose(rng.random(G) < self.mirror_prob)
        if flip.any():
            P = P.copy()
            P[flip] = mirror_mocap(P[flip])
        factors = per_pose(np.exp(rng.normal(0.0, self.segment_std, size=(G, len(_GROUPS)))))  # (B, G)
        if self.stature is not None:
            target = np.clip(rng.normal(*self.stature, size=G), self.stature[0] - 3 * self.stature[1],
                             self.stature[0] + 3 * self.stature[1])
            first = _regrow(P[::repeat], factors[::repeat])
            factors = factors * per_pose(target / estimate_stature(first))[:, None]
        out = _regrow(P, factors)
        lift = P[::repeat, _FEET, 2].min(1) - out[::repeat, _FEET, 2].min(1)  # feet stay on the floor
        out[..., 2] += per_pose(lift)[:, None]
        return out


def _regrow(P: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Rebuild poses along the tree with every bone scaled by its group's factor (B, G)."""
    out = np.empty_like(P)
    for j, parent, group in zip(_ORDER, _PARENTS, _GROUP):
        if parent < 0:
            out[:, j] = P[:, j]
        else:
            out[:, j] = out[:, parent] + factors[:, group, None] * (P[:, j] - P[:, parent])
    return out
