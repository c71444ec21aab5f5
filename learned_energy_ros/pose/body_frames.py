"""REP-155 body frames of lifted skeletons (ROS-free): where each person is, which way they face.

Per person, the body frame has its origin at the hip midpoint, x forward (the way the
chest faces), y to the person's left and z up along the spine, as REP-155 and the
ROS4HRI human model (``human_description``) define ``body_<id>``. Each joint then gets
a frame of its own, parented to the body frame and named ``<frame stem>_<id>``; the
stems are REP-155's where it names that joint (``l_wrist``, ``torso``, ...) and the
joint's own name otherwise. A 3D keypoint has no orientation, so joint frames carry
the body's orientation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learned_energy_ros.core.rotations import rotation_to_quaternion
from learned_energy_ros.core.skeleton import get_skeleton

__all__ = ["REP155_FRAME_STEMS", "BodyFrames", "body_frames", "rotation_to_quaternion", "frame_stems"]

#: Joint name -> REP-155 frame stem (``<stem>_<body id>``). ``waist`` sits at the body origin, like
#: the pelvis (hip midpoint); ``torso`` is the top of the trunk between the shoulders (our thorax).
#: Joints REP-155 does not name keep their own name (``spine``, ``neck``, ...).
REP155_FRAME_STEMS = {
    "pelvis": "waist", "thorax": "torso", "head": "head",
    "left_shoulder": "l_shoulder", "left_elbow": "l_elbow", "left_wrist": "l_wrist",
    "right_shoulder": "r_shoulder", "right_elbow": "r_elbow", "right_wrist": "r_wrist",
    "left_hip": "l_hip", "left_knee": "l_knee", "left_ankle": "l_ankle",
    "right_hip": "r_hip", "right_knee": "r_knee", "right_ankle": "r_ankle",
}

# Joints that span the body axes: left-right pairs, and the top of the trunk (first present wins).
_LEFT_RIGHT = (("left_hip", "right_hip"), ("left_shoulder", "right_shoulder"))
_TRUNK_TOP = ("thorax", "neck", "head")


@dataclass
class BodyFrames:
    """Body frames of N people, all in the camera optical frame.

    Attributes:
        origins: (N, 3) hip midpoints (m).
        rotations: (N, 3, 3) columns = the body's x (forward), y (left), z (up) axes.
        quaternions: (N, 4) the same rotations as (x, y, z, w).
        local: (N, K, 3) every joint in its body frame (m).
        stems: (K,) the joints' frame stems (``REP155_FRAME_STEMS`` or the joint name).
    """

    origins: np.ndarray
    rotations: np.ndarray
    quaternions: np.ndarray
    local: np.ndarray
    stems: tuple


def frame_stems(skeleton) -> tuple:
    """The joint frame stem of every joint of ``skeleton`` (REP-155 name where there is one)."""
    return tuple(REP155_FRAME_STEMS.get(name, name) for name in get_skeleton(skeleton).joints)


def _normalized(v: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Unit vectors of (N, 3) ``v``; rows too short to have a direction get ``fallback`` (3,)."""
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    ok = norm > 1e-9
    return np.where(ok, v / np.where(ok, norm, 1.0), fallback)


def body_frames(joints, skeleton) -> BodyFrames:
    """Compute each person's body frame and the joints in it.

    Args:
        joints: (N, K, 3) metres, camera optical frame (x right, y down, z forward), in ``skeleton``.
        skeleton: layout name or ``Skeleton``; needs the hips and one of thorax/neck/head.
    Returns:
        ``BodyFrames``.
    """
    layout = get_skeleton(skeleton)
    joints = np.asarray(joints, dtype=np.float64)  # (N, K, 3)
    assert joints.ndim == 3 and joints.shape[1:] == (len(layout), 3), joints.shape
    at = lambda name: joints[:, layout.index(name)]  # noqa: E731  (N, 3)
    origin = 0.5 * (at("left_hip") + at("right_hip"))  # (N, 3)
    top = next(name for name in _TRUNK_TOP if layout.has(name))
    up = _normalized(at(top) - origin, np.array([0.0, -1.0, 0.0]))  # optical "up" is -y
    left = sum(at(a) - at(b) for a, b in _LEFT_RIGHT if layout.has(a) and layout.has(b))  # (N, 3)
    left = left - np.sum(left * up, axis=-1, keepdims=True) * up  # orthogonal to up
    left = _normalized(left, np.array([1.0, 0.0, 0.0]))  # facing the camera, the person's left is image right
    forward = np.cross(left, up)  # x = y cross z
    rotations = np.stack([forward, left, up], axis=-1)  # (N, 3, 3) columns x, y, z
    local = np.einsum("nji,nkj->nki", rotations, joints - origin[:, None])  # R^T (p - o)
    return BodyFrames(origin, rotations, rotation_to_quaternion(rotations), local, frame_stems(layout))
