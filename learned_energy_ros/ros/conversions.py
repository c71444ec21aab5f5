"""Message <-> core conversions: pure ``x_to_y`` functions raising ``ConversionError``.

Everything a node or ``process-bag`` needs to translate messages is importable
from here; point-cloud, image and marker conversions live in their own modules
and are re-exported.
"""
from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time
from sensor_msgs.msg import CameraInfo

from learned_energy_ros.core.camera import Camera, CameraError
from learned_energy_ros.ros.clouds import (
    KEYPOINT_FIELDS, cloud_to_keypoints, cloud_to_structured, joints_to_cloud, keypoints_to_cloud,
    points_to_cloud, structured_to_cloud,
)
from learned_energy_ros.ros.errors import ConversionError
from learned_energy_ros.ros.images import SUPPORTED_ENCODINGS, image_to_rgb, rgb_to_image
from learned_energy_ros.ros.markers import cube_list_marker, delete_markers, skeletons_to_markers

__all__ = [
    "ConversionError", "camera_info_to_camera", "camera_to_camera_info", "image_to_rgb", "rgb_to_image",
    "keypoints_to_cloud", "cloud_to_keypoints", "points_to_cloud", "joints_to_cloud", "structured_to_cloud",
    "cloud_to_structured", "skeletons_to_markers", "delete_markers", "cube_list_marker", "stamp_to_sec",
    "sec_to_stamp", "KEYPOINT_FIELDS", "SUPPORTED_ENCODINGS",
]


def camera_info_to_camera(msg) -> Camera:
    """Convert a sensor_msgs/CameraInfo into a ``Camera`` (frame from its header).

    Raises:
        ConversionError: K all zero, non-positive focal length, non-finite values,
            unknown distortion model or non-positive size.
    """
    try:
        return Camera.from_camera_info(msg)
    except CameraError as err:
        raise ConversionError(f"invalid CameraInfo: {err}") from None


def camera_to_camera_info(camera: Camera, header) -> CameraInfo:
    """Convert a ``Camera`` into a sensor_msgs/CameraInfo with ``header``."""
    fields = camera.to_camera_info_fields()
    msg = CameraInfo()
    msg.header = header
    msg.width, msg.height = int(fields["width"]), int(fields["height"])
    msg.distortion_model = fields["distortion_model"]
    msg.d = [float(v) for v in fields["d"]]
    msg.k = np.asarray(fields["k"], dtype=np.float64)
    msg.r = np.asarray(fields["r"], dtype=np.float64)
    msg.p = np.asarray(fields["p"], dtype=np.float64)
    return msg


def stamp_to_sec(stamp) -> float:
    """Convert a builtin_interfaces/Time to float seconds."""
    return float(stamp.sec) + 1e-9 * float(stamp.nanosec)


def sec_to_stamp(seconds: float) -> Time:
    """Convert float seconds (0 <= s < 2**31, the int32 ``sec`` field) to a builtin_interfaces/Time."""
    if not np.isfinite(seconds) or not 0 <= seconds < 2**31 - 1:
        raise ConversionError(f"cannot make a stamp from {seconds}")
    nanoseconds = int(round(seconds * 1e9))
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)
