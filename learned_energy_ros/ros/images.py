"""sensor_msgs/Image <-> (H, W, 3) uint8 RGB arrays.

Common encodings are converted here so the package works where ``cv_bridge``
is absent (pip installs); ``cv_bridge`` is used only for encodings this module
does not know, when it is importable.
"""
from __future__ import annotations

import sys

import cv2
import numpy as np
from sensor_msgs.msg import Image

from learned_energy_ros.ros.errors import ConversionError

__all__ = ["image_to_rgb", "rgb_to_image", "SUPPORTED_ENCODINGS"]

# encoding -> (numpy dtype, channels)
_LAYOUT = {
    "rgb8": (np.uint8, 3), "bgr8": (np.uint8, 3), "rgba8": (np.uint8, 4), "bgra8": (np.uint8, 4),
    "mono8": (np.uint8, 1), "8UC1": (np.uint8, 1), "8UC3": (np.uint8, 3),
    "mono16": (np.uint16, 1), "16UC1": (np.uint16, 1),
    "yuv422": (np.uint8, 2), "uyvy": (np.uint8, 2), "yuv422_yuy2": (np.uint8, 2), "yuyv": (np.uint8, 2),
}
_TO_RGB = {
    "bgr8": cv2.COLOR_BGR2RGB, "8UC3": cv2.COLOR_BGR2RGB, "rgba8": cv2.COLOR_RGBA2RGB, "bgra8": cv2.COLOR_BGRA2RGB,
    "mono8": cv2.COLOR_GRAY2RGB, "8UC1": cv2.COLOR_GRAY2RGB,
    "yuv422": cv2.COLOR_YUV2RGB_UYVY, "uyvy": cv2.COLOR_YUV2RGB_UYVY,
    "yuv422_yuy2": cv2.COLOR_YUV2RGB_YUY2, "yuyv": cv2.COLOR_YUV2RGB_YUY2,
}
_FROM_RGB = {"rgb8": None, "bgr8": cv2.COLOR_RGB2BGR, "rgba8": cv2.COLOR_RGB2RGBA, "bgra8": cv2.COLOR_RGB2BGRA,
             "mono8": cv2.COLOR_RGB2GRAY}
SUPPORTED_ENCODINGS = tuple(_LAYOUT)


def _as_array(msg) -> np.ndarray:
    dtype, channels = _LAYOUT[msg.encoding]
    item = np.dtype(dtype).itemsize
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise ConversionError(f"image has size {width}x{height}")
    if step < width * channels * item:
        raise ConversionError(f"step {step} < width*channels*bytes = {width * channels * item} for {msg.encoding}")
    try:
        data = memoryview(msg.data).cast("B")
    except TypeError:  # a list or an array type without the buffer protocol
        data = np.asarray(msg.data, dtype=np.uint8).tobytes()
    if len(data) < height * step:
        raise ConversionError(f"image data has {len(data)} bytes, expected height*step = {height * step}")
    rows = np.frombuffer(data, dtype=np.uint8, count=height * step).reshape(height, step)
    pixels = rows[:, : width * channels * item].copy().view(dtype)
    if item > 1 and bool(msg.is_bigendian) != (sys.byteorder == "big"):
        pixels = pixels.byteswap()
    return pixels.reshape(height, width, channels)


def _mono16_to_8(pixels: np.ndarray, encoding: str) -> np.ndarray:
    if encoding == "mono16":  # a true 16-bit intensity image: keep the top byte
        return (pixels >> 8).astype(np.uint8)
    # 16UC1 is usually depth in mm: stretch its valid range for display
    valid = pixels[pixels > 0]
    lo, hi = (int(valid.min()), int(valid.max())) if valid.size else (0, 1)
    scaled = (pixels.astype(np.float64) - lo) * (255.0 / max(hi - lo, 1))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _via_cv_bridge(msg) -> np.ndarray:
    try:
        from cv_bridge import CvBridge, CvBridgeError
    except ImportError:
        raise ConversionError(
            f"unsupported image encoding {msg.encoding!r}; supported without cv_bridge: {', '.join(SUPPORTED_ENCODINGS)}"
        ) from None
    try:
        return np.ascontiguousarray(CvBridge().imgmsg_to_cv2(msg, desired_encoding="rgb8"))
    except CvBridgeError as err:
        raise ConversionError(f"cv_bridge cannot convert {msg.encoding!r}: {err}") from None


def image_to_rgb(msg) -> np.ndarray:
    """Convert a sensor_msgs/Image to an (H, W, 3) uint8 RGB array (a copy).

    Raises:
        ConversionError: unsupported encoding, or data/step inconsistent with the size.
    """
    if msg.encoding not in _LAYOUT:
        return _via_cv_bridge(msg)
    pixels = _as_array(msg)  # (H, W, C)
    if pixels.dtype == np.uint16:
        pixels = _mono16_to_8(pixels[..., 0], msg.encoding)[..., None]
    code = _TO_RGB.get(msg.encoding)
    if msg.encoding in ("mono16", "16UC1"):
        code = cv2.COLOR_GRAY2RGB
    rgb = pixels if code is None else cv2.cvtColor(pixels, code)
    return np.ascontiguousarray(rgb.reshape(pixels.shape[0], pixels.shape[1], 3))


def rgb_to_image(array, header, encoding: str = "bgr8") -> Image:
    """Convert an (H, W, 3) uint8 RGB array to a sensor_msgs/Image.

    Args:
        array: (H, W, 3) uint8 RGB.
        header: std_msgs/Header copied into the message.
        encoding: one of rgb8, bgr8, rgba8, bgra8, mono8.
    """
    array = np.asarray(array)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8 or array.size == 0:
        raise ConversionError(f"expected an (H, W, 3) uint8 RGB array, got {array.shape} {array.dtype}")
    if encoding not in _FROM_RGB:
        raise ConversionError(f"cannot encode {encoding!r}; choose one of {', '.join(_FROM_RGB)}")
    code = _FROM_RGB[encoding]
    pixels = np.ascontiguousarray(array if code is None else cv2.cvtColor(array, code))
    msg = Image()
    msg.header = header
    msg.height, msg.width = int(pixels.shape[0]), int(pixels.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(pixels.strides[0])
    msg.data = pixels.tobytes()
    return msg
