"""hri_msgs <-> keypoints: the REP-155 body outputs and the Skeleton2D input.

Pure ``x_to_y`` functions raising ``ConversionError``. Skeleton2D carries the 18 joints
of the ``hri18`` layout in image coordinates normalized by the image size; the lifter's
layouts are reached by joint name (``remap_joints``), so the mapping is data.
Importing this module needs hri_msgs (``scripts/build_interfaces.py``
or a ROS install); the node checks that first.
"""
from __future__ import annotations

import numpy as np

from hri_msgs.msg import IdsList, NormalizedPointOfInterest2D, NormalizedRegionOfInterest2D, Skeleton2D

from learned_energy_ros.core.skeleton import get_skeleton, remap_joints
from learned_energy_ros.ros.errors import ConversionError

__all__ = ["HRI_SKELETON", "skeleton2d_message", "roi_message", "ids_message", "skeleton2d_to_points",
           "points_to_keypoints"]

#: Layout of ``hri_msgs/Skeleton2D.skeleton`` (core/skeleton.py).
HRI_SKELETON = "hri18"


def _size(width: int, height: int) -> np.ndarray:
    if not (width > 0 and height > 0):
        raise ConversionError(f"image size {width}x{height} cannot normalize coordinates")
    return np.array([float(width), float(height)])


def skeleton2d_message(header, keypoints, scores, input_skeleton: str, width: int, height: int) -> Skeleton2D:
    """One person's 2D keypoints (pixels, ``input_skeleton``) as a Skeleton2D; joints it lacks get c = 0.

    Coordinates are normalized to [0, 1] (the message's range): a joint beyond the image border is clipped to it.
    """
    points, conf = remap_joints(np.asarray(keypoints, dtype=np.float64)[None], np.asarray(scores)[None],
                                input_skeleton, HRI_SKELETON)
    xy = np.where(conf[0, :, None] > 0, np.clip(points[0] / _size(width, height), 0.0, 1.0), 0.0)  # (18, 2)
    return Skeleton2D(header=header, skeleton=[
        NormalizedPointOfInterest2D(x=float(x), y=float(y), c=float(c)) for (x, y), c in zip(xy, conf[0])])


def roi_message(header, keypoints, scores, width: int, height: int) -> NormalizedRegionOfInterest2D:
    """The normalized box around one person's visible keypoints (c: their mean score)."""
    seen = np.asarray(scores) > 0
    if not seen.any():
        raise ConversionError("no visible keypoint to bound")
    xy = np.clip(np.asarray(keypoints, dtype=np.float64)[seen] / _size(width, height), 0.0, 1.0)  # (V, 2)
    (xmin, ymin), (xmax, ymax) = xy.min(0), xy.max(0)
    return NormalizedRegionOfInterest2D(header=header, xmin=float(xmin), ymin=float(ymin), xmax=float(xmax),
                                        ymax=float(ymax), c=float(np.asarray(scores)[seen].mean()))


def ids_message(header, ids) -> IdsList:
    """``/humans/bodies/tracked``."""
    return IdsList(header=header, ids=[str(i) for i in ids])


def skeleton2d_to_points(msg) -> np.ndarray:
    """(18, 3) ``x, y, c`` of a Skeleton2D (normalized image coordinates, confidence).

    Raises:
        ConversionError: not 18 points, or a non-finite value on a joint with c > 0.
    """
    pts = np.array([(p.x, p.y, p.c) for p in msg.skeleton], dtype=np.float64).reshape(-1, 3)
    if pts.shape != (len(get_skeleton(HRI_SKELETON)), 3):
        raise ConversionError(f"Skeleton2D has {len(pts)} points, expected {len(get_skeleton(HRI_SKELETON))}")
    if not np.all(np.isfinite(pts[:, 2])) or not np.all(np.isfinite(pts[pts[:, 2] > 0, :2])):
        raise ConversionError("Skeleton2D has NaN or inf coordinates")
    return pts


def points_to_keypoints(points, input_skeleton: str, width: int, height: int):
    """(N, 18, 3) normalized Skeleton2D points -> ``(keypoints (N, J, 2) pixels, scores (N, J))`` in ``input_skeleton``."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, len(get_skeleton(HRI_SKELETON)), 3)
    return remap_joints(points[..., :2] * _size(width, height), points[..., 2], HRI_SKELETON, input_skeleton)

