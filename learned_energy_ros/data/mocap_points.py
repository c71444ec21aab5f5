"""Turn a source :class:`~.kinematics.Motion` into ``mocap27`` keypoints in meters, world +Z up.

Joint correspondences come from the naming tables in :mod:`.mocap_names`; points the
source skeleton lacks (face, heels, sometimes toes / head top) are placed at fixed
anatomical offsets (``FACE_OFFSETS``, ``FOOT_OFFSETS``) in the frame of the head or
foot joint. That frame is the body frame of the rest pose (all rotations identity:
forward = left x up, left = left hip - right hip, up = head - pelvis) carried along by
the joint's global rotation, so it needs no assumption about where the rest pose faces.
"""
from __future__ import annotations

import logging
import math

import numpy as np

from ..core.skeleton import MOCAP_SKELETON, get_skeleton
from .kinematics import MocapError, Motion, forward_kinematics, rest_pose
from .mocap_names import CMU_UNIT, CONVENTIONS, FACE_OFFSETS, FOOT_OFFSETS

__all__ = ["UNIT_NAMES", "match_convention", "resolve_units", "motion_to_mocap27", "yup_to_zup"]

logger = logging.getLogger(__name__)

#: Accepted ``units`` strings (meters per file unit).
UNIT_NAMES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu": CMU_UNIT}
#: A plausible rest-pose joint extent (lowest to highest point along Y) in meters.
PLAUSIBLE_EXTENT_M = (0.9, 2.4)
#: Typical adult joint extent the unit heuristic aims for.
TYPICAL_EXTENT_M = 1.6


def match_convention(names) -> str | None:
    """Return the first naming convention whose ``detect`` joints are all in ``names``, else None."""
    present = set(names)
    for key, conv in CONVENTIONS.items():
        if all(name in present for name in conv["detect"]):
            return key
    return None


def _rest_extent(motion: Motion) -> float:
    positions, ends = rest_pose(motion)
    heights = np.concatenate([positions[:, 1], [e[1] for e in ends.values()]])
    return float(heights.max() - heights.min())


def resolve_units(motion: Motion, convention: str, units, path="<motion>") -> float:
    """Return meters per file unit.

    Rule: an explicit ``units`` (a name in ``UNIT_NAMES`` or meters per unit) wins.
    Otherwise the unit the file declares (ASF ``:units length L``: 1/L inch) or else the
    naming convention's unit is used (cgspeed mb2: CMU units of 1/0.45 inch; Daz: cm) provided the rest-pose height (Y extent of joints and end
    sites) then lies in ``PLAUSIBLE_EXTENT_M``; failing that (or with no convention
    unit) the unit among m / cm / mm / inch / CMU that makes the extent closest to
    1.6 m (in log scale) is chosen and logged.
    """
    if isinstance(units, str):
        if units.lower() not in UNIT_NAMES:
            raise MocapError(path, f"unknown units {units!r}; use one of {sorted(UNIT_NAMES)} or meters per unit")
        return UNIT_NAMES[units.lower()]
    if units is not None:
        if not (isinstance(units, (int, float)) and math.isfinite(units) and units > 0):
            raise MocapError(path, f"units must be a positive number of meters per unit, got {units!r}")
        return float(units)
    extent = _rest_extent(motion)
    if extent <= 0:
        raise MocapError(path, "rest pose has zero height; cannot infer units")
    scale = motion.unit_hint if motion.unit_hint is not None else CONVENTIONS[convention]["units"]
    if scale is not None and PLAUSIBLE_EXTENT_M[0] <= extent * scale <= PLAUSIBLE_EXTENT_M[1]:
        return scale
    best = min(UNIT_NAMES, key=lambda k: abs(math.log(extent * UNIT_NAMES[k] / TYPICAL_EXTENT_M)))
    logger.info("%s: rest height %.3g file units -> assuming %s (%.3f m)", path, extent, best, extent * UNIT_NAMES[best])
    return UNIT_NAMES[best]


def _spec_joint(spec) -> str:
    """Return the first source joint a point spec names (used for its orientation)."""
    if isinstance(spec, dict):
        return _spec_joint(next(iter(spec.values()))[0])
    return spec.split(":")[0]


def _resolve(spec, motion: Motion, positions, ends):
    """Evaluate a point spec to (F, 3) source-unit positions, or None if the file lacks it."""
    if isinstance(spec, dict):
        (kind, parts), = spec.items()
        values = [_resolve(p, motion, positions, ends) for p in parts]
        if kind == "first":
            return next((v for v in values if v is not None), None)
        return None if any(v is None for v in values) else sum(values) / len(values)
    name, _, end = spec.partition(":")
    if name not in motion.names:
        return None
    j = motion.index(name)
    if end:
        return ends.get(j)
    return positions[:, j]


def _body_frame(motion: Motion, table: dict, path) -> np.ndarray:
    """Rest-pose body frame (3, 3), columns (forward, left, up), in source axes."""
    positions, ends = rest_pose(motion)
    rest = lambda key: _resolve(table[key], motion, positions[None], {j: e[None] for j, e in ends.items()})[0]  # noqa: E731
    up = rest("head") - rest("pelvis")
    left = rest("left_hip") - rest("right_hip")
    up = up / max(np.linalg.norm(up), 1e-12)
    left = left - up * (left @ up)
    if np.linalg.norm(up) < 0.5 or np.linalg.norm(left) < 1e-9:
        raise MocapError(path, "degenerate rest pose: cannot tell up / left (head on pelvis or hips coincide)")
    left = left / np.linalg.norm(left)
    return np.stack([np.cross(left, up), left, up], axis=1)


def _approximate(name: str, table: dict, motion: Motion, positions, rotations, frame, scale) -> np.ndarray:
    """Place a point the source lacks at its anatomical offset from the head or ankle."""
    if name in FACE_OFFSETS:
        anchor, offset = "head", FACE_OFFSETS[name]
    else:
        side, _, point = name.partition("_")
        anchor, offset = f"{side}_ankle", FOOT_OFFSETS[point]
    j = motion.index(_spec_joint(table[anchor]))
    local = frame @ np.asarray(offset) / scale  # (3,) source units, rest axes
    return positions[:, j] + rotations[:, j] @ local


def yup_to_zup(points: np.ndarray) -> np.ndarray:
    """Map Y-up source axes to the project world: ``(x, y, z)_zup = (x, -z, y)_src``."""
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


def motion_to_mocap27(motion: Motion, convention: str, scale: float, path="<motion>") -> np.ndarray:
    """Compute ``mocap27`` keypoints for every frame of ``motion``.

    Args:
        motion: source motion (Y up).
        convention: key of ``CONVENTIONS`` naming the source joints.
        scale: meters per source unit.
        path: file name for error messages.
    Returns:
        (F, 27, 3) float64 positions in meters, world +Z up, ``get_skeleton("mocap27")`` order.
    """
    table = CONVENTIONS[convention]["joints"]
    positions, rotations, ends = forward_kinematics(motion)  # (F, J, 3), (F, J, 3, 3)
    frame = _body_frame(motion, table, path)
    joints = get_skeleton(MOCAP_SKELETON).joints
    out = np.empty((motion.num_frames, len(joints), 3))  # (F, 27, 3)
    for k, name in enumerate(joints):
        point = _resolve(table[name], motion, positions, ends) if name in table else None
        if point is None:
            if name not in FACE_OFFSETS and not name.endswith(("_heel", "_big_toe")):
                raise MocapError(path, f"convention {convention!r} gives no source for {name!r}")
            point = _approximate(name, table, motion, positions, rotations, frame, scale)
        out[:, k] = point
    return yup_to_zup(out * scale)
