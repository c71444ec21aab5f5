"""The demo's ROS side: publish scene frames to the real nodes, collect their outputs, record a bag.

``DemoPlayer`` is a plain rclpy node. It publishes CameraInfo, the keypoint
cloud and the rendered image with one stamp per frame, and stores what the
``pose_lifter`` publishes back (joints by stamp, overlay images, marker
counts). Every message it sends or receives can also go to a ``BagRecorder``.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.serialization import serialize_message
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from learned_energy_ros.ros.clouds import cloud_to_structured, keypoints_to_cloud
from learned_energy_ros.ros.conversions import camera_to_camera_info, image_to_rgb, sec_to_stamp
from learned_energy_ros.ros.images import rgb_to_image

__all__ = ["DemoTopics", "DemoPlayer", "joints_from_cloud"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoTopics:
    """Absolute topic names the demo talks on (the node's inputs and outputs)."""

    camera_info: str = "/camera/camera_info"
    keypoints: str = "/camera/keypoints"
    image: str = "/camera/image"
    joints: str = "/pose_lifter/joints"
    skeletons: str = "/pose_lifter/skeletons"
    overlay: str = "/pose_lifter/overlay"


def joints_from_cloud(msg, num_joints: int) -> dict:
    """Parse a ``~/joints`` cloud into ``{person: {"joints": (K, 3), "energy": float}}``."""
    points = cloud_to_structured(msg)
    people = {}
    for person in np.unique(points["person"]):
        rows = points[points["person"] == person]
        joints = np.full((num_joints, 3), np.nan)
        idx = rows["joint"].astype(int)
        joints[idx] = np.stack([rows["x"], rows["y"], rows["z"]], axis=-1)
        people[int(person)] = {"joints": joints, "energy": float(rows["energy"][0]) if len(rows) else np.nan}
    return people


def _reliable(depth: int) -> QoSProfile:
    return QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE)


def _best_effort(depth: int) -> QoSProfile:
    return QoSProfile(depth=depth, reliability=ReliabilityPolicy.BEST_EFFORT)


class DemoPlayer(Node):
    """Publish demo frames and collect the pose lifter's answers.

    Args:
        topics: topic names.
        num_joints: joints per output skeleton (17 for h36m17).
        bag: optional ``BagRecorder`` receiving every message sent and received.
        image_encoding: encoding of the published camera images.
    """

    def __init__(self, topics: DemoTopics = DemoTopics(), num_joints: int = 17, bag=None,
                 image_encoding: str = "rgb8") -> None:
        super().__init__("demo_player")
        self.topics, self.num_joints, self.bag, self.encoding = topics, num_joints, bag, image_encoding
        # Reliable publishers match reliable and best-effort subscribers alike.
        self._info_pub = self.create_publisher(CameraInfo, topics.camera_info, _reliable(10))
        self._kp_pub = self.create_publisher(PointCloud2, topics.keypoints, _reliable(10))
        self._image_pub = self.create_publisher(Image, topics.image, _reliable(5))
        # Best-effort readers match any publisher; the overlay is large, so read it reliably (DESIGN.md).
        self.create_subscription(PointCloud2, topics.joints, self._on_joints, _best_effort(50))
        self.create_subscription(MarkerArray, topics.skeletons, self._on_markers, _best_effort(50))
        self.create_subscription(Image, topics.overlay, self._on_overlay, _reliable(10))
        self.joints: dict[int, dict] = {}  # stamp ns -> {person: {...}}
        self.overlays: dict[int, np.ndarray] = {}  # stamp ns -> RGB image
        self.marker_arrays = 0

    # ------------------------------------------------------------------ sending
    def publish_image(self, stamp_s: float, camera, image) -> int:
        """Publish the (H, W, 3) uint8 RGB camera image of a frame; return its stamp in ns."""
        header = Header(stamp=sec_to_stamp(stamp_s), frame_id=camera.frame_id)
        self._send(self._image_pub, self.topics.image, rgb_to_image(image, header, self.encoding))
        return _stamp_ns(header.stamp)

    def publish_detections(self, stamp_s: float, camera, keypoints, scores) -> int:
        """Publish CameraInfo and the keypoint cloud of a frame with a shared stamp.

        Args:
            stamp_s: capture time in seconds (the image's stamp).
            camera: the ``Camera`` in use.
            keypoints: (N, J, 2) raw pixels; scores: (N, J).
        Returns:
            The stamp in nanoseconds (the key of the answers).
        """
        header = Header(stamp=sec_to_stamp(stamp_s), frame_id=camera.frame_id)
        self._send(self._info_pub, self.topics.camera_info, camera_to_camera_info(camera, header))
        self._send(self._kp_pub, self.topics.keypoints, keypoints_to_cloud(header, keypoints, scores))
        return _stamp_ns(header.stamp)

    def _send(self, pub, topic: str, msg) -> None:
        pub.publish(msg)
        self._record(topic, msg)

    # ------------------------------------------------------------------ receiving
    def _on_joints(self, msg: PointCloud2) -> None:
        self._record(self.topics.joints, msg)
        self.joints[_stamp_ns(msg.header.stamp)] = joints_from_cloud(msg, self.num_joints)

    def _on_markers(self, msg: MarkerArray) -> None:
        self._record(self.topics.skeletons, msg)
        self.marker_arrays += 1

    def _on_overlay(self, msg: Image) -> None:
        self._record(self.topics.overlay, msg)
        self.overlays[_stamp_ns(msg.header.stamp)] = image_to_rgb(msg)

    def _record(self, topic: str, msg) -> None:
        if self.bag is None:
            return
        stamp = getattr(getattr(msg, "header", None), "stamp", None)
        if stamp is None and isinstance(msg, MarkerArray) and msg.markers:
            stamp = msg.markers[0].header.stamp
        when = _stamp_ns(stamp) if stamp is not None else time.time_ns()
        self.bag.write(topic, _type_name(msg), when, serialize_message(msg))

    def wait_for(self, executor, stamp_ns: int, timeout: float, overlay_timeout: float = 0.0) -> bool:
        """Spin ``executor`` until the joints of ``stamp_ns`` arrived (then up to ``overlay_timeout`` s
        more for its overlay) or ``timeout`` s passed. Returns whether the joints arrived."""
        deadline = time.monotonic() + timeout
        while stamp_ns not in self.joints and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.01)
        deadline = time.monotonic() + overlay_timeout
        while stamp_ns not in self.overlays and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.01)
        return stamp_ns in self.joints


def _stamp_ns(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec) if stamp is not None else 0


def _type_name(msg) -> str:
    module = type(msg).__module__.split(".")[0]  # e.g. sensor_msgs
    return f"{module}/msg/{type(msg).__name__}"
