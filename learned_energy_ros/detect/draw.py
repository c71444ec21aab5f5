"""Draw detected 2D skeletons with their person ids over an image (numpy + OpenCV)."""
from __future__ import annotations

import colorsys

import cv2
import numpy as np

from learned_energy_ros.core.skeleton import get_skeleton

__all__ = ["draw_detections", "id_color"]


def id_color(person: int) -> tuple[int, int, int]:
    """A distinct RGB colour per person id (golden-ratio hues)."""
    r, g, b = colorsys.hsv_to_rgb((int(person) * 0.618033988749895) % 1.0, 0.8, 0.95)
    return int(255 * r), int(255 * g), int(255 * b)


def draw_detections(rgb: np.ndarray, detections) -> np.ndarray:
    """Return a copy of ``rgb`` with each person's landmarks, bones, box and id drawn in its colour."""
    out = np.ascontiguousarray(rgb).copy()
    bones = get_skeleton(detections.layout).bone_indices
    thickness = max(1, round(max(out.shape[:2]) / 500))
    for points, scores, person, box in zip(detections.keypoints, detections.scores, detections.ids,
                                          detections.boxes):
        color = id_color(person)
        for a, b in bones:
            if scores[a] > 0 and scores[b] > 0:
                cv2.line(out, tuple(int(v) for v in points[a]), tuple(int(v) for v in points[b]), color,
                         thickness, cv2.LINE_AA)
        for (u, v), s in zip(points, scores):
            if s > 0:
                cv2.circle(out, (int(u), int(v)), thickness + 1, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.rectangle(out, (int(box[0]), int(box[1])), (int(box[2]), int(box[3])), color, 1)
        cv2.putText(out, f"id {int(person)}", (int(box[0]), max(int(box[1]) - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * thickness + 0.1, color, thickness, cv2.LINE_AA)
    return out


def draw_lifted(rgb: np.ndarray, camera, detections, joints: np.ndarray, energy=None) -> np.ndarray:
    """``draw_detections`` plus each lifted 3D skeleton (``h36m17``) reprojected through ``camera`` in black/colour.

    Args:
        joints: (N, 17, 3) metres in the optical frame, same order as ``detections``.
    """
    out = draw_detections(rgb, detections)
    bones = get_skeleton("h36m17").bone_indices
    thickness = max(1, round(max(out.shape[:2]) / 400))
    for n, person in enumerate(detections.ids):
        if joints[n][:, 2].min() <= 0.05:
            continue
        px = camera.project(np.asarray(joints[n], dtype=np.float64))  # (17, 2)
        for a, b in bones:
            p, q = tuple(int(v) for v in px[a]), tuple(int(v) for v in px[b])
            cv2.line(out, p, q, (0, 0, 0), thickness + 2, cv2.LINE_AA)
            cv2.line(out, p, q, id_color(person), thickness, cv2.LINE_AA)
        if energy is not None:
            top = px[np.argmin(px[:, 1])]
            cv2.putText(out, f"E={float(energy[n]):.1f}", (int(top[0]), max(int(top[1]) - 18, 10)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.45, id_color(person), 1, cv2.LINE_AA)
    return out
