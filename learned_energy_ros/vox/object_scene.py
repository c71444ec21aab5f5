"""Demo object scene (procedural, no files) and side-by-side pictures: input | predicted | true voxels."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.vox.canonical_image import canonical_camera_for
from learned_energy_ros.vox.dataset import look_at
from learned_energy_ros.vox.frustum import FrustumGrid
from learned_energy_ros.vox.mesh_render import render
from learned_energy_ros.vox.procedural_shapes import random_shape
from learned_energy_ros.vox.voxelize import voxelize_frustum

__all__ = ["ObjectScene", "DemoScene", "demo_scene", "save_comparison", "demo_camera"]


@dataclass
class ObjectScene:
    """A rendered object view with its ground truth in the reconstructor's frustum grid."""

    image: np.ndarray  # (H, W, 3) uint8 raw (distorted) image
    camera: Camera  # the raw camera (plumb_bob distortion)
    occupancy: np.ndarray  # (R, R, R) bool in ``grid``
    grid: FrustumGrid  # canonical grid of the whole image, [near, far]
    near: float
    far: float


DemoScene = ObjectScene  # the name it had before the person scene of ``demo/`` took it; kept for callers


def demo_camera(width: int = 160, height: int = 120, frame_id: str = "camera_optical_frame") -> Camera:
    """Return the demo's small camera: ~45 deg horizontal view, mild barrel distortion."""
    f = 0.5 * width / math.tan(math.radians(45) / 2)
    K = np.array([[f, 0, width / 2 - 0.5], [0, f, height / 2 - 0.5], [0, 0, 1.0]])
    return Camera(K, np.array([-0.05, 0.01, 0.0, 0.0, 0.0]), "plumb_bob", width, height, frame_id)


def demo_scene(seed: int = 0, resolution: int = 32, image_size: int = 64, distance: float = 1.0,
               camera: Camera | None = None) -> ObjectScene:
    """Render a procedural object for the demo and its true occupancy.

    The object (box, cylinder or composite) sits ``distance`` metres in front of
    the camera, sized as in training relative to the canonical view of the
    whole image; ``near``/``far`` follow the training convention.

    Args:
        seed: picks the shape, colours and viewpoint.
        resolution: grid R of the ground truth.
        image_size: canonical input size S of the reconstructor.
        distance: object depth (m).
        camera: raw camera; default ``demo_camera()``.

    Returns:
        ``ObjectScene`` (image, camera, occupancy, grid, near, far).
    """
    rng = np.random.default_rng(seed)
    cam = camera or demo_camera()
    canon = canonical_camera_for(cam, image_size)
    half = math.atan(0.5 * image_size / canon.fx)  # half field of view of the canonical square
    s = math.sin(half)
    radius = 0.85 * distance * s
    rot = look_at(rng.uniform(0, 2 * math.pi), math.radians(rng.uniform(10, 45)))
    t = np.array([0.0, 0.0, distance])
    obj = random_shape(int(rng.integers(0, 1 << 30)))
    bg = tuple(int(c) for c in rng.integers(30, 200, 3))
    image = render(obj, cam, rot, t, radius, background=bg).rgb
    near, far = distance * (1 - s), distance * (1 + s)
    grid = FrustumGrid(canon, resolution, near, far)
    return ObjectScene(image, cam, voxelize_frustum(obj, grid, rot, t, radius), grid, near, far)


def _draw_voxels(ax, occ: np.ndarray, title: str, color) -> None:
    R = occ.shape[0]
    stride = max(1, R // 32)  # matplotlib's voxels() is slow: draw at most 32^3
    occ = occ[::stride, ::stride, ::stride]
    # plot frustum index space as the camera sees it: columns right, depth away, rows down
    ax.voxels(np.transpose(occ, (0, 2, 1))[:, :, ::-1], facecolors=color, edgecolor="none")
    ax.set_title(title, fontsize=9)
    ax.view_init(elev=15, azim=-75)
    ax.set_axis_off()


def save_comparison(path: str | Path, image: np.ndarray, panels: dict[str, np.ndarray], threshold: float = 0.5) -> Path:
    """Write a PNG: the input image then one 3D voxel panel per entry of ``panels``.

    Args:
        path: output PNG.
        image: (H, W, 3) uint8 input.
        panels: title -> (R, R, R) probabilities or booleans (frustum index space).
        threshold: occupancy threshold for probabilities.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2.6 * (1 + len(panels)), 2.8))
    ax = fig.add_subplot(1, 1 + len(panels), 1)
    ax.imshow(image)
    ax.set_title("input", fontsize=9)
    ax.set_axis_off()
    colors = ["tab:orange", "tab:blue", "tab:green", "tab:purple"]
    for n, (title, grid) in enumerate(panels.items()):
        ax = fig.add_subplot(1, 1 + len(panels), n + 2, projection="3d")
        _draw_voxels(ax, np.asarray(grid) > threshold if grid.dtype != bool else grid, title, colors[n % 4])
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
