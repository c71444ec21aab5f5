"""Load object meshes (OBJ/PLY, textured where possible), clean and normalize them."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

__all__ = ["MeshError", "ObjectMesh", "load_mesh", "from_trimesh", "find_meshes", "clean_solid",
           "MIN_COMPONENT_FACES"]

log = logging.getLogger(__name__)

#: Connected components with fewer faces are scan slivers (zero volume) and are dropped.
MIN_COMPONENT_FACES = 100
#: ... and are smaller than this fraction of the object's bounding-box diagonal (or open).
SLIVER_SIZE = 0.05
#: Textures are downsampled to this size: renders are <= 128 px, 4096^2 would only cost memory.
TEXTURE_SIZE = 512
MESH_SUFFIXES = (".obj", ".ply", ".off", ".stl", ".glb")


class MeshError(ValueError):
    """Raised for a mesh that cannot be loaded or has no well-defined inside."""


@dataclass
class ObjectMesh:
    """One object, normalized: bounding-box centre at the origin, bounding sphere radius 1.

    Attributes:
        name: object name (folder or file stem).
        solid: cleaned, watertight, merged-vertex mesh for inside/outside tests.
        render: mesh for rendering (UV seams kept), same normalization.
        uv: (V, 2) texture coordinates of ``render`` vertices, or None.
        texture: (H, W, 3) uint8 texture, or None.
        colors: (V, 3) uint8 vertex colours of ``render``, or None (then uniform grey).
    """

    name: str
    solid: trimesh.Trimesh
    render: trimesh.Trimesh
    uv: np.ndarray | None = None
    texture: np.ndarray | None = None
    colors: np.ndarray | None = None


def find_meshes(root: str | Path) -> list[Path]:
    """Return every mesh file (OBJ, PLY, ...) under ``root``, sorted."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise MeshError(f"mesh directory {root} does not exist")
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in MESH_SUFFIXES and p.is_file())


def _is_sliver(part: trimesh.Trimesh, diag: float) -> bool:
    """A scan sliver: few faces and either open or tiny next to the whole object."""
    small = float(np.linalg.norm(part.extents)) < SLIVER_SIZE * diag
    return len(part.faces) < MIN_COMPONENT_FACES and (small or not part.is_watertight)


def clean_solid(mesh: trimesh.Trimesh, name: str = "mesh") -> trimesh.Trimesh:
    """Merge vertices, drop sliver components (< 100 faces and tiny or open) and require a closed surface.

    Args:
        mesh: any triangle mesh.
        name: used in error messages.

    Returns:
        A watertight mesh with outward winding.

    Raises:
        MeshError: when the mesh stays open after dropping slivers and filling small holes.
    """
    solid = trimesh.Trimesh(np.asarray(mesh.vertices), np.asarray(mesh.faces), process=True)
    parts = solid.split(only_watertight=False)
    diag = float(np.linalg.norm(solid.extents))
    keep = [p for p in parts if not _is_sliver(p, diag)] or list(parts)
    if len(keep) < len(parts):
        log.debug("%s: dropped %d sliver components", name, len(parts) - len(keep))
    solid = trimesh.util.concatenate(keep) if len(keep) > 1 else keep[0]
    if not solid.is_watertight:
        trimesh.repair.fill_holes(solid)
    if not solid.is_watertight:
        raise MeshError(
            f"{name}: not watertight after dropping components < {MIN_COMPONENT_FACES} faces and filling holes; "
            "inside/outside (occupancy) is undefined for an open surface, so it is rejected"
        )
    if solid.volume < 0:
        solid.invert()
    return solid


def _texture_of(mesh: trimesh.Trimesh) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    visual = mesh.visual
    if getattr(visual, "kind", None) == "texture" and getattr(visual, "uv", None) is not None:
        image = getattr(visual.material, "image", None) or getattr(visual.material, "baseColorTexture", None)
        if image is not None:
            image = image.convert("RGB")
            image.thumbnail((TEXTURE_SIZE, TEXTURE_SIZE))
            return np.asarray(visual.uv, dtype=np.float64), np.asarray(image, dtype=np.uint8), None
    if getattr(visual, "kind", None) == "vertex":
        return None, None, np.asarray(visual.vertex_colors)[:, :3].astype(np.uint8)
    return None, None, None


def from_trimesh(mesh: trimesh.Trimesh, name: str = "mesh") -> ObjectMesh:
    """Clean, normalize and wrap an in-memory mesh (keeps its texture or vertex colours).

    Raises:
        MeshError: for an empty or open mesh.
    """
    if len(mesh.faces) == 0:
        raise MeshError(f"{name}: mesh has no faces")
    solid = clean_solid(mesh, name)
    lo, hi = solid.bounds
    centre = 0.5 * (lo + hi)
    radius = float(np.linalg.norm(solid.vertices - centre, axis=1).max())
    if not np.isfinite(radius) or radius <= 0:
        raise MeshError(f"{name}: degenerate mesh (zero size)")
    uv, texture, colors = _texture_of(mesh)
    render = trimesh.Trimesh((np.asarray(mesh.vertices) - centre) / radius, np.asarray(mesh.faces), process=False)
    solid.apply_translation(-centre)
    solid.apply_scale(1.0 / radius)
    return ObjectMesh(name, solid, render, uv, texture, colors)


def load_mesh(path: str | Path) -> ObjectMesh:
    """Load one mesh file with its texture and normalize it.

    Args:
        path: an OBJ/PLY/... file (OBJ materials and textures are resolved relative to it).

    Returns:
        The normalized ``ObjectMesh``; its name is the parent folder for ``textured.obj``-style layouts.

    Raises:
        MeshError: for unreadable, empty or open meshes.
    """
    path = Path(path)
    try:
        loaded = trimesh.load(path, process=False, force="mesh")
    except Exception as err:  # trimesh raises many types for bad files
        raise MeshError(f"{path}: cannot be read ({type(err).__name__}: {err})") from None
    if not isinstance(loaded, trimesh.Trimesh):
        raise MeshError(f"{path}: not a triangle mesh")
    name = path.parent.name if path.stem in ("textured", "model", "mesh", "model_normalized") else path.stem
    return from_trimesh(loaded, name)
