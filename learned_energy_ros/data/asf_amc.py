"""Acclaim ASF (skeleton) + AMC (motion) reader, as used by the original CMU database.

Conventions (Acclaim ASF 1.10 as CMU uses it; Y up):

* a bone starts at its parent's end and ends at ``start + G @ (direction * length)``;
  we turn every bone into a joint at its *start* (the root joint sits at the root position),
  so the joint tree matches the BVH conversions (e.g. ``lfemur`` = hip joint centre);
* ``axis ax ay az XYZ`` and a ``dof`` list give rotations in *application* order (``XYZ``:
  about X first), i.e. ``C = Rz(az) @ Ry(ay) @ Rx(ax)``; the bone's local rotation in the
  world-aligned frame is ``C @ M @ C^-1`` with ``M`` composed the same way from the AMC
  values; the root's is ``C_root @ M_root`` plus its translation (ASF ``position`` + AMC values);
* ``:units length L`` - lengths are in units of ``1/L`` inch (CMU: L = 0.45, i.e.
  0.0254 / 0.45 m), passed on as ``Motion.unit_hint`` (the ``units`` argument of
  ``load_clip`` overrides); ``angle deg|rad``;
* AMC has no frame rate: CMU captured at 120 Hz (``AMC_FPS``).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .kinematics import MocapError, Motion, euler_to_matrix

__all__ = ["AMC_FPS", "read_asf", "read_amc", "read_amc_with_skeleton", "find_skeleton"]

logger = logging.getLogger(__name__)

#: Frame rate assumed for AMC files (they carry none); the CMU database was captured at 120 Hz.
AMC_FPS = 120.0
_ROT_DOFS = {"rx": "x", "ry": "y", "rz": "z"}
_TRANS_DOFS = {"tx": 0, "ty": 1, "tz": 2}


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    """Return (1-based line number, tokens) for non-empty lines; '#' comments, ',' and '()' are whitespace."""
    try:
        with open(path, "r", encoding="utf-8", errors="replace", newline=None) as handle:
            text = handle.read()
    except OSError as exc:
        raise MocapError(path, f"cannot read: {exc}") from exc
    table = str.maketrans({",": " ", "(": " ", ")": " "})
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split("#", 1)[0].translate(table).split()
        if tokens:
            out.append((number, tokens))
    return out


def _floats(path, line: int, tokens: list[str], count: int) -> np.ndarray:
    if len(tokens) != count:
        raise MocapError(path, f"expected {count} numbers, got {len(tokens)}: {' '.join(tokens)!r}", line)
    try:
        values = np.array([float(t) for t in tokens])
    except ValueError:
        raise MocapError(path, f"bad number in {' '.join(tokens)!r}", line) from None
    if not np.all(np.isfinite(values)):
        raise MocapError(path, f"non-finite number in {' '.join(tokens)!r}", line)
    return values


def _axis_matrix(angles_deg: np.ndarray, order: str, path, line: int) -> np.ndarray:
    """Rotation for ``axis`` values applied in ``order`` (e.g. 'XYZ': X first)."""
    order = order.lower()
    if sorted(order) != ["x", "y", "z"]:
        raise MocapError(path, f"bad axis order {order!r}", line)
    values = dict(zip("xyz", np.deg2rad(angles_deg)))
    return euler_to_matrix(np.array([values[a] for a in order[::-1]]), order[::-1])


def _parse_bone(path, block: list[tuple[int, list[str]]], begin_line: int) -> dict:
    bone = {"dof": [], "line": begin_line}
    for line, tokens in block:
        key = tokens[0].lower()
        if key == "name":
            bone["name"] = tokens[1]
        elif key == "direction":
            bone["direction"] = _floats(path, line, tokens[1:], 3)
        elif key == "length":
            bone["length"] = float(_floats(path, line, tokens[1:], 1)[0])
        elif key == "axis":
            bone["axis"] = (_floats(path, line, tokens[1:4], 3), tokens[4] if len(tokens) > 4 else "XYZ", line)
        elif key == "dof":
            bone["dof"] = [t.lower() for t in tokens[1:]]
            bad = [d for d in bone["dof"] if d not in _ROT_DOFS]
            if bad:
                raise MocapError(path, f"unsupported bone dof {bad[0]!r} (only rx ry rz)", line)
    for field in ("name", "direction", "length", "axis"):
        if field not in bone:
            raise MocapError(path, f"bone block lacks {field!r}", begin_line)
    norm = np.linalg.norm(bone["direction"])
    if norm == 0:
        raise MocapError(path, f"bone {bone['name']!r} has a zero direction", begin_line)
    bone["direction"] = bone["direction"] / norm
    return bone


def _sections(path, lines) -> dict[str, list[tuple[int, list[str]]]]:
    sections, current = {}, None
    for line, tokens in lines:
        if tokens[0].startswith(":"):
            current = tokens[0][1:].lower()
            sections[current] = [(line, tokens[1:])] if len(tokens) > 1 else []
        elif current is not None:
            sections[current].append((line, tokens))
    for required in ("root", "bonedata", "hierarchy"):
        if required not in sections:
            raise MocapError(path, f"not an ASF skeleton (no :{required} section)")
    return sections


def _parse_blocks(path, body) -> list[dict]:
    bones, block, begin = [], None, 0
    for line, tokens in body:
        key = tokens[0].lower()
        if key == "begin":
            block, begin = [], line
        elif key == "end":
            if block is None:
                raise MocapError(path, "'end' without 'begin'", line)
            bones.append(_parse_bone(path, block, begin))
            block = None
        elif block is not None:
            block.append((line, tokens))
    if block is not None:
        raise MocapError(path, "bone block not closed with 'end'", begin)
    return bones


def read_asf(path) -> dict:
    """Parse an ASF skeleton into a dict (bones in parent-first order, root spec, units)."""
    path = Path(path)
    sections = _sections(path, _lines(path))
    units = {t[0].lower(): t[1] for _, t in sections.get("units", []) if len(t) >= 2}
    try:
        length_unit = float(units.get("length", 1.0))
        assert np.isfinite(length_unit) and length_unit > 0
    except (ValueError, AssertionError):
        raise MocapError(path, f"bad :units length {units.get('length')!r}") from None
    degrees = units.get("angle", "deg").lower().startswith("deg")
    root = {t[0].lower(): (line, t[1:]) for line, t in sections["root"]}
    bones = {b["name"]: b for b in _parse_blocks(path, sections["bonedata"])}
    children: dict[str, list[str]] = {}
    for line, tokens in sections["hierarchy"]:
        if tokens[0].lower() in ("begin", "end"):
            continue
        for child in tokens[1:]:
            if child not in bones:
                raise MocapError(path, f"hierarchy names unknown bone {child!r}", line)
            children.setdefault(tokens[0], []).append(child)
    order, parents = ["root"], [-1]
    for name in order:  # breadth-first: parents precede children
        for child in children.get(name, []):
            order.append(child)
            parents.append(order.index(name))
    return {"path": path, "bones": bones, "order": order, "parents": parents, "root": root, "degrees": degrees,
            "length_unit": length_unit}


def _root_spec(skeleton: dict):
    path, root = skeleton["path"], skeleton["root"]
    line, order = root.get("order", (0, ["TX", "TY", "TZ", "RX", "RY", "RZ"]))
    order = [t.lower() for t in order]
    if any(t not in _ROT_DOFS and t not in _TRANS_DOFS for t in order):
        raise MocapError(path, f"bad root order {' '.join(order)!r}", line)
    line, axis = root.get("axis", (0, ["XYZ"]))
    orient = root.get("orientation", (0, ["0", "0", "0"]))
    position = root.get("position", (0, ["0", "0", "0"]))
    c_root = _axis_matrix(_floats(path, orient[0], orient[1], 3), axis[0], path, line)
    return order, c_root, _floats(path, position[0], position[1], 3)


def _parse_frames(path, lines, dofs: dict[str, int]) -> tuple[list[dict], list[int]]:
    frames, numbers, current = [], [], None
    for line, tokens in lines:
        if tokens[0].startswith(":"):
            continue
        if len(tokens) == 1 and tokens[0].isdigit():
            current = {}
            frames.append(current)
            numbers.append(line)
            continue
        if current is None:
            raise MocapError(path, f"data before the first frame number: {' '.join(tokens)!r}", line)
        name = tokens[0]
        if name not in dofs:
            raise MocapError(path, f"unknown bone {name!r}", line)
        current[name] = _floats(path, line, tokens[1:], dofs[name])
    for frame, line in zip(frames, numbers):
        missing = [n for n, k in dofs.items() if k and n not in frame]
        if missing:
            raise MocapError(path, f"frame lacks bone {missing[0]!r}", line)
    if not frames:
        raise MocapError(path, "no frames")
    return frames, numbers


def _stack(frames: list[dict], name: str, count: int) -> np.ndarray:
    return np.array([frame.get(name, np.zeros(count)) for frame in frames]).reshape(len(frames), count)


def read_amc(path, skeleton: dict) -> Motion:
    """Read an AMC motion for a parsed ASF ``skeleton`` (see :func:`read_asf`).

    Returns:
        the :class:`Motion` (joints at bone starts, file units, Y up, ``AMC_FPS``).
    Raises:
        MocapError: malformed file, unknown bone, wrong value count (names file and line).
    """
    path = Path(path)
    lines = _lines(path)
    radians = any(t[0].upper() == ":RADIANS" for _, t in lines) or not skeleton["degrees"]
    to_rad = (lambda a: a) if radians else np.deg2rad
    order, bones, parents = skeleton["order"], skeleton["bones"], skeleton["parents"]
    root_order, c_root, root_position = _root_spec(skeleton)
    dofs = {"root": len(root_order), **{name: len(bones[name]["dof"]) for name in order[1:]}}
    frames, numbers = _parse_frames(path, lines, dofs)
    count, joints = len(frames), len(order)
    offsets = np.zeros((joints, 3))
    end_sites = {}
    for j, name in enumerate(order[1:], start=1):
        bone = bones[name]
        end_sites[j] = bone["direction"] * bone["length"]
        if parents[j] > 0:
            offsets[j] = end_sites[parents[j]]
    rotations = np.broadcast_to(np.eye(3), (count, joints, 3, 3)).copy()  # (F, J, 3, 3)
    translations = np.broadcast_to(offsets, (count, joints, 3)).copy()  # (F, J, 3)
    root_values = _stack(frames, "root", len(root_order))  # (F, 6)
    rot_cols = [k for k, t in enumerate(root_order) if t in _ROT_DOFS]
    axes = "".join(_ROT_DOFS[root_order[k]] for k in rot_cols)[::-1]
    rotations[:, 0] = c_root @ euler_to_matrix(to_rad(root_values[:, rot_cols[::-1]]), axes) if axes else c_root
    translations[:, 0] = root_position
    for k, token in enumerate(root_order):
        if token in _TRANS_DOFS:
            translations[:, 0, _TRANS_DOFS[token]] += root_values[:, k]
    for j, name in enumerate(order[1:], start=1):
        bone = bones[name]
        values, line = bone["axis"][0], bone["axis"][2]
        c_bone = _axis_matrix(values, bone["axis"][1], path, line)
        if bone["dof"]:
            axes = "".join(_ROT_DOFS[d] for d in bone["dof"])[::-1]
            local = euler_to_matrix(to_rad(_stack(frames, name, len(bone["dof"]))[:, ::-1]), axes)  # (F, 3, 3)
            rotations[:, j] = c_bone @ local @ c_bone.T
    return Motion(list(order), np.asarray(parents), offsets, end_sites, rotations, translations, 1.0 / AMC_FPS,
                  np.asarray(numbers), unit_hint=0.0254 / skeleton["length_unit"])


def find_skeleton(amc_path) -> Path | None:
    """Return the ASF for an AMC: ``<subject>.asf`` (stem prefix before '_'), ``<stem>.asf``, or the folder's only ``.asf``."""
    amc_path = Path(amc_path)
    asfs = {p.name.lower(): p for p in amc_path.parent.glob("*") if p.suffix.lower() == ".asf"}
    for candidate in (amc_path.stem.split("_")[0], amc_path.stem):
        if f"{candidate.lower()}.asf" in asfs:
            return asfs[f"{candidate.lower()}.asf"]
    return next(iter(asfs.values())) if len(asfs) == 1 else None


def read_amc_with_skeleton(amc_path) -> Motion:
    """Read an AMC clip with the ASF found by :func:`find_skeleton`."""
    skeleton_path = find_skeleton(amc_path)
    if skeleton_path is None:
        raise MocapError(amc_path, "no matching .asf skeleton beside this .amc")
    return read_amc(amc_path, read_asf(skeleton_path))
