"""Project frustum occupancy onto the support plane: a 2D grid a robot can plan around.

Like octomap_server's ``projected_map``, every cell summarizes the column of
space above it, with ``nav_msgs/OccupancyGrid`` values. A voxel is *occupied*
above the threshold, *free* when below it and nearer than the first occupied
voxel on its camera ray (its frustum column ``(i, j)``: the camera saw through
it), and *occluded* behind that voxel. A cell is

- ``OCCUPIED`` (100) when an occupied voxel projects into it;
- else ``UNKNOWN`` (-1) when an occluded voxel does (stricter than octomap, which
  calls a cell free as soon as any free voxel is above it: a robot should not
  drive into the shadow behind an object because the camera saw over it);
- else ``FREE`` (0) when a free voxel does;
- else ``UNKNOWN`` (outside every frustum).

Voxels below the plane (z < 0 in the plane frame) are ignored: nothing stands
there. Each voxel is sampled at ``n^3`` points, ``n`` chosen so samples are at
most one cell apart, so voxels larger than the cells leave no holes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["GridSpec", "GridError", "project_to_grid", "UNKNOWN", "FREE", "OCCUPIED", "MAX_CELLS"]

UNKNOWN, FREE, OCCUPIED = -1, 0, 100
#: Largest grid accepted (cells), so a typo in the size cannot allocate gigabytes.
MAX_CELLS = 4096 * 4096
#: Most samples per voxel edge; a grid far finer than the voxels gains nothing from more.
MAX_SAMPLES = 4


class GridError(ValueError):
    """Raised for an unusable grid specification."""


@dataclass(frozen=True)
class GridSpec:
    """A rectangle of square cells on the plane (z = 0 of the plane frame).

    Args:
        resolution: cell edge (m).
        size: (x, y) extent (m); rounded to whole cells.
        origin: plane-frame (x, y) of the corner of cell (0, 0), the corner with the smallest x and y.
    """

    resolution: float
    size: tuple[float, float]
    origin: tuple[float, float]

    def __post_init__(self) -> None:
        values = [self.resolution, *self.size, *self.origin]
        if len(self.size) != 2 or len(self.origin) != 2 or not all(math.isfinite(float(v)) for v in values):
            raise GridError(f"grid needs a finite resolution, size [x, y] and origin [x, y], got "
                            f"{self.resolution}, {list(self.size)}, {list(self.origin)}")
        if self.resolution <= 0 or min(self.size) <= 0:
            raise GridError(f"grid resolution and size must be positive, got {self.resolution}, {list(self.size)}")
        if self.width < 1 or self.height < 1 or self.width * self.height > MAX_CELLS:
            raise GridError(f"grid of {self.width} x {self.height} cells: need 1 to {MAX_CELLS} cells")

    @property
    def width(self) -> int:
        """Cells along x."""
        return int(round(self.size[0] / self.resolution))

    @property
    def height(self) -> int:
        """Cells along y."""
        return int(round(self.size[1] / self.resolution))

    def cells(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return (column (P,), row (P,), inside (P,)) of plane-frame points (P, 2)."""
        col = np.floor((xy[:, 0] - self.origin[0]) / self.resolution).astype(np.int64)
        row = np.floor((xy[:, 1] - self.origin[1]) / self.resolution).astype(np.int64)
        return col, row, (col >= 0) & (col < self.width) & (row >= 0) & (row < self.height)


def _voxel_states(occupancy: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean (R, R, R) masks: free (before the first occupied voxel of its ray), occluded, occupied."""
    occupied = occupancy > threshold  # (R, R, R) [i, j, k], k along the ray
    behind = np.cumsum(occupied, axis=2) > 0  # at or beyond the first occupied voxel of the column
    return ~behind, behind & ~occupied, occupied


def _samples(grid, ijk: np.ndarray, resolution: float) -> np.ndarray:
    """Optical-frame sample points (P, n^3, 3) spread over the voxels ``ijk`` (P, 3)."""
    size = max(grid.voxel_size()) * grid.far / (0.5 * (grid.near + grid.far))  # largest voxel, at the far end
    n = min(MAX_SAMPLES, max(1, math.ceil(size / resolution)))
    t = (np.arange(n) + 0.5) / n
    offsets = np.stack(np.meshgrid(t, t, t, indexing="ij"), -1).reshape(-1, 3)  # (n^3, 3) inside a voxel
    return grid.bins_to_points(ijk[:, None, :] + offsets[None])


def project_to_grid(results, rotation: np.ndarray, translation: np.ndarray, spec: GridSpec,
                    threshold: float = 0.5) -> np.ndarray:
    """Project the occupancy of ``results`` onto the plane: (height, width) int8, row-major from cell (0, 0).

    Args:
        results: ``VoxelResult`` s (occupancy + frustum grid in the optical frame), one per object.
        rotation, translation: optical frame -> plane frame (the plane is z = 0, z up).
        spec: the grid on the plane.
        threshold: occupancy threshold of a voxel.

    Returns:
        Cells in ``nav_msgs/OccupancyGrid`` order (``data[row * width + col]``, row along y), over
        all objects: occupied over occluded (``UNKNOWN``) over free over never seen (``UNKNOWN``).
    """
    R, t = np.asarray(rotation, dtype=np.float64), np.asarray(translation, dtype=np.float64)
    assert R.shape == (3, 3) and t.shape == (3,), f"expected (3, 3), (3,), got {R.shape}, {t.shape}"
    cells = np.full((spec.height, spec.width), UNKNOWN, dtype=np.int8)
    states = (FREE, UNKNOWN, OCCUPIED)  # in order of precedence, lowest first
    marks = []  # (state index, row, col)
    for result in results:
        for state, mask in enumerate(_voxel_states(result.occupancy, threshold)):
            ijk = np.argwhere(mask)  # (P, 3)
            if not len(ijk):
                continue
            pts = (_samples(result.grid, ijk, spec.resolution) @ R.T + t).reshape(-1, 3)  # plane frame
            col, row, inside = spec.cells(pts[:, :2])
            keep = inside & (pts[:, 2] >= 0)
            marks.append((state, row[keep], col[keep]))
    for state, value in enumerate(states):
        for mark, row, col in marks:
            if mark == state:
                cells[row, col] = value
    return cells
