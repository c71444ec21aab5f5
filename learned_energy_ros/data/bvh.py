"""Biovision BVH reader: HIERARCHY + MOTION into a :class:`~.kinematics.Motion`.

Conventions (the common BVH reading, checked on the CMU cgspeed releases):
rotation channels compose in the order listed, ``R = R(first) @ R(second) @ R(third)``,
each about the parent-aligned axes; a joint's global transform is
``parent @ translate(offset) @ R``; angles are degrees. Position channels *replace*
the matching component of the joint's OFFSET (for the usual root with a zero offset
that is the same as adding). Files are read with universal newlines (CRLF/LF mixes).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .kinematics import MocapError, Motion, euler_to_matrix

__all__ = ["read_bvh", "parse_bvh"]

logger = logging.getLogger(__name__)

_CHANNELS = {
    "xposition": ("pos", 0), "yposition": ("pos", 1), "zposition": ("pos", 2),
    "xrotation": ("rot", "x"), "yrotation": ("rot", "y"), "zrotation": ("rot", "z"),
}


class _Reader:
    """Line cursor over the file that skips blank lines and reports 1-based line numbers."""

    def __init__(self, path, lines: list[str]) -> None:
        self.path, self.lines, self.pos = path, lines, 0

    def error(self, message: str, line: int | None = None) -> MocapError:
        return MocapError(self.path, message, line if line is not None else self.pos)

    def next(self) -> list[str]:
        while self.pos < len(self.lines):
            self.pos += 1
            tokens = self.lines[self.pos - 1].split()
            if tokens:
                return tokens
        raise self.error("unexpected end of file", len(self.lines))

    def floats(self, tokens: list[str], count: int) -> np.ndarray:
        if len(tokens) != count:
            raise self.error(f"expected {count} numbers, got {len(tokens)}: {' '.join(tokens)!r}")
        try:
            values = np.array([float(t) for t in tokens])
        except ValueError:
            raise self.error(f"bad number in {' '.join(tokens)!r}") from None
        if not np.all(np.isfinite(values)):
            raise self.error(f"non-finite number in {' '.join(tokens)!r}")
        return values


def _parse_joint(reader: _Reader, name: str, parent: int, tree: dict) -> None:
    """Parse one ``{ ... }`` joint block whose ROOT/JOINT line was just read."""
    index = len(tree["names"])
    tree["names"].append(name)
    tree["parents"].append(parent)
    tree["channels"].append([])
    tree["offsets"].append(None)  # filled below; children are appended while parsing
    if reader.next() != ["{"]:
        raise reader.error(f"expected '{{' after joint {name!r}")
    offset = None
    while True:
        tokens = reader.next()
        key = tokens[0].upper()
        if key == "OFFSET":
            offset = reader.floats(tokens[1:], 3)
        elif key == "CHANNELS":
            _parse_channels(reader, tokens, index, tree)
        elif key == "JOINT":
            if len(tokens) < 2:
                raise reader.error("JOINT without a name")
            _parse_joint(reader, " ".join(tokens[1:]), index, tree)
        elif key == "END":
            _parse_end_site(reader, index, tree)
        elif key == "}":
            break
        else:
            raise reader.error(f"unexpected {' '.join(tokens)!r} in joint {name!r}")
    if offset is None:
        raise reader.error(f"joint {name!r} has no OFFSET")
    tree["offsets"][index] = offset


def _parse_channels(reader: _Reader, tokens: list[str], index: int, tree: dict) -> None:
    try:
        count = int(tokens[1])
    except (IndexError, ValueError):
        raise reader.error(f"bad CHANNELS line {' '.join(tokens)!r}") from None
    names = tokens[2:]
    if count != len(names):
        raise reader.error(f"CHANNELS says {count} channels but lists {len(names)}")
    for channel in names:
        if channel.lower() not in _CHANNELS:
            raise reader.error(f"unknown channel {channel!r}")
        tree["channels"][index].append((_CHANNELS[channel.lower()], tree["num_channels"]))
        tree["num_channels"] += 1


def _parse_end_site(reader: _Reader, index: int, tree: dict) -> None:
    if reader.next() != ["{"]:
        raise reader.error("expected '{' after End Site")
    tokens = reader.next()
    if tokens[0].upper() != "OFFSET":
        raise reader.error("expected OFFSET in End Site")
    offset = reader.floats(tokens[1:], 3)
    if reader.next() != ["}"]:
        raise reader.error("expected '}' closing End Site")
    tree["end_sites"].setdefault(index, offset)  # keep the first end site of a joint


def _parse_motion_header(reader: _Reader) -> tuple[int, float]:
    tokens = reader.next()
    if [t.upper() for t in tokens] != ["MOTION"]:
        raise reader.error(f"expected MOTION, got {' '.join(tokens)!r}")
    tokens = reader.next()
    try:
        assert tokens[0].upper() == "FRAMES:" and len(tokens) == 2
        num_frames = int(tokens[1])
    except (AssertionError, ValueError):
        raise reader.error(f"expected 'Frames: N', got {' '.join(tokens)!r}") from None
    tokens = reader.next()
    try:
        assert [t.upper() for t in tokens[:2]] == ["FRAME", "TIME:"] and len(tokens) == 3
        frame_time = float(tokens[2])
    except (AssertionError, ValueError):
        raise reader.error(f"expected 'Frame Time: T', got {' '.join(tokens)!r}") from None
    if num_frames < 1 or not np.isfinite(frame_time) or frame_time <= 0:
        raise reader.error(f"invalid frame count {num_frames} or frame time {frame_time}")
    return num_frames, frame_time


def _parse_frames(reader: _Reader, num_frames: int, num_channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Return frame values (F, C) and their 1-based line numbers (F,)."""
    rows, line_numbers = [], []
    for i in range(reader.pos, len(reader.lines)):
        if len(rows) == num_frames:
            break
        if reader.lines[i].strip():
            rows.append(reader.lines[i])
            line_numbers.append(i + 1)
    if len(rows) < num_frames:
        raise reader.error(f"truncated: header says {num_frames} frames, file has {len(rows)}", len(reader.lines))
    counts = np.fromiter((len(r.split()) for r in rows), dtype=np.int64, count=len(rows))
    bad = np.flatnonzero(counts != num_channels)
    if bad.size:
        raise reader.error(f"expected {num_channels} values, got {counts[bad[0]]}", line_numbers[bad[0]])
    try:
        values = np.array(" ".join(rows).split(), dtype=np.float64).reshape(num_frames, num_channels)
    except ValueError:
        for row, line in zip(rows, line_numbers):
            reader.pos = line
            reader.floats(row.split(), num_channels)  # raises with the offending line
        raise
    finite = np.isfinite(values).all(axis=1)
    if not finite.all():
        raise reader.error("non-finite value", line_numbers[int(np.argmin(finite))])
    return values, np.asarray(line_numbers)


def _build_motion(tree: dict, values: np.ndarray, frame_time: float, lines: np.ndarray) -> Motion:
    num_frames, num_joints = values.shape[0], len(tree["names"])
    offsets = np.asarray(tree["offsets"], dtype=np.float64).reshape(num_joints, 3)
    translations = np.broadcast_to(offsets, (num_frames, num_joints, 3)).copy()  # (F, J, 3)
    rotations = np.broadcast_to(np.eye(3), (num_frames, num_joints, 3, 3)).copy()  # (F, J, 3, 3)
    for j, channels in enumerate(tree["channels"]):
        axes = "".join(spec[1] for spec, _ in channels if spec[0] == "rot")
        cols = [col for spec, col in channels if spec[0] == "rot"]
        if axes:
            rotations[:, j] = euler_to_matrix(np.deg2rad(values[:, cols]), axes)
        for (kind, axis), col in channels:
            if kind == "pos":
                translations[:, j, axis] = values[:, col]
    return Motion(list(tree["names"]), np.asarray(tree["parents"]), offsets,
                  {j: np.asarray(o) for j, o in tree["end_sites"].items()}, rotations, translations,
                  frame_time, lines)


def parse_bvh(text: str, path="<string>") -> Motion:
    """Parse BVH text (see the module docstring for conventions).

    Args:
        text: the whole file.
        path: name used in error messages.
    Returns:
        the :class:`Motion`, all frames included (frame 0 too), source units.
    Raises:
        MocapError: malformed hierarchy or motion data (message names file and line).
    """
    reader = _Reader(path, text.splitlines())
    tokens = reader.next()
    if [t.upper() for t in tokens] != ["HIERARCHY"]:
        raise reader.error("not a BVH file (no HIERARCHY header)")
    tokens = reader.next()
    if tokens[0].upper() != "ROOT" or len(tokens) < 2:
        raise reader.error("expected ROOT <name>")
    tree = {"names": [], "parents": [], "offsets": [], "channels": [], "end_sites": {}, "num_channels": 0}
    _parse_joint(reader, " ".join(tokens[1:]), -1, tree)
    if len(set(tree["names"])) != len(tree["names"]):
        raise reader.error("joint names are not unique")
    num_frames, frame_time = _parse_motion_header(reader)
    values, lines = _parse_frames(reader, num_frames, tree["num_channels"])
    return _build_motion(tree, values, frame_time, lines)


def read_bvh(path) -> Motion:
    """Read a BVH file (universal newlines). See :func:`parse_bvh`."""
    path = Path(path)
    try:
        with open(path, "r", encoding="utf-8", errors="replace", newline=None) as handle:
            text = handle.read()
    except OSError as exc:
        raise MocapError(path, f"cannot read: {exc}") from exc
    return parse_bvh(text, path)
