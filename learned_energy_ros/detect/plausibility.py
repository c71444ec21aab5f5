"""Anatomical checks a person can judge on real images without 3D ground truth (numpy only).

For lifted ``h36m17`` skeletons (metres, camera optical frame): limb-to-torso
length ratios against the ranges of the training subjects, left/right
consistency with the 2D detection, head above the hips, and reprojection error
onto the detected 2D keypoints.
"""
from __future__ import annotations

import numpy as np

from learned_energy_ros.core.skeleton import get_skeleton, joint_mapping

__all__ = ["BONES", "TRAINING_RATIO_RANGES", "bone_ratios", "ratio_violations", "leg_seen", "facing_sign_3d",
           "facing_sign_2d", "head_above_hips_m", "reprojection_px"]

#: Named bones whose length is compared with the leg (hip -> knee -> ankle). Not the torso: the
#: training sets place ``spine``/``thorax`` differently (mb2 vs daz BVH), limbs and hips they agree on.
BONES = {
    "upper_arm": (("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow")),
    "forearm": (("left_elbow", "left_wrist"), ("right_elbow", "right_wrist")),
    "thigh": (("left_hip", "left_knee"), ("right_hip", "right_knee")),
    "shoulder_width": (("left_shoulder", "right_shoulder"),),
    "hip_width": (("left_hip", "right_hip"),),
}
_LEG = ((("left_hip", "left_knee"), ("left_knee", "left_ankle")), (("right_hip", "right_knee"), ("right_knee", "right_ankle")))

#: Min and max over the training subjects (CMU mocap ``train``, mb2 and daz skeletons) of each
#: subject's median bone/leg ratio; measured by ``benchmarks/real_plausibility.py --ranges`` (docs/benchmarks/real.md).
TRAINING_RATIO_RANGES = {
    "upper_arm": (0.343, 0.379), "forearm": (0.169, 0.288), "thigh": (0.448, 0.493),
    "shoulder_width": (0.279, 0.459), "hip_width": (0.180, 0.248),
}


def _get(joints: np.ndarray, name: str, layout="h36m17") -> np.ndarray:
    return joints[..., get_skeleton(layout).index(name), :]


def bone_ratios(joints: np.ndarray, layout: str = "h36m17") -> dict[str, np.ndarray]:
    """Each bone's length (left/right averaged) over the leg length (hip-knee-ankle, averaged), per skeleton.

    Args:
        joints: (..., K, 3) in ``layout``.
    Returns:
        ``{bone: (...)}`` ratios.
    """
    joints = np.asarray(joints, dtype=np.float64)
    length = lambda a, b: np.linalg.norm(_get(joints, a, layout) - _get(joints, b, layout), axis=-1)  # noqa: E731
    leg = np.mean([sum(length(a, b) for a, b in side) for side in _LEG], axis=0)
    out = {}
    for bone, pairs in BONES.items():
        out[bone] = np.mean([length(a, b) for a, b in pairs], axis=0) / np.maximum(leg, 1e-9)
    return out


def ratio_violations(joints: np.ndarray, tolerance: float = 0.1, ranges=None) -> dict[str, float]:
    """Bones of one skeleton (K, 3) whose ratio leaves the training range widened by ``tolerance`` (relative).

    Returns:
        ``{bone: ratio}`` of the violations (empty when plausible).
    """
    ranges = ranges or TRAINING_RATIO_RANGES
    ratios = bone_ratios(joints)
    return {b: float(r) for b, r in ratios.items()
            if not ranges[b][0] * (1 - tolerance) <= r <= ranges[b][1] * (1 + tolerance)}


def leg_seen(scores: np.ndarray, layout: str = "mediapipe33") -> bool:
    """Whether the detection saw a whole leg (hip, knee and ankle of one side, score > 0).

    The bone ratios are lengths over the leg: without a seen leg the reference is the lifter's guess, and a
    ratio says nothing about the person (e.g. a waist-up portrait), so it is not judged.
    """
    skeleton = get_skeleton(layout)
    return any(all(scores[skeleton.index(f"{side}_{j}")] > 0 for j in ("hip", "knee", "ankle")) for side in ("left", "right"))


def facing_sign_3d(joints: np.ndarray) -> float:
    """z component (optical frame) of the person's forward direction: < 0 = facing the camera.

    Forward = left x up, with left = left_shoulder - right_shoulder (the person's own left) and
    up = thorax - pelvis: a person facing the camera has left = +x, up = -y, forward = -z.
    """
    left = _get(joints, "left_shoulder") - _get(joints, "right_shoulder")
    up = _get(joints, "thorax") - _get(joints, "pelvis")
    return float(np.cross(left, up)[..., 2])


def facing_sign_2d(keypoints: np.ndarray, scores: np.ndarray, layout: str = "mediapipe33") -> float:
    """From the detection: < 0 when the person faces the camera (their left shoulder is on the image right)."""
    skeleton = get_skeleton(layout)
    left, right = skeleton.index("left_shoulder"), skeleton.index("right_shoulder")
    if scores[left] <= 0 or scores[right] <= 0:
        return 0.0
    return float(keypoints[right, 0] - keypoints[left, 0])


def head_above_hips_m(joints: np.ndarray) -> float:
    """How far the head is above the hip midpoint along the camera's up (-y), metres."""
    return float(_get(joints, "pelvis")[..., 1] - _get(joints, "head")[..., 1])


def reprojection_px(joints: np.ndarray, camera, keypoints: np.ndarray, scores: np.ndarray,
                    layout: str = "mediapipe33") -> float:
    """Mean pixel distance between the projected 3D joints and the detected 2D ones they share by name.

    Only joints visible in the detection (score > 0) count; NaN when none is shared.
    """
    mapping = joint_mapping(layout, "h36m17")  # (17,) index into the detection layout or -1
    shared = np.flatnonzero(mapping >= 0)
    shared = shared[scores[mapping[shared]] > 0]
    if shared.size == 0:
        return float("nan")
    projected = camera.project(np.asarray(joints, dtype=np.float64)[shared])  # (S, 2)
    return float(np.mean(np.linalg.norm(projected - keypoints[mapping[shared]], axis=-1)))
