"""Camera calibration files and a stated guess when there is none (pure Python, no ROS).

Reads the YAML written by ROS ``camera_calibration`` / ``camera_info_manager``
(``image_width``, ``camera_matrix.data``, ``distortion_model``,
``distortion_coefficients.data``, ...). Without a file, ``guess_camera`` builds
an undistorted pinhole from the image size and a stated horizontal field of view.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from learned_energy_ros.core.camera import Camera, CameraError

__all__ = ["load_calibration_yaml", "guess_camera", "DEFAULT_HFOV_DEG"]

log = logging.getLogger(__name__)

#: Horizontal field of view assumed without a calibration: a typical laptop webcam / phone main camera.
DEFAULT_HFOV_DEG = 60.0


def _matrix(data: dict, key: str, size: int | None):
    entry = data.get(key)
    if entry is None:
        return None
    values = entry.get("data") if isinstance(entry, dict) else entry
    values = [float(v) for v in (values or [])]
    if size is not None and len(values) != size:
        raise CameraError(f"calibration field {key} has {len(values)} values, expected {size}")
    return values


def load_calibration_yaml(path: str | Path, frame_id: str = "camera_optical_frame") -> Camera:
    """Load a ``camera_calibration``/``camera_info_manager`` YAML file as a ``Camera``.

    Raises:
        CameraError: missing file, unreadable YAML, missing or inconsistent fields.
    """
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise CameraError(f"cannot read calibration {path}: {err}") from None
    if not isinstance(data, dict) or "camera_matrix" not in data:
        raise CameraError(f"{path} is not a camera calibration YAML (no camera_matrix)")
    fields = {"k": _matrix(data, "camera_matrix", 9), "d": _matrix(data, "distortion_coefficients", None) or [],
              "distortion_model": data.get("distortion_model", "plumb_bob") or "",
              "width": int(data.get("image_width", 0)), "height": int(data.get("image_height", 0)),
              "frame_id": frame_id}
    camera = Camera.from_camera_info(fields)
    log.info("camera from %s (%s): fx=%.1f fy=%.1f, %dx%d, %s", path, data.get("camera_name", "unnamed"),
             camera.K[0, 0], camera.K[1, 1], camera.width, camera.height, camera.distortion_model)
    return camera


def guess_camera(width: int, height: int, hfov_deg: float = DEFAULT_HFOV_DEG,
                 frame_id: str = "camera_optical_frame") -> Camera:
    """An undistorted pinhole for a ``width`` x ``height`` image with horizontal field of view ``hfov_deg``.

    Metric depth scales with this guess (a 10 % focal error is about 10 % depth
    error), so the assumption is logged at WARNING level.
    """
    if width <= 0 or height <= 0 or not 1.0 < hfov_deg < 179.0:
        raise CameraError(f"cannot guess a camera for {width}x{height} with a {hfov_deg} deg field of view")
    f = 0.5 * width / math.tan(math.radians(hfov_deg) / 2)
    log.warning("no calibration given: assuming an undistorted pinhole with a %.0f deg horizontal field of view "
                "(fx = fy = %.1f px, centre %.1f, %.1f) for %dx%d images; pass a calibration YAML for metric depth",
                hfov_deg, f, width / 2, height / 2, width, height)
    K = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]])
    return Camera(K=K, D=np.zeros(5), distortion_model="plumb_bob", width=int(width), height=int(height),
                  frame_id=frame_id)
