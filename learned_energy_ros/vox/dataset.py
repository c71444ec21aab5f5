"""Rendered training/evaluation samples: random views of meshes, frustum ground truth, cached.

Scale convention (single-view metric scale is ambiguous): the canonical camera
has a fixed field of view ``hfov_deg``; an object whose bounding sphere has
radius ``r`` is placed with its centre at depth ``d`` so that it fills a fraction
``fill`` of the view (``r = fill * d * sin(hfov / 2)``), and the frustum depth
range is ``[near, far] = d * (1 -/+ sin(hfov / 2))``. So at inference
``near``/``far`` (and a region of interest that frames the object) fix the
metric placement and size; the network only decides *which* cells are full.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.data.paths import cache_dir
from learned_energy_ros.vox.frustum import FrustumGrid
from learned_energy_ros.vox.meshes import MeshError, ObjectMesh, find_meshes, load_mesh
from learned_energy_ros.vox.procedural_shapes import random_shape
from learned_energy_ros.vox.mesh_render import render
from learned_energy_ros.vox.voxelize import voxelize_frustum

__all__ = ["ViewConfig", "View", "sample_view", "look_at", "build_samples", "depth_range", "canonical_camera"]

log = logging.getLogger(__name__)


@dataclass
class ViewConfig:
    """How views are sampled and rendered."""

    image_size: int = 64  # canonical input size S (S x S pixels); the encoder's input
    hfov_deg: float = 30.0  # canonical field of view: fixes the ratio of image extent to depth range
    resolution: int = 32  # frustum grid R
    fill: tuple[float, float] = (0.7, 0.95)  # bounding-sphere radius / half view extent
    elevation_deg: tuple[float, float] = (-10.0, 60.0)  # objects are upright (+Z up): views from the side/above
    distance: tuple[float, float] = (0.5, 2.0)  # object depth d (m); irrelevant to the image, varies the metric grid
    jitter: float = 0.05  # centre offset, fraction of r, so objects are not always exactly centred
    depth_bins: str = "linear"


@dataclass
class View:
    """One rendered sample: image, frustum ground truth and its geometry."""

    image: np.ndarray  # (S, S, 3) uint8
    occupancy: np.ndarray  # (R, R, R) bool, [i, j, k]
    grid: FrustumGrid
    rotation: np.ndarray  # (3, 3) object -> optical
    translation: np.ndarray  # (3,)
    scale: float


def canonical_camera(cfg: ViewConfig) -> Camera:
    """Return the square pinhole camera the model sees images through."""
    return Camera.from_fov(cfg.hfov_deg, cfg.image_size, cfg.image_size)


def depth_range(distance: float, hfov_deg: float) -> tuple[float, float]:
    """Return (near, far) for an object centred at ``distance`` under the training convention."""
    s = math.sin(math.radians(hfov_deg) / 2)
    return distance * (1 - s), distance * (1 + s)


def look_at(azimuth: float, elevation: float) -> np.ndarray:
    """Rotation (3, 3) object -> optical frame for a camera on the unit sphere looking at the origin (+Z up)."""
    pos = np.array([math.cos(elevation) * math.cos(azimuth), math.cos(elevation) * math.sin(azimuth),
                    math.sin(elevation)])
    forward = -pos
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward])  # rows: optical x, y, z in object coordinates


def sample_view(obj: ObjectMesh, cfg: ViewConfig, rng: np.random.Generator) -> View:
    """Render one random view of ``obj`` and voxelize it in the view's frustum grid."""
    cam = canonical_camera(cfg)
    d = rng.uniform(*cfg.distance)
    s = math.sin(math.radians(cfg.hfov_deg) / 2)
    r = rng.uniform(*cfg.fill) * d * s
    rot = look_at(rng.uniform(0, 2 * math.pi), math.radians(rng.uniform(*cfg.elevation_deg)))
    t = np.array([*(rng.uniform(-1, 1, 2) * cfg.jitter * r), d])
    background = tuple(int(c) for c in rng.integers(0, 256, 3))
    light = np.array([rng.uniform(-1, 1), rng.uniform(-1, 0.3), -1.0])
    img = render(obj, cam, rot, t, r, background=background, light=light).rgb
    noise = rng.normal(0, 4, img.shape)  # sensor noise so the background is not a flat key colour
    img = np.clip(img + noise, 0, 255).astype(np.uint8)
    near, far = depth_range(d, cfg.hfov_deg)
    grid = FrustumGrid(cam, cfg.resolution, near, far, cfg.depth_bins)
    return View(img, voxelize_frustum(obj, grid, rot, t, r), grid, rot, t, r)


def _cache_key(paths: list[Path], views: int, procedural: int, cfg: ViewConfig, seed: int) -> str:
    desc = {"paths": [str(p.resolve()) for p in paths], "mtime": [p.stat().st_mtime for p in paths],
            "views": views, "procedural": procedural, "cfg": asdict(cfg), "seed": seed, "v": 1}
    return hashlib.sha1(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:16]


def _objects(paths: list[Path], procedural: int, seed: int):
    for path in paths:
        try:
            yield load_mesh(path)
        except MeshError as err:
            log.warning("skipping %s: %s", path, err)
    for i in range(procedural):
        yield random_shape(seed * 100003 + i)


def build_samples(data: str | Path | None, views: int = 8, procedural: int = 0, cfg: ViewConfig | None = None,
                  seed: int = 0, cache: bool = True) -> dict:
    """Render ``views`` random views of every mesh under ``data`` plus ``procedural`` generated shapes.

    Args:
        data: mesh directory (walked for OBJ/PLY/...), a single file, or None for procedural only.
        views: views per object (procedural objects get one view each: there are many of them).
        procedural: number of procedural objects.
        cfg: view sampling; default ``ViewConfig()``.
        seed: makes the whole set reproducible.
        cache: reuse/write ``<cache_dir>/vox/<key>.npz``.

    Returns:
        dict with ``images`` (N, S, S, 3) uint8, ``occupancy`` (N, R, R, R) bool, ``object`` (N,) int,
        ``names`` list of object names, ``near``/``far`` (N,) float.
    """
    cfg = cfg or ViewConfig()
    paths = find_meshes(data) if data is not None else []
    file = cache_dir() / "vox" / f"{_cache_key(paths, views, procedural, cfg, seed)}.npz"
    if cache and file.exists():
        z = np.load(file, allow_pickle=False)
        out = {k: z[k] for k in ("images", "object", "near", "far")}
        out["occupancy"] = np.unpackbits(z["occupancy"], axis=1)[:, : cfg.resolution ** 3].astype(bool).reshape(
            -1, *(cfg.resolution,) * 3)
        out["names"] = [str(n) for n in z["names"]]
        return out
    rng = np.random.default_rng(seed)
    images, occ, index, names, near, far = [], [], [], [], [], []
    for obj in tqdm(_objects(paths, procedural, seed), total=len(paths) + procedural, desc="render", unit="obj"):
        for _ in range(views if not obj.name.startswith("procedural_") else 1):
            v = sample_view(obj, cfg, rng)
            images.append(v.image)
            occ.append(v.occupancy)
            index.append(len(names))
            near.append(v.grid.near)
            far.append(v.grid.far)
        names.append(obj.name)
    if not images:
        raise MeshError(f"no usable meshes under {data} and no procedural shapes requested")
    out = {"images": np.stack(images), "occupancy": np.stack(occ), "object": np.array(index),
           "near": np.array(near), "far": np.array(far), "names": names}
    if cache:
        file.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(file, images=out["images"], object=out["object"], near=out["near"], far=out["far"],
                            names=np.array(names), occupancy=np.packbits(out["occupancy"].reshape(len(images), -1), axis=1))
    return out
