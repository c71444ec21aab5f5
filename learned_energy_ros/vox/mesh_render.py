"""Headless CPU rendering by ray casting (trimesh + embree): RGB, silhouette, depth.

No GPU and no display are needed; with ``embreex`` installed trimesh casts
rays through Embree, otherwise through its (slower) pure-Python intersector.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.vox.meshes import ObjectMesh

__all__ = ["Rendering", "render", "transform_mesh"]

_AMBIENT = 0.35
_DEFAULT_COLOR = np.array([180, 180, 180], dtype=np.float64)


@dataclass
class Rendering:
    """One rendered view.

    Attributes:
        rgb: (H, W, 3) uint8 image.
        mask: (H, W) bool silhouette.
        depth: (H, W) float32 z in the optical frame (0 where empty).
    """

    rgb: np.ndarray
    mask: np.ndarray
    depth: np.ndarray


def transform_mesh(mesh: trimesh.Trimesh, rotation: np.ndarray, translation: np.ndarray, scale: float) -> trimesh.Trimesh:
    """Return a copy of ``mesh`` mapped by ``x -> scale * R x + t`` (object -> optical frame)."""
    v = scale * np.asarray(mesh.vertices) @ np.asarray(rotation).T + np.asarray(translation)
    return trimesh.Trimesh(v, np.asarray(mesh.faces), process=False)


def _intersector(mesh: trimesh.Trimesh):
    try:
        from trimesh.ray.ray_pyembree import RayMeshIntersector
        return RayMeshIntersector(mesh)
    except Exception:  # embreex missing: fall back to the pure-python intersector
        return trimesh.ray.ray_triangle.RayMeshIntersector(mesh)


def _surface_color(obj: ObjectMesh, faces: np.ndarray, bary: np.ndarray) -> np.ndarray:
    """Colour (P, 3) float in [0, 255] of hit points given their faces and barycentrics."""
    tri = obj.render.faces[faces]  # (P, 3) vertex ids
    if obj.texture is not None and obj.uv is not None:
        uv = np.einsum("pk,pkc->pc", bary, obj.uv[tri])  # (P, 2)
        h, w = obj.texture.shape[:2]
        col = np.clip((uv[:, 0] % 1.0) * (w - 1), 0, w - 1).round().astype(int)
        row = np.clip((1.0 - uv[:, 1] % 1.0) * (h - 1), 0, h - 1).round().astype(int)
        return obj.texture[row, col].astype(np.float64)
    if obj.colors is not None:
        return np.einsum("pk,pkc->pc", bary, obj.colors[tri].astype(np.float64))
    return np.broadcast_to(_DEFAULT_COLOR, (len(faces), 3)).copy()


def render(obj: ObjectMesh, camera: Camera, rotation: np.ndarray, translation: np.ndarray, scale: float = 1.0,
           background: tuple[int, int, int] = (0, 0, 0), light: np.ndarray | None = None) -> Rendering:
    """Render a normalized object placed in the optical frame.

    Args:
        obj: the object (normalized coordinates).
        camera: the camera (any distortion model; rays follow the raw pixels).
        rotation, translation, scale: object -> optical frame, ``x_cam = scale * R x + t``.
        background: RGB of empty pixels.
        light: (3,) direction *towards* the light in the optical frame; default from the camera, upper left.

    Returns:
        The ``Rendering`` (RGB with Lambert shading times texture, silhouette, depth).
    """
    H, W = camera.height, camera.width
    world = transform_mesh(obj.render, rotation, translation, scale)
    uu, vv = np.meshgrid(np.arange(W, dtype=np.float64), np.arange(H, dtype=np.float64))
    dirs = camera.rays(np.stack([uu.ravel(), vv.ravel()], axis=-1))  # (H*W, 3)
    origins = np.zeros_like(dirs)
    locs, ray_idx, tri_idx = _intersector(world).intersects_location(origins, dirs, multiple_hits=False)
    rgb = np.empty((H * W, 3))
    rgb[:] = np.asarray(background, dtype=np.float64)
    depth = np.zeros(H * W, dtype=np.float32)
    mask = np.zeros(H * W, dtype=bool)
    if len(ray_idx):
        bary = trimesh.triangles.points_to_barycentric(world.triangles[tri_idx], locs)
        base = _surface_color(obj, tri_idx, np.clip(bary, 0.0, 1.0))
        normals = world.face_normals[tri_idx]
        light = np.array([-0.4, -0.6, -1.0]) if light is None else np.asarray(light, dtype=np.float64)
        light = light / np.linalg.norm(light)
        # two-sided Lambert: scans are closed, but thin parts may be seen from behind
        shade = _AMBIENT + (1 - _AMBIENT) * np.abs(normals @ light)
        rgb[ray_idx] = base * shade[:, None]
        depth[ray_idx] = locs[:, 2]
        mask[ray_idx] = True
    return Rendering(np.clip(rgb, 0, 255).astype(np.uint8).reshape(H, W, 3), mask.reshape(H, W), depth.reshape(H, W))
