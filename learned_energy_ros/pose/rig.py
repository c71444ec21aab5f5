"""Camera poses in a common frame (a rig): from a YAML file or from any source of transforms (tf2).

A pose maps points of a camera's *optical* frame (REP-103 optical: x right, y down, z forward) into the
common frame: ``p_common = rotation @ p_camera + translation``, i.e. the transform tf2 returns for
``lookup_transform(common_frame, camera_frame)``; ``translation`` is the optical centre in the common frame.

The YAML file::

    frame_id: world                 # the common frame: fused skeletons are published in it
    cameras:
      cam0:                         # a name of the node's ``cameras`` list
        translation: [0.0, -4.0, 1.5]           # optical centre (m) in frame_id
        rotation: [-0.7071, 0.0, 0.0, 0.7071]   # optical frame orientation, quaternion x, y, z, w
      cam1:
        translation: [4.0, 0.0, 1.5]
        rotation_matrix: [[0, 0, -1], [1, 0, 0], [0, -1, 0]]  # or a 3x3 matrix (columns: optical axes)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from learned_energy_ros.core.rotations import quaternion_to_matrix

__all__ = ["RigError", "CameraPose", "Rig", "load_rig", "rig_from_dict"]

# Tolerances of the checks: a unit quaternion or a rotation matrix read from a file with 4-5 decimals passes.
_UNIT_TOL = 1e-3
_ORTHO_TOL = 1e-3


class RigError(ValueError):
    """A camera rig (extrinsics) that cannot be used: the message names the file, camera and key."""


@dataclass(frozen=True)
class CameraPose:
    """Pose of one camera's optical frame in the common frame: ``p_common = rotation @ p_cam + translation``."""

    rotation: np.ndarray  # (3, 3) proper rotation
    translation: np.ndarray  # (3,) optical centre in the common frame (m)

    @classmethod
    def identity(cls) -> "CameraPose":
        return cls(np.eye(3), np.zeros(3))

    @classmethod
    def look_at(cls, eye, target, up=(0.0, 0.0, 1.0)) -> "CameraPose":
        """A camera at ``eye`` whose optical axis points at ``target`` (common frame, ``up`` = its up axis)."""
        eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
        forward = (target - eye) / np.linalg.norm(target - eye)
        right = np.cross(forward, up)
        if np.linalg.norm(right) < 1e-9:
            raise RigError("look_at: the optical axis is parallel to 'up'")
        right /= np.linalg.norm(right)
        return cls(np.stack([right, np.cross(forward, right), forward], 1), eye)  # columns: x right, y down, z fwd

    def to_common(self, points) -> np.ndarray:
        """Camera-frame points (..., 3) -> common frame."""
        return np.asarray(points, dtype=np.float64) @ self.rotation.T + self.translation

    def to_camera(self, points) -> np.ndarray:
        """Common-frame points (..., 3) -> this camera's optical frame."""
        return (np.asarray(points, dtype=np.float64) - self.translation) @ self.rotation

    def perturbed(self, rotation_deg: float = 0.0, shift_m: float = 0.0, axis=(0.0, 1.0, 0.0),
                  direction=(1.0, 0.0, 0.0)) -> "CameraPose":
        """This pose rotated by ``rotation_deg`` about ``axis`` (camera frame) and moved ``shift_m`` along
        ``direction`` (common frame): a wrong calibration, for tests and benchmarks."""
        a = np.asarray(axis, dtype=np.float64)
        a = a / np.linalg.norm(a)
        half = math.radians(rotation_deg) / 2
        turn = quaternion_to_matrix([*(a * math.sin(half)), math.cos(half)])
        d = np.asarray(direction, dtype=np.float64)
        return CameraPose(self.rotation @ turn, self.translation + shift_m * d / np.linalg.norm(d))


@dataclass(frozen=True)
class Rig:
    """Named camera poses in one common frame ``frame_id``."""

    frame_id: str
    poses: dict

    def pose(self, name: str) -> CameraPose:
        """The pose of camera ``name``; RigError naming the known cameras when it has none."""
        if name not in self.poses:
            raise RigError(f"no pose for camera {name!r} in the rig (frame {self.frame_id!r}); it has "
                           f"{sorted(self.poses)}")
        return self.poses[name]

    def require(self, names) -> None:
        """Raise RigError unless every camera of ``names`` has a pose."""
        missing = [n for n in names if n not in self.poses]
        if missing:
            raise RigError(f"cameras {missing} have no pose in the rig (frame {self.frame_id!r}, which has "
                           f"{sorted(self.poses)})")


def _vector(value, n: int, where: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise RigError(f"{where} must be {n} numbers, got {value!r}") from None
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise RigError(f"{where} must be {n} finite numbers, got {value!r}")
    return arr


def _rotation(entry: dict, where: str) -> np.ndarray:
    given = [k for k in ("rotation", "rotation_matrix") if k in entry]
    if len(given) != 1:
        raise RigError(f"{where}: give exactly one of 'rotation' (quaternion x, y, z, w) or 'rotation_matrix' "
                       f"(3x3), got {given or 'neither'}")
    if given[0] == "rotation":
        q = _vector(entry["rotation"], 4, f"{where}.rotation")
        norm = float(np.linalg.norm(q))
        if abs(norm - 1.0) > _UNIT_TOL:
            raise RigError(f"{where}.rotation is not a unit quaternion (norm {norm:.6f}); order is x, y, z, w")
        return quaternion_to_matrix(q / norm)
    try:
        R = np.asarray(entry["rotation_matrix"], dtype=np.float64)
    except (TypeError, ValueError):
        raise RigError(f"{where}.rotation_matrix must be 3 rows of 3 numbers") from None
    if R.shape != (3, 3) or not np.all(np.isfinite(R)):
        raise RigError(f"{where}.rotation_matrix must be 3 rows of 3 finite numbers, got shape {R.shape}")
    if np.abs(R @ R.T - np.eye(3)).max() > _ORTHO_TOL or np.linalg.det(R) < 0:
        raise RigError(f"{where}.rotation_matrix is not a rotation (orthonormal, det +1)")
    U, _, Vt = np.linalg.svd(R)  # the nearest exact rotation (file values have few decimals)
    return U @ Vt


def rig_from_dict(data, source: str = "rig") -> Rig:
    """Build a ``Rig`` from the parsed YAML mapping (see the module docstring).

    Raises:
        RigError: a missing or unknown key, a non-finite number, a non-unit quaternion, a matrix that is no rotation.
    """
    if not isinstance(data, dict):
        raise RigError(f"{source}: expected a mapping with 'frame_id' and 'cameras', got {type(data).__name__}")
    unknown = set(data) - {"frame_id", "cameras"}
    if unknown:
        raise RigError(f"{source}: unknown keys {sorted(unknown)} (expected 'frame_id', 'cameras')")
    frame = data.get("frame_id")
    if not isinstance(frame, str) or not frame.strip():
        raise RigError(f"{source}: 'frame_id' (the common frame, e.g. world) must be a non-empty string")
    cameras = data.get("cameras")
    if not isinstance(cameras, dict) or not cameras:
        raise RigError(f"{source}: 'cameras' must map camera names to poses, got {cameras!r}")
    poses = {}
    for name, entry in cameras.items():
        where = f"{source}: cameras.{name}"
        if not isinstance(entry, dict):
            raise RigError(f"{where} must be a mapping with 'translation' and 'rotation'")
        extra = set(entry) - {"translation", "rotation", "rotation_matrix"}
        if extra:
            raise RigError(f"{where}: unknown keys {sorted(extra)} (expected translation, rotation or rotation_matrix)")
        if "translation" not in entry:
            raise RigError(f"{where}: 'translation' (optical centre in {frame}, m) is missing")
        poses[str(name)] = CameraPose(_rotation(entry, where), _vector(entry["translation"], 3, f"{where}.translation"))
    return Rig(frame.strip(), poses)


def load_rig(path) -> Rig:
    """Read a rig YAML file (see the module docstring). Raises RigError with the file name on any problem."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise RigError(f"extrinsics file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise RigError(f"{path}: not valid YAML ({err})") from None
    return rig_from_dict(data, str(path))
