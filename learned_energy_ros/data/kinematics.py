"""Kinematic trees shared by the BVH and ASF/AMC readers: Euler angles and forward kinematics.

Both file formats are parsed into one :class:`Motion` (a joint tree plus per-frame
local rotations and translations, in the file's own length units and axes), so
forward kinematics, unit handling and the mapping to named keypoints exist once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["MocapError", "Motion", "euler_to_matrix", "forward_kinematics", "rest_pose"]


class MocapError(ValueError):
    """A motion-capture file could not be read; the message names the file and, where known, the line."""

    def __init__(self, path, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line


def axis_rotation(axis: str, angles_rad: np.ndarray) -> np.ndarray:
    """Return rotation matrices (..., 3, 3) about ``axis`` ('x', 'y' or 'z') by ``angles_rad`` (...)."""
    c, s = np.cos(angles_rad), np.sin(angles_rad)
    one, zero = np.ones_like(c), np.zeros_like(c)
    rows = {
        "x": ((one, zero, zero), (zero, c, -s), (zero, s, c)),
        "y": ((c, zero, s), (zero, one, zero), (-s, zero, c)),
        "z": ((c, -s, zero), (s, c, zero), (zero, zero, one)),
    }[axis.lower()]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def euler_to_matrix(angles_rad: np.ndarray, axes: str) -> np.ndarray:
    """Compose per-axis rotations as ``R(axes[0]) @ R(axes[1]) @ ...`` (the BVH convention).

    Args:
        angles_rad: (..., K) angles in radians, one per letter of ``axes``.
        axes: K axis letters, e.g. ``"zyx"``; the first letter is the outermost factor.
    Returns:
        (..., 3, 3) rotation matrices.
    """
    angles_rad = np.asarray(angles_rad, dtype=np.float64)
    assert angles_rad.shape[-1] == len(axes), (angles_rad.shape, axes)
    out = np.broadcast_to(np.eye(3), angles_rad.shape[:-1] + (3, 3)).copy()
    for k, axis in enumerate(axes):
        out = out @ axis_rotation(axis, angles_rad[..., k])
    return out


@dataclass
class Motion:
    """A joint tree and its animation, in the source file's units and axes.

    Joint ``j`` sits at ``position[parent] + G[parent] @ translations[:, j]`` and has the
    global rotation ``G[j] = G[parent] @ rotations[:, j]``; the root's translation is
    absolute. Parents always precede their children.

    Args:
        names: joint names (J,).
        parents: (J,) parent index, -1 for the root.
        offsets: (J, 3) rest translation of each joint from its parent.
        end_sites: joint index -> (3,) offset of that joint's (first) end site / bone end.
        rotations: (F, J, 3, 3) local rotations.
        translations: (F, J, 3) local translations (the offsets unless the file animates them).
        frame_time: seconds per frame.
        lines: (F,) line number of each frame in the source file (for error messages).
        unit_hint: meters per unit declared by the file itself (ASF ``:units length``), if any.
    """

    names: list[str]
    parents: np.ndarray
    offsets: np.ndarray
    end_sites: dict[int, np.ndarray]
    rotations: np.ndarray
    translations: np.ndarray
    frame_time: float
    lines: np.ndarray = field(default=None)
    unit_hint: float | None = None

    def __post_init__(self) -> None:
        num = len(self.names)
        assert self.parents.shape == (num,), self.parents.shape
        assert self.offsets.shape == (num, 3), self.offsets.shape
        assert self.rotations.shape[1:] == (num, 3, 3), self.rotations.shape
        assert self.translations.shape == self.rotations.shape[:2] + (3,), self.translations.shape
        assert all(self.parents[j] < j for j in range(num)), "parents must precede children"

    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])

    def index(self, name: str) -> int:
        """Return the index of joint ``name`` (ValueError if absent)."""
        return self.names.index(name)

    def select_frames(self, frames: np.ndarray) -> "Motion":
        """Return a copy restricted to the frame indices ``frames``."""
        lines = None if self.lines is None else self.lines[frames]
        return Motion(self.names, self.parents, self.offsets, self.end_sites, self.rotations[frames],
                      self.translations[frames], self.frame_time, lines, self.unit_hint)


def forward_kinematics(motion: Motion) -> tuple[np.ndarray, np.ndarray, dict[int, np.ndarray]]:
    """Compute global joint positions and rotations.

    Returns:
        ``(positions (F, J, 3), rotations (F, J, 3, 3), end_sites {joint: (F, 3)})`` in source units.
    """
    rot_local, trans_local = motion.rotations, motion.translations
    positions = np.empty(trans_local.shape, dtype=np.float64)  # (F, J, 3)
    rotations = np.empty(rot_local.shape, dtype=np.float64)  # (F, J, 3, 3)
    for j, parent in enumerate(motion.parents):
        if parent < 0:
            positions[:, j] = trans_local[:, j]
            rotations[:, j] = rot_local[:, j]
            continue
        g_parent = rotations[:, parent]
        positions[:, j] = positions[:, parent] + np.einsum("fab,fb->fa", g_parent, trans_local[:, j])
        rotations[:, j] = g_parent @ rot_local[:, j]
    ends = {j: positions[:, j] + rotations[:, j] @ off for j, off in motion.end_sites.items()}
    return positions, rotations, ends


def rest_pose(motion: Motion) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Return joint positions (J, 3) and end sites {joint: (3,)} with every rotation the identity."""
    positions = np.zeros((len(motion.names), 3))
    for j, parent in enumerate(motion.parents):
        if parent >= 0:
            positions[j] = positions[parent] + motion.offsets[j]
    ends = {j: positions[j] + off for j, off in motion.end_sites.items()}
    return positions, ends
