"""The scripted demo scene: a moving person seen by a fixed camera whose lens is swapped midway.

The scene is pure data (numpy + ``Camera``): world joints, the camera mount
(world -> optical frame), the camera model in use at each frame, the true 3D
joints in the optical frame and detector-like 2D keypoints (pixel noise, low
scores, missed and out-of-image joints). Nothing here knows about ROS.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.skeleton import TRAINING_SKELETON, get_skeleton, remap_joints
from learned_energy_ros.core.virtual_camera import DetectorNoise, observe

__all__ = ["SceneError", "demo_noise", "DemoScene", "demo_cameras", "look_at", "build_scene"]

log = logging.getLogger(__name__)


class SceneError(ValueError):
    """Raised for an unusable scene request (too few frames, bad motion array)."""


def demo_noise() -> DetectorNoise:
    """Detector corruption of the demo: 2 px noise, a few confident outliers, missed joints."""
    return DetectorNoise(sigma_px=2.0, outlier_prob=0.02, dropout_prob=0.06, limb_dropout_prob=0.03)


def demo_cameras(frame_id: str = "demo_camera_optical_frame") -> tuple[Camera, Camera]:
    """Return the two lenses of the demo: a mild plumb_bob camera and a wide fisheye.

    They differ in image size, focal length, principal point and distortion
    model, so the swap exercises every part of a new CameraInfo.
    """
    a = Camera(K=np.array([[520.0, 0, 318.0], [0, 518.0, 242.0], [0, 0, 1]]),
               D=np.array([-0.12, 0.06, 0.0008, -0.0005, 0.0]), distortion_model="plumb_bob",
               width=640, height=480, frame_id=frame_id)
    b = Camera(K=np.array([[400.0, 0, 425.0], [0, 400.0, 236.0], [0, 0, 1]]),
               D=np.array([0.05, -0.02, 0.004, -0.001]), distortion_model="equidistant",
               width=848, height=480, frame_id=frame_id)
    return a, b


def look_at(eye, target) -> tuple[np.ndarray, np.ndarray]:
    """World -> optical-frame transform of a camera at ``eye`` looking at ``target`` (Z-up world).

    Returns:
        ``(R, t)`` with ``p_cam = R @ p_world + t``; R rows are the optical x (right), y (down), z (forward).
    """
    eye, target = np.asarray(eye, float), np.asarray(target, float)
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    if np.linalg.norm(x) < 1e-6:
        raise SceneError("camera cannot look straight up or down")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    return R, -R @ eye


@dataclass
class DemoScene:
    """Everything the demo publishes and scores, per frame.

    Attributes:
        joints_world: (T, 27, 3) ground truth in the world (m, Z up), ``mocap27``.
        joints_cam: (T, 17, 3) ground truth in the optical frame, ``h36m17`` (the lifter's output layout).
        keypoints: (T, J, 2) noisy raw pixels in ``input_skeleton``.
        scores: (T, J) detector confidences (0 = missing).
        cameras: the lenses; ``camera_index`` (T,) says which is on at each frame.
        R, t: the fixed camera mount (world -> optical).
        fps: frame rate; ``swap_frame``: first frame seen through ``cameras[1]``.
        segments: (name, start, end) actions of the motion.
    """

    joints_world: np.ndarray
    joints_cam: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    cameras: tuple
    camera_index: np.ndarray
    R: np.ndarray
    t: np.ndarray
    fps: float
    swap_frame: int
    input_skeleton: str = "coco17"
    source_skeleton: str = "mocap27"
    segments: tuple = ()

    def __len__(self) -> int:
        return self.joints_world.shape[0]

    def camera(self, frame: int) -> Camera:
        """Return the lens in use at ``frame``."""
        return self.cameras[int(self.camera_index[frame])]

    def world_to_camera(self, points):
        """Map world points (..., 3) into the optical frame."""
        return np.asarray(points) @ self.R.T + self.t

    def phase(self, frame: int) -> str:
        """``"before_swap"`` or ``"after_swap"``."""
        return "before_swap" if frame < self.swap_frame else "after_swap"


def _mount(joints_world: np.ndarray, distance: float, height: float):
    """Place the camera facing the motion's end heading, far enough to frame the whole path."""
    pelvis = joints_world[:, 0, :]  # (T, 3)
    center = 0.5 * (pelvis.min(0) + pelvis.max(0))
    extent = float(np.linalg.norm(pelvis.max(0)[:2] - pelvis.min(0)[:2]))
    last = joints_world[-1]
    # Facing direction at the end (left hip -> right hip, rotated): the camera sits in front of it.
    skel = get_skeleton("mocap27")
    across = last[skel.index("left_hip")] - last[skel.index("right_hip")]
    facing = np.array([-across[1], across[0], 0.0])
    facing /= max(np.linalg.norm(facing), 1e-9)
    dist = max(distance, 1.1 * extent + 2.0)
    eye = np.array([center[0], center[1], 0.0]) + dist * facing
    eye[2] = height
    return look_at(eye, [center[0], center[1], 0.9])


def build_scene(joints_world: np.ndarray, fps: float = 30.0, seed: int = 0, input_skeleton: str = "coco17",
                noise: DetectorNoise | None = None, swap_at: float = 0.5, cameras=None,
                distance: float = 4.5, height: float = 1.6, segments=()) -> DemoScene:
    """Script the scene around a motion clip.

    Args:
        joints_world: (T, 27, 3) ``mocap27`` motion in world meters, Z up (procedural or mocap).
        fps: frame rate of the clip.
        seed: seeds the detector noise.
        input_skeleton: layout of the published 2D keypoints.
        noise: detector corruption (default ``demo_noise()``).
        swap_at: clip fraction at which the lens changes (camera swap).
        cameras: the two lenses (default ``demo_cameras()``).
        distance, height: minimum camera distance and height of the mount (m).
        segments: (name, start, end) of the motion's actions, kept for reports.
    Returns:
        The ``DemoScene``.
    """
    joints_world = np.asarray(joints_world, dtype=np.float64)
    if joints_world.ndim != 3 or joints_world.shape[1:] != (27, 3):
        raise SceneError(f"expected mocap27 joints (T, 27, 3), got {joints_world.shape}")
    T = joints_world.shape[0]
    if T < 2 or not np.all(np.isfinite(joints_world)):
        raise SceneError("the motion needs at least 2 finite frames")
    cameras = tuple(cameras or demo_cameras())
    noise = noise or demo_noise()
    rng = np.random.default_rng(seed)
    R, t = _mount(joints_world, distance, height)
    cam27 = joints_world @ R.T + t  # (T, 27, 3)
    swap_frame = int(np.clip(round(swap_at * T), 1, T - 1))
    camera_index = (np.arange(T) >= swap_frame).astype(np.int64)
    ones = np.ones(cam27.shape[:2])
    joints_in = remap_joints(cam27, ones, "mocap27", input_skeleton)[0]  # (T, J, 3)
    keypoints = np.zeros(joints_in.shape[:2] + (2,))  # (T, J, 2)
    scores = np.zeros(joints_in.shape[:2])  # (T, J)
    for index, cam in enumerate(cameras):
        on = camera_index == index
        if on.any():
            keypoints[on], scores[on], _ = observe(joints_in[on], cam, noise, rng, input_skeleton)
    joints_cam = remap_joints(cam27, ones, "mocap27", TRAINING_SKELETON)[0]  # (T, 17, 3)
    log.debug("scene: %d frames, swap at %d, %.0f%% joints detected", T, swap_frame, 100 * np.mean(scores > 0))
    return DemoScene(joints_world, joints_cam, keypoints, scores, cameras, camera_index, R, t, float(fps),
                     swap_frame, input_skeleton, "mocap27", tuple(segments))
