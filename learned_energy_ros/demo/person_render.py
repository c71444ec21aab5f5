"""A simple but recognisable camera image of the demo scene, drawn through the real lens model.

The floor (checker + grid) and sky are ray-cast once per camera (per-pixel
rays through the lens, distortion included); the person is drawn per frame as
depth-sorted, shaded capsules whose centre lines are projected with
``Camera.project`` (so they bend exactly as the keypoints do) and whose radii
follow perspective. Images are RGB ``uint8``.
"""
from __future__ import annotations

import cv2
import numpy as np

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.skeleton import get_skeleton

__all__ = ["render_background", "render_person", "render_frame", "FrameRenderer"]

# (joint a, joint b, radius m, RGB colour). Person's left is blue, right is orange.
_LEFT, _RIGHT, _TORSO, _SKIN = (70, 110, 200), (215, 110, 60), (90, 150, 110), (235, 195, 160)
_CAPSULES = tuple(
    (f"{s}_{a}", f"{s}_{b}", r, col)
    for s, col in (("left", _LEFT), ("right", _RIGHT))
    for a, b, r in (("hip", "knee", 0.075), ("knee", "ankle", 0.055), ("heel", "big_toe", 0.04),
                    ("shoulder", "elbow", 0.05), ("elbow", "wrist", 0.04))
) + (
    ("pelvis", "spine", 0.13, _TORSO), ("spine", "thorax", 0.14, _TORSO), ("left_hip", "right_hip", 0.09, _TORSO),
    ("left_shoulder", "right_shoulder", 0.07, _TORSO), ("thorax", "neck", 0.05, _SKIN),
    ("head", "head_top", 0.1, _SKIN), ("head", "nose", 0.03, _SKIN),
)
_SHADES = (0.55, 0.8, 1.0, 1.15)  # brightness of concentric layers, outside to inside
_SAMPLES = 9  # points per capsule centre line


def _pixel_rays_world(camera: Camera, R: np.ndarray) -> np.ndarray:
    """Unit ray (H, W, 3) in the world for every pixel centre."""
    u, v = np.meshgrid(np.arange(camera.width, dtype=np.float64), np.arange(camera.height, dtype=np.float64))
    rays = camera.rays(np.stack([u, v], axis=-1))  # (H, W, 3) optical frame
    return rays @ R  # R^T applied row-wise: optical -> world


def render_background(camera: Camera, R: np.ndarray, t: np.ndarray, tile: float = 0.5) -> np.ndarray:
    """Ray-cast the floor (checker tiles + grid lines, Z = 0) and sky for one camera mount.

    Args:
        camera: the lens (distortion included).
        R, t: world -> optical transform.
        tile: floor tile size in meters.
    Returns:
        (H, W, 3) uint8 RGB image.
    """
    eye = -R.T @ t
    d = _pixel_rays_world(camera, R)  # (H, W, 3)
    dz = d[..., 2]
    hit = dz < -1e-4
    s = np.where(hit, -eye[2] / np.where(hit, dz, -1.0), 0.0)
    xy = eye[:2] + s[..., None] * d[..., :2]  # (H, W, 2) floor coordinates
    cell = np.floor(xy / tile).astype(np.int64)
    checker = ((cell[..., 0] + cell[..., 1]) % 2).astype(np.float64)
    frac = np.abs(xy / tile - np.round(xy / tile))  # distance to the nearest grid line, in tiles
    line = np.clip(1.0 - np.min(frac, axis=-1) / 0.03, 0.0, 1.0)
    fade = np.exp(-s / 25.0)[..., None]
    floor = np.array([185.0, 180.0, 170.0]) + 20.0 * checker[..., None]
    floor = floor * (1 - 0.45 * line[..., None])
    floor = fade * floor + (1 - fade) * np.array([200.0, 205.0, 210.0])
    sky = np.array([150.0, 190.0, 235.0]) + np.clip(dz, 0, 1)[..., None] * np.array([-60.0, -50.0, -20.0])
    image = np.where(hit[..., None], floor, sky)
    return np.clip(image, 0, 255).astype(np.uint8)


def _shadow(image: np.ndarray, camera: Camera, R, t, joints_world: np.ndarray) -> None:
    """Darken an ellipse of floor under the person (a contact cue)."""
    centre = joints_world.mean(axis=0)
    angles = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    ring = np.stack([centre[0] + 0.35 * np.cos(angles), centre[1] + 0.35 * np.sin(angles), np.zeros_like(angles)], -1)
    cam = ring @ R.T + t
    if np.any(cam[:, 2] <= 0.1):
        return
    poly = np.round(camera.project(cam)).astype(np.int32)
    overlay = image.copy()
    cv2.fillPoly(overlay, [poly], (90, 90, 90), lineType=cv2.LINE_AA)
    cv2.addWeighted(overlay, 0.35, image, 0.65, 0, dst=image)


def render_person(image: np.ndarray, camera: Camera, joints_cam: np.ndarray, skeleton: str = "mocap27") -> np.ndarray:
    """Draw the person as shaded capsules onto ``image`` (in place) and return it.

    Args:
        image: (H, W, 3) uint8 RGB image of the camera.
        camera: the lens the image was taken with.
        joints_cam: (J, 3) joints in the optical frame, in layout ``skeleton``.
        skeleton: layout name; capsules whose joints the layout lacks are skipped.
    Returns:
        ``image``.
    """
    layout = get_skeleton(skeleton)
    assert joints_cam.shape == (len(layout), 3), joints_cam.shape
    caps = [c for c in _CAPSULES if layout.has(c[0]) and layout.has(c[1])]
    ends = np.array([[joints_cam[layout.index(a)], joints_cam[layout.index(b)]] for a, b, _, _ in caps])  # (C, 2, 3)
    w = np.linspace(0, 1, _SAMPLES)[None, :, None]
    pts = ends[:, :1] * (1 - w) + ends[:, 1:] * w  # (C, S, 3)
    depth = pts[..., 2]
    px = camera.project(pts)  # (C, S, 2)
    # Local pixels-per-meter of the lens at each sample (includes distortion), for the radii.
    dx = np.linalg.norm(camera.project(pts + np.array([0.01, 0, 0])) - px, axis=-1) / 0.01
    for c in np.argsort(-depth.mean(axis=1)):  # painter's algorithm: far capsules first
        if np.any(depth[c] <= 0.1):
            continue
        radius, colour = caps[c][2], np.array(caps[c][3], dtype=np.float64)
        for k, shade in enumerate(_SHADES):
            scale = 1.0 - 0.22 * k
            col = tuple(int(v) for v in np.clip(colour * shade, 0, 255))
            for (u, v), ppm in zip(px[c], dx[c]):
                r = max(1, int(round(radius * ppm * scale)))
                cv2.circle(image, (int(round(u)), int(round(v))), r, col, -1, lineType=cv2.LINE_AA)
    return image


def render_frame(camera: Camera, R, t, joints_world: np.ndarray, skeleton: str = "mocap27",
                 background: np.ndarray | None = None) -> np.ndarray:
    """Render one frame: floor, sky, shadow and person.

    Args:
        camera: the lens; R, t: world -> optical mount.
        joints_world: (J, 3) world joints (m, Z up) in layout ``skeleton``.
        background: a cached ``render_background`` of this camera and mount.
    Returns:
        (H, W, 3) uint8 RGB image.
    """
    image = (render_background(camera, R, t) if background is None else background).copy()
    _shadow(image, camera, R, t, joints_world)
    return render_person(image, camera, joints_world @ np.asarray(R).T + t, skeleton)


class FrameRenderer:
    """Render a ``DemoScene`` frame by frame, caching one background per lens."""

    def __init__(self, scene) -> None:
        self.scene = scene
        self._backgrounds: dict[int, np.ndarray] = {}

    def __call__(self, frame: int) -> np.ndarray:
        """Return the RGB image of ``frame`` (H, W, 3) uint8."""
        index = int(self.scene.camera_index[frame])
        if index not in self._backgrounds:
            self._backgrounds[index] = render_background(self.scene.cameras[index], self.scene.R, self.scene.t)
        return render_frame(self.scene.camera(frame), self.scene.R, self.scene.t,
                            self.scene.joints_world[frame], self.scene.source_skeleton, self._backgrounds[index])
