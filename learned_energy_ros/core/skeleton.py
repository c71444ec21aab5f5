"""Skeleton layouts as data: joint names, bones, left/right symmetry.

A layout is a tuple of lower_snake_case anatomical joint names plus the bones
that connect them. Joints with the same name are the same anatomical point in
every layout, so converting between a detector's layout and the 3D training
skeleton is a name lookup, never an ``if`` branch. Adding a detector layout is
adding one ``register_skeleton`` call (or one entry to ``_LAYOUTS``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Skeleton",
    "SkeletonError",
    "get_skeleton",
    "register_skeleton",
    "skeleton_names",
    "joint_mapping",
    "remap_joints",
    "TRAINING_SKELETON",
    "MOCAP_SKELETON",
]


class SkeletonError(KeyError):
    """Raised for an unknown layout name or inconsistent layout definition."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Skeleton:
    """A named joint layout.

    Args:
        name: layout name, e.g. ``"coco17"``.
        joints: joint names in the layout's index order.
        bones: pairs of joint names drawn as line segments.
        root: name of the joint treated as the root (for root-relative metrics).
    """

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[str, str], ...]
    root: str | None = None
    _index: dict = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(set(self.joints)) != len(self.joints):
            raise SkeletonError(f"layout {self.name!r} repeats a joint name")
        index = {name: i for i, name in enumerate(self.joints)}
        for a, b in self.bones:
            if a not in index or b not in index:
                raise SkeletonError(f"layout {self.name!r}: bone ({a}, {b}) names an unknown joint")
        if self.root is not None and self.root not in index:
            raise SkeletonError(f"layout {self.name!r}: root {self.root!r} is not a joint")
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.joints)

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        """Return the index of ``joint`` in this layout."""
        try:
            return self._index[joint]
        except KeyError:
            raise SkeletonError(f"layout {self.name!r} has no joint {joint!r}") from None

    def has(self, joint: str) -> bool:
        return joint in self._index

    @property
    def bone_indices(self) -> np.ndarray:
        """Bones as an int array (B, 2) of joint indices."""
        return np.array([(self._index[a], self._index[b]) for a, b in self.bones], dtype=np.int64).reshape(-1, 2)

    @property
    def root_index(self) -> int:
        return self.index(self.root) if self.root is not None else 0

    @property
    def flip_permutation(self) -> np.ndarray:
        """Index permutation that swaps every ``left_*`` joint with its ``right_*`` twin."""
        perm = np.arange(len(self.joints))
        for i, name in enumerate(self.joints):
            for a, b in (("left_", "right_"), ("right_", "left_")):
                if name.startswith(a):
                    twin = b + name[len(a):]
                    if twin in self._index:
                        perm[i] = self._index[twin]
        return perm


def _chain(*names: str) -> tuple[tuple[str, str], ...]:
    return tuple(zip(names[:-1], names[1:]))


def _limbs(prefix: str) -> tuple[tuple[str, str], ...]:
    return _chain(f"{prefix}shoulder", f"{prefix}elbow", f"{prefix}wrist") + _chain(
        f"{prefix}hip", f"{prefix}knee", f"{prefix}ankle"
    )


_FACE = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
_FACE_BONES = _chain("left_ear", "left_eye", "nose", "right_eye", "right_ear")
_LIMBS = _limbs("left_") + _limbs("right_")

_H36M17 = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "spine", "thorax", "neck", "head", "left_shoulder", "left_elbow", "left_wrist",
    "right_shoulder", "right_elbow", "right_wrist",
)
_H36M_BONES = (
    ("pelvis", "left_hip"), ("pelvis", "right_hip"), ("pelvis", "spine"), ("spine", "thorax"),
    ("thorax", "neck"), ("neck", "head"), ("thorax", "left_shoulder"), ("thorax", "right_shoulder"),
) + _LIMBS

_COCO17 = _FACE + (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
_TORSO_BOX = (
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
)

# OpenPose's "Neck" is the midpoint between the shoulders, i.e. the base of the
# neck: the same point the 3D skeleton calls ``thorax``.
_COCO18 = (
    "nose", "thorax", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
    "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
)
# hri_msgs/Skeleton2D (ROS4HRI, REP-155): OpenPose COCO-18, but with the eyes and ears
# ordered left before right (its constants LEFT_EYE=14 ... RIGHT_EAR=17).
_HRI18 = _COCO18[:14] + ("left_eye", "right_eye", "left_ear", "right_ear")
_OPENPOSE_TRUNK = (
    ("nose", "thorax"), ("thorax", "left_shoulder"), ("thorax", "right_shoulder"),
    ("thorax", "left_hip"), ("thorax", "right_hip"),
)
_BODY25 = (
    "nose", "thorax", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
    "left_elbow", "left_wrist", "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip",
    "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel",
)
_FEET = tuple(
    bone
    for side in ("left_", "right_")
    for bone in ((f"{side}ankle", f"{side}big_toe"), (f"{side}ankle", f"{side}small_toe"), (f"{side}ankle", f"{side}heel"))
)
_MEDIAPIPE33 = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_big_toe", "right_big_toe",
)
_HANDS = tuple(
    (f"{side}wrist", f"{side}{finger}") for side in ("left_", "right_") for finger in ("pinky", "index", "thumb")
)
# Every joint the motion-capture importer computes: the 3D training skeleton
# plus the face and toe points detectors report, so any 2D layout can be
# synthesised from mocap by name.
_MOCAP = _H36M17 + ("head_top", "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_big_toe", "right_big_toe", "left_heel", "right_heel")

_LAYOUTS: dict[str, Skeleton] = {}


def register_skeleton(name: str, joints, bones, root: str | None = None) -> Skeleton:
    """Add (or replace) a named layout and return it."""
    skeleton = Skeleton(name=name, joints=tuple(joints), bones=tuple(tuple(b) for b in bones), root=root)
    _LAYOUTS[name] = skeleton
    return skeleton


register_skeleton("h36m17", _H36M17, _H36M_BONES, root="pelvis")
register_skeleton("coco17", _COCO17, _FACE_BONES + _LIMBS + _TORSO_BOX)
register_skeleton("coco18", _COCO18, _LIMBS + _OPENPOSE_TRUNK + _chain("right_ear", "right_eye", "nose", "left_eye", "left_ear"))
register_skeleton("hri18", _HRI18, _LIMBS + _OPENPOSE_TRUNK + _chain("right_ear", "right_eye", "nose", "left_eye", "left_ear"))
register_skeleton("body25", _BODY25, _LIMBS + _OPENPOSE_TRUNK + _chain("right_ear", "right_eye", "nose", "left_eye", "left_ear") + (("pelvis", "left_hip"), ("pelvis", "right_hip")) + _FEET, root="pelvis")
register_skeleton(
    "mediapipe33",
    _MEDIAPIPE33,
    _LIMBS + _TORSO_BOX + _HANDS + _chain("left_ear", "left_eye_outer", "left_eye", "left_eye_inner", "nose", "right_eye_inner", "right_eye", "right_eye_outer", "right_ear") + (("mouth_left", "mouth_right"),)
    + tuple(b for s in ("left_", "right_") for b in ((f"{s}ankle", f"{s}heel"), (f"{s}heel", f"{s}big_toe"), (f"{s}ankle", f"{s}big_toe"))),
)
# The ``standard-13`` evaluation input: the pelvis (hip midpoint) and the 12 limb joints, no face or torso.
register_skeleton("body13", ("pelvis",) + _COCO17[5:], (("pelvis", "left_hip"), ("pelvis", "right_hip")) + _LIMBS + _TORSO_BOX[:2],
                  root="pelvis")
register_skeleton(
    "mocap27",
    _MOCAP,
    _H36M_BONES + (("head", "head_top"),) + _FACE_BONES + tuple(b for s in ("left_", "right_") for b in ((f"{s}ankle", f"{s}big_toe"), (f"{s}ankle", f"{s}heel"))),
    root="pelvis",
)

#: Layout of the 3D skeletons the lifter outputs (Human3.6M-like, 17 joints).
TRAINING_SKELETON = "h36m17"
#: Layout the motion-capture importer produces (training skeleton + face/feet points).
MOCAP_SKELETON = "mocap27"


def skeleton_names() -> list[str]:
    """Return the registered layout names."""
    return sorted(_LAYOUTS)


def get_skeleton(skeleton: str | Skeleton) -> Skeleton:
    """Return the layout called ``skeleton`` (a ``Skeleton`` passes through)."""
    if isinstance(skeleton, Skeleton):
        return skeleton
    try:
        return _LAYOUTS[skeleton]
    except KeyError:
        raise SkeletonError(f"unknown skeleton layout {skeleton!r}; known: {', '.join(skeleton_names())}") from None


def joint_mapping(source: str | Skeleton, target: str | Skeleton) -> np.ndarray:
    """Map target joints to source indices by name.

    Returns:
        int array (J_target,): for each target joint, the index of the joint with
        the same name in ``source``, or -1 where the source lacks it.
    """
    src, dst = get_skeleton(source), get_skeleton(target)
    return np.array([src._index.get(name, -1) for name in dst.joints], dtype=np.int64)


def remap_joints(values, scores, source: str | Skeleton, target: str | Skeleton):
    """Re-index per-joint arrays from one layout to another by joint name.

    Args:
        values: array (..., J_source, C).
        scores: array (..., J_source) of confidences; joints the source lacks get score 0.
    Returns:
        ``(values, scores)`` shaped (..., J_target, C) and (..., J_target).
    """
    mapping = joint_mapping(source, target)
    values = np.asarray(values)
    scores = np.asarray(scores)
    if values.shape[-2] != len(get_skeleton(source)) or scores.shape[-1] != values.shape[-2]:
        raise SkeletonError(
            f"expected {len(get_skeleton(source))} joints for layout {get_skeleton(source).name!r}, "
            f"got values {values.shape} and scores {scores.shape}"
        )
    safe = np.where(mapping >= 0, mapping, 0)
    out_values = np.take(values, safe, axis=-2)
    out_scores = np.take(scores, safe, axis=-1) * (mapping >= 0)
    out_values = np.where((mapping >= 0)[..., None], out_values, 0.0)
    return out_values, out_scores
