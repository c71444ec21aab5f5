"""Draw 2D input keypoints and reprojected 3D skeletons over an image (numpy + OpenCV, no ROS)."""
from __future__ import annotations

import colorsys

import cv2
import numpy as np

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.skeleton import get_skeleton

__all__ = ["draw_overlay"]


def _color(track_id: int) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb((int(track_id) * 0.618033988749895) % 1.0, 0.75, 0.95)
    return int(255 * r), int(255 * g), int(255 * b)


def draw_overlay(rgb: np.ndarray, camera: Camera, keypoints, scores, joints, track_ids,
                 input_skeleton="coco17", output_skeleton="h36m17", energies=None) -> np.ndarray:
    """Return a copy of ``rgb`` with the 2D input (white dots) and the 3D result reprojected (track colours).

    Args:
        rgb: (H, W, 3) uint8.
        camera: the frame's camera (the 3D joints are projected through it, distortion included).
        keypoints: (N, J, 2) input pixels; scores (N, J) (0 = missing).
        joints: (N, K, 3) meters, optical frame; track_ids (N,).
        energies: (N,) optional, written next to each skeleton.
    """
    out = np.ascontiguousarray(rgb).copy()
    skeleton = get_skeleton(output_skeleton)
    joints = np.asarray(joints, dtype=np.float64).reshape(-1, len(skeleton), 3)  # (N, K, 3)
    if len(joints) == 0:  # nobody in this frame (an empty keypoint cloud): the plain image
        return out
    keypoints = np.asarray(keypoints, dtype=np.float64).reshape(len(joints), -1, 2)  # (N, J, 2)
    scores = np.asarray(scores).reshape(keypoints.shape[:2])
    thickness = max(1, round(out.shape[1] / 400))
    for n, track in enumerate(np.asarray(track_ids).reshape(-1)):
        color = _color(track)
        px = camera.project(joints[n])  # (K, 2)
        in_front = joints[n][:, 2] > 0.05
        for a, b in skeleton.bone_indices:
            if in_front[a] and in_front[b] and np.all(np.isfinite(px[[a, b]])) and np.all(np.abs(px[[a, b]]) < 1e5):
                cv2.line(out, tuple(int(v) for v in px[a]), tuple(int(v) for v in px[b]), color, thickness, cv2.LINE_AA)
        for (u, v), s in zip(keypoints[n], scores[n]):
            if s > 0:
                cv2.circle(out, (int(u), int(v)), thickness + 1, (255, 255, 255), -1, cv2.LINE_AA)
        if energies is not None and in_front.any():
            top = px[in_front][np.argmin(px[in_front][:, 1])]
            cv2.putText(out, f"{track}: E={float(np.asarray(energies).reshape(-1)[n]):.2g}",
                        (int(top[0]), max(int(top[1]) - 8, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, color,
                        thickness, cv2.LINE_AA)
    return out
