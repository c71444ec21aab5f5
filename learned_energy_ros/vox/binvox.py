"""Read/write ``.binvox`` occupancy grids (Patrick Min's format) for interchange with other tools.

The file stores voxels run-length encoded with y varying fastest, then z,
then x; arrays here are indexed [x, y, z] (for frustum grids: [i, j, k]).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["BinvoxError", "Binvox", "read_binvox", "write_binvox"]


class BinvoxError(ValueError):
    """Raised for a malformed ``.binvox`` file or an invalid grid to write."""


@dataclass
class Binvox:
    """A binvox grid: occupancy (X, Y, Z) bool, and the translate/scale of its unit cube."""

    occupancy: np.ndarray
    translate: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: float = 1.0


def write_binvox(path: str | Path, occupancy: np.ndarray, translate=(0.0, 0.0, 0.0), scale: float = 1.0) -> Path:
    """Write a (D, D, D) occupancy grid indexed [x, y, z] as ``.binvox``."""
    occ = np.asarray(occupancy).astype(bool)
    if occ.ndim != 3:
        raise BinvoxError(f"expected a 3D grid, got shape {occ.shape}")
    flat = np.transpose(occ, (0, 2, 1)).reshape(-1).astype(np.uint8)  # y fastest, then z, then x
    change = np.flatnonzero(np.diff(flat)) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.concatenate([starts, [flat.size]]))
    runs = []
    for start, length in zip(starts, lengths):
        while length > 0:  # a run holds at most 255 voxels
            n = min(int(length), 255)
            runs += [int(flat[start]), n]
            length -= n
    header = (f"#binvox 1\ndim {occ.shape[0]} {occ.shape[1]} {occ.shape[2]}\n"
              f"translate {translate[0]} {translate[1]} {translate[2]}\nscale {scale}\ndata\n")
    path = Path(path)
    path.write_bytes(header.encode("ascii") + bytes(runs))
    return path


def read_binvox(path: str | Path) -> Binvox:
    """Read a ``.binvox`` file into a ``Binvox`` with occupancy indexed [x, y, z]."""
    raw = Path(path).read_bytes()
    try:
        head, data = raw.split(b"data\n", 1)
        lines = head.decode("ascii").split("\n")
        if not lines[0].startswith("#binvox"):
            raise ValueError("missing '#binvox' magic")
        fields = {ln.split()[0]: ln.split()[1:] for ln in lines[1:] if ln.strip()}
        dims = tuple(int(v) for v in fields["dim"])
        translate = tuple(float(v) for v in fields.get("translate", (0, 0, 0)))
        scale = float(fields.get("scale", [1.0])[0])
    except (ValueError, KeyError, IndexError, UnicodeDecodeError) as err:
        raise BinvoxError(f"{path}: bad binvox header ({err})") from None
    runs = np.frombuffer(data, dtype=np.uint8)
    if runs.size % 2:
        raise BinvoxError(f"{path}: odd number of run-length bytes")
    flat = np.repeat(runs[0::2].astype(bool), runs[1::2])
    if flat.size != int(np.prod(dims)):
        raise BinvoxError(f"{path}: {flat.size} voxels decoded, header says {dims}")
    occ = np.transpose(flat.reshape(dims[0], dims[2], dims[1]), (0, 2, 1))
    return Binvox(occ, translate, scale)
