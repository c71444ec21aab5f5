"""Procedural objects (boxes, cylinders, spheres and composites): data that needs no files."""
from __future__ import annotations

import numpy as np
import trimesh

from learned_energy_ros.vox.meshes import ObjectMesh, from_trimesh

__all__ = ["random_shape", "box", "cylinder", "composite"]


def _colored(mesh: trimesh.Trimesh, rng: np.random.Generator) -> trimesh.Trimesh:
    color = np.append(rng.integers(40, 256, size=3), 255).astype(np.uint8)
    mesh.visual.vertex_colors = np.tile(color, (len(mesh.vertices), 1))
    return mesh


def box(rng: np.random.Generator) -> trimesh.Trimesh:
    """Return a randomly sized, coloured box."""
    return _colored(trimesh.creation.box(extents=rng.uniform(0.3, 1.0, size=3)), rng)


def cylinder(rng: np.random.Generator) -> trimesh.Trimesh:
    """Return a randomly sized, coloured upright cylinder."""
    return _colored(trimesh.creation.cylinder(radius=rng.uniform(0.15, 0.5), height=rng.uniform(0.3, 1.0),
                                              sections=32), rng)


def _sphere(rng: np.random.Generator) -> trimesh.Trimesh:
    return _colored(trimesh.creation.icosphere(subdivisions=2, radius=rng.uniform(0.2, 0.5)), rng)


def composite(rng: np.random.Generator, parts: int | None = None) -> trimesh.Trimesh:
    """Return 2-3 primitives stacked with small gaps into one multi-component closed object."""
    parts = int(rng.integers(2, 4)) if parts is None else parts
    meshes = []
    z = 0.0
    for _ in range(parts):
        m = [box, cylinder, _sphere][int(rng.integers(0, 3))](rng)
        lo, hi = m.bounds
        m.apply_translation([rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2), z - lo[2]])
        z += (hi[2] - lo[2]) + 0.03  # a small gap: overlapping shells would break ray-parity inside tests
        meshes.append(m)
    return trimesh.util.concatenate(meshes)


def random_shape(seed: int) -> ObjectMesh:
    """Return a normalized random procedural object (box, cylinder or composite) for ``seed``."""
    rng = np.random.default_rng(seed)
    kind = int(rng.integers(0, 3))
    mesh = [box, cylinder, composite][kind](rng)
    return from_trimesh(mesh, f"procedural_{seed}_{['box', 'cylinder', 'composite'][kind]}")
