"""Bring any camera's image to the model's canonical pinhole input (undistort + resample)."""
from __future__ import annotations

import cv2
import numpy as np

from learned_energy_ros.core.camera import Camera

__all__ = ["canonical_camera_for", "resample_to_canonical", "scale_camera"]


def _roi_box(camera: Camera, roi) -> tuple[float, float, float, float]:
    if roi is None or len(roi) == 0 or (len(roi) == 4 and roi[2] <= 0 and roi[3] <= 0):
        return 0.0, 0.0, float(camera.width), float(camera.height)
    x, y, w, h = (float(v) for v in roi)
    if w <= 0 or h <= 0:
        raise ValueError(f"roi width and height must be positive, got {roi}")
    return x, y, w, h


def canonical_camera_for(camera: Camera, size: int, roi=None) -> Camera:
    """Return the square ``size`` x ``size`` pinhole camera that frames the ROI.

    The virtual camera shares the real camera's optical frame (same centre and
    axes, no distortion); its square field of view is the smallest square in
    undistorted normalized coordinates that contains the ROI (x, y, w, h in raw
    pixels; ``None`` = the whole image).
    """
    x, y, w, h = _roi_box(camera, roi)
    t = np.linspace(0.0, 1.0, 9)
    edge = np.concatenate([np.stack([x + t * w, np.full_like(t, y)], 1), np.stack([x + t * w, np.full_like(t, y + h)], 1),
                           np.stack([np.full_like(t, x), y + t * h], 1), np.stack([np.full_like(t, x + w), y + t * h], 1)])
    xy = camera.normalize(edge - 0.5)  # pixel p covers [p - 0.5, p + 0.5]: shift edges to centres' frame
    lo, hi = xy.min(0), xy.max(0)
    centre, side = 0.5 * (lo + hi), float((hi - lo).max())
    f = size / side
    c = size / 2 - 0.5 - f * centre
    return Camera.pinhole(f, f, float(c[0]), float(c[1]), size, size, camera.frame_id)


def scale_camera(camera: Camera, factor: float, width: int, height: int) -> Camera:
    """Return ``camera`` for an image resized by ``factor`` (pixel centres kept consistent)."""
    K = camera.K.copy()
    K[0, :] *= factor
    K[1, :] *= factor
    K[0, 2] = (camera.cx + 0.5) * factor - 0.5
    K[1, 2] = (camera.cy + 0.5) * factor - 0.5
    return Camera(K, camera.D, camera.distortion_model, width, height, camera.frame_id)


def resample_to_canonical(image: np.ndarray, camera: Camera, size: int, roi=None) -> tuple[np.ndarray, Camera]:
    """Undistort and resample ``image`` into the canonical pinhole camera (an image operation, not a pose one).

    Args:
        image: (H, W, 3) uint8 raw image of ``camera``.
        camera: its calibration.
        size: canonical image size S.
        roi: optional (x, y, w, h) region in raw pixels.

    Returns:
        (canonical image (S, S, 3) uint8, canonical camera).
    """
    target = canonical_camera_for(camera, size, roi)
    src, cam = image, camera
    shrink = target.fx / camera.fx  # < 1 when the canonical view is coarser than the raw image
    if shrink < 0.75:  # pre-shrink with area averaging so the bilinear remap does not alias
        w, h = max(1, round(camera.width * shrink)), max(1, round(camera.height * shrink))
        src = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        cam = scale_camera(camera, w / camera.width, w, h)
    uu, vv = np.meshgrid(np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64))
    xy = np.stack([(uu - target.cx) / target.fx, (vv - target.cy) / target.fy], axis=-1)  # (S, S, 2)
    px = cam.normalized_to_pixels(xy).astype(np.float32)
    out = cv2.remap(src, px[..., 0], px[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, target
