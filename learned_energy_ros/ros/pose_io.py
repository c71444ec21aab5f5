"""Translate pose_lifter messages to a ``KeypointFrame`` and a ``FrameResult`` back to messages.

Shared by the node and ``process-bag`` so both publish byte-identical outputs.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from std_msgs.msg import Header

from learned_energy_ros.core.skeleton import get_skeleton
from learned_energy_ros.pose.box_hints import assign_boxes
from learned_energy_ros.pose.pipeline import FrameResult, FrameSkipped, KeypointFrame
from learned_energy_ros.ros.clouds import cloud_to_keypoints, joints_to_cloud
from learned_energy_ros.ros.conversions import camera_info_to_camera, stamp_to_sec
from learned_energy_ros.ros.detections import best_hypothesis, box_of
from learned_energy_ros.ros.errors import ConversionError
from learned_energy_ros.ros.images import image_to_rgb, rgb_to_image
from learned_energy_ros.ros.markers import skeletons_to_cdr
from learned_energy_ros.ros.overlay import draw_overlay

__all__ = ["messages_to_frame", "group_to_frame", "apply_box_hints", "detections_to_boxes", "PoseOutputs", "result_to_messages", "overlay_message"]


def messages_to_frame(info, cloud, input_skeleton: str) -> KeypointFrame:
    """Build a ``KeypointFrame`` from a synchronized CameraInfo + keypoint cloud.

    Raises:
        FrameSkipped: ``frame_id_mismatch`` (both frame_ids set and different),
            ``invalid_camera``, ``skeleton_mismatch`` (joint index beyond the layout)
            or ``bad_keypoints`` (malformed cloud).
    """
    camera = _checked_camera(info, cloud.header.frame_id)
    num_joints = len(get_skeleton(input_skeleton))
    try:
        keypoints, scores, ids = cloud_to_keypoints(cloud, num_joints)
    except ConversionError as err:
        reason = "skeleton_mismatch" if "out of range" in str(err) else "bad_keypoints"
        raise FrameSkipped(reason, f"{err} (input_skeleton={input_skeleton})") from None
    return KeypointFrame(stamp_to_sec(cloud.header.stamp), camera, keypoints, scores, ids)


def group_to_frame(info, group, input_skeleton: str, id_table) -> KeypointFrame:
    """Build a ``KeypointFrame`` from a CameraInfo + the Skeleton2D messages of one image (``BodyGroup``).

    Args:
        id_table: ``IdTable`` giving the detector's string body ids stable integers.
    Raises:
        FrameSkipped: as ``messages_to_frame``, or ``bad_keypoints`` for a malformed Skeleton2D.
    """
    from learned_energy_ros.ros.hri_io import points_to_keypoints
    from learned_energy_ros.ros.skeleton2d_input import group_points

    camera = _checked_camera(info, group.header.frame_id)
    try:
        keypoints, scores = points_to_keypoints(group_points(group), input_skeleton, camera.width, camera.height)
    except ConversionError as err:
        raise FrameSkipped("bad_keypoints", str(err)) from None
    ids = np.array([id_table(i) for i in group.ids], dtype=np.int64)
    return KeypointFrame(stamp_to_sec(group.header.stamp), camera, keypoints, scores, ids)


def _checked_camera(info, frame_id: str):
    """The camera of ``info``, for 2D in ``frame_id`` (raises ``FrameSkipped``)."""
    frames = (info.header.frame_id, frame_id)
    if all(frames) and frames[0] != frames[1]:  # 2D of one camera with another's calibration
        raise FrameSkipped("frame_id_mismatch", f"camera_info frame {frames[0]!r} != keypoints frame {frames[1]!r}")
    try:
        return _camera(info)
    except ConversionError as err:
        raise FrameSkipped("invalid_camera", str(err)) from None


def detections_to_boxes(msg, classes=()) -> tuple[np.ndarray, list[str]]:
    """Person boxes of a vision_msgs/Detection2DArray: ``(boxes (B, 4) xmin, ymin, xmax, ymax px, ids)``.

    Args:
        msg: Detection2DArray.
        classes: class ids that mean "person" (a detection qualifies when its best hypothesis is one);
            empty: every detection.
    Raises:
        ConversionError: a box without a finite centre and a positive size.
    """
    boxes, ids = [], []
    for det in msg.detections:
        if classes and (not det.results or best_hypothesis(det)[0] not in classes):
            continue
        x, y, w, h = box_of(det)
        boxes.append((x, y, x + w, y + h))
        ids.append(det.id)
    return np.array(boxes, dtype=np.float64).reshape(-1, 4), ids


def apply_box_hints(frame: KeypointFrame, detections, classes, id_table) -> int:
    """Give the persons of ``frame`` that lie in a tracked person box (Detection2DArray) that box's id.

    The id goes to ``frame.person_ids`` (the tracker's prior); boxes without an id carry no hint.
    Returns the number of persons hinted. Raises ``FrameSkipped`` (``bad_detections``) for malformed boxes.
    """
    try:
        boxes, ids = detections_to_boxes(detections, classes)
    except ConversionError as err:
        raise FrameSkipped("bad_detections", str(err)) from None
    tracked = [k for k, i in enumerate(ids) if i]
    match = assign_boxes(frame.keypoints, frame.scores > 0, boxes[tracked])  # (N,)
    hinted = match >= 0
    frame.person_ids = np.asarray(frame.person_ids, dtype=np.int64).copy()
    frame.person_ids[hinted] = [id_table(ids[tracked[m]]) for m in match[hinted]]
    return int(hinted.sum())


_CAMERAS: OrderedDict = OrderedDict()  # calibration -> Camera: a camera sends the same CameraInfo every frame
_CAMERA_CACHE = 64


def _camera(info):
    """``camera_info_to_camera`` with a small cache keyed on every field it reads (Camera is immutable)."""
    key = (info.header.frame_id, np.asarray(info.k, dtype=np.float64).tobytes(),
           np.asarray(info.d, dtype=np.float64).tobytes(), info.distortion_model, int(info.width), int(info.height))
    camera = _CAMERAS.get(key)
    if camera is None:
        camera = _CAMERAS[key] = camera_info_to_camera(info)
        while len(_CAMERAS) > _CAMERA_CACHE:
            _CAMERAS.popitem(last=False)
    return camera


@dataclass
class PoseOutputs:
    """Messages of one processed frame (overlay only when an image was given).

    ``markers`` is the serialized MarkerArray (bytes): publishers and bag writers take it as is.
    """

    markers: bytes
    joints: object
    overlay: object | None = None


def result_to_messages(result: FrameResult, header, marker_lifetime: float = 0.5) -> PoseOutputs:
    """Translate a ``FrameResult`` to the ``~/skeletons`` and ``~/joints`` messages (frame from ``header``)."""
    # rejected skeletons must not linger from the previous frame either: DELETE them too
    markers = skeletons_to_cdr(header, result.joints, result.track_ids, result.skeleton, result.energy,
                               lifetime_s=marker_lifetime, vanished_ids=result.vanished, deleted_ids=result.rejected)
    joints = joints_to_cloud(header, result.joints, result.track_ids, result.confidence, result.energy)
    return PoseOutputs(markers, joints)


def overlay_message(result: FrameResult, image_msg, input_skeleton: str):
    """Draw the result over the image message; return an Image with the image's header and encoding.

    Raises:
        ConversionError: unsupported image encoding or malformed image.
    """
    rgb = image_to_rgb(image_msg)
    drawn = draw_overlay(rgb, result.camera, result.keypoints, result.scores, result.joints, result.track_ids,
                         input_skeleton, result.skeleton, result.energy)
    encoding = image_msg.encoding if image_msg.encoding in ("rgb8", "bgr8", "rgba8", "bgra8") else "bgr8"
    return rgb_to_image(drawn, Header(stamp=image_msg.header.stamp, frame_id=image_msg.header.frame_id), encoding)
