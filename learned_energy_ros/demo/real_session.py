"""Play real images through the real ``keypoint_detector`` and ``pose_lifter`` nodes over ROS 2.

The demo's real stage: both nodes run in a ``NodeRunner`` (their own context and
executor thread) on the camera-chain topics; a driver node publishes each image
with its CameraInfo and waits for the keypoint cloud and the lifted joints of
that stamp. Each lifted track is paired with the detection it reprojects onto,
so the plausibility checks see matching 2D and 3D.
"""
from __future__ import annotations

import logging
import threading
import time

import numpy as np

from learned_energy_ros.demo.session import DemoError

__all__ = ["RealSession"]

log = logging.getLogger(__name__)

_IMAGE_GAP_S = 100.0  # stamps of successive images: far beyond track_timeout, so every image starts fresh


class RealSession:
    """Own the two nodes and a driver for the demo's real stage (use as a context manager).

    Args:
        device: torch device of the lifter.
        checkpoint: lifter checkpoint.
        timeout: seconds to wait for one image's answers.
    """

    def __init__(self, device: str = "cpu", checkpoint: str = "default", timeout: float = 30.0):
        self.device, self.checkpoint, self.timeout = device, checkpoint, timeout
        self.clouds, self.joints, self._lock, self._count = {}, {}, threading.Lock(), 0

    def __enter__(self) -> "RealSession":
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CameraInfo, Image, PointCloud2

        from learned_energy_ros.ros.camera_profile import CAMERA_TOPICS
        from learned_energy_ros.ros.run import NodeRunner

        params = {"keypoint_detector": {"device": "cpu", "publish_overlay": False},
                  "pose_lifter": {"device": self.device, "checkpoint": self.checkpoint,
                                  "input_skeleton": "mediapipe33", "publish_overlay": False}}
        try:
            self.runner = NodeRunner(["keypoint_detector", "pose_lifter"], parameters=params,
                                     remappings=CAMERA_TOPICS).__enter__()
        except RuntimeError as err:
            raise DemoError(f"real stage: the nodes did not start ({err})") from err
        import rclpy
        self.node = rclpy.create_node("demo_real_camera", context=self.runner.context)
        qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        self.pub_image = self.node.create_publisher(Image, "/" + CAMERA_TOPICS["image"], qos)
        self.pub_info = self.node.create_publisher(CameraInfo, "/" + CAMERA_TOPICS["camera_info"], qos)
        self.node.create_subscription(PointCloud2, "/" + CAMERA_TOPICS["keypoints"], self._store(self.clouds), qos)
        self.node.create_subscription(PointCloud2, "/pose_lifter/joints", self._store(self.joints), qos)
        self.runner.executor.add_node(self.node)
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline and not all(p.get_subscription_count() for p in (self.pub_image, self.pub_info)):
            time.sleep(0.05)
        if not all(p.get_subscription_count() for p in (self.pub_image, self.pub_info)):
            self.__exit__()
            raise DemoError("real stage: the keypoint_detector never subscribed (DDS discovery failed)")
        return self

    def _store(self, table):
        def callback(msg):
            with self._lock:
                table[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = msg
        return callback

    def __call__(self, name: str, rgb: np.ndarray, tiles: int = 1):
        """Send one image through the nodes; return a ``RealFrame`` of the people both nodes agree on."""
        from rclpy.parameter import Parameter
        from std_msgs.msg import Header

        from learned_energy_ros.core.calibration import guess_camera
        from learned_energy_ros.ros.conversions import camera_to_camera_info, sec_to_stamp
        from learned_energy_ros.ros.images import rgb_to_image

        detector = self.runner.nodes["keypoint_detector"]
        detector.set_parameters([Parameter("tiles", value=int(tiles))])
        camera = guess_camera(rgb.shape[1], rgb.shape[0])
        self._count += 1
        header = Header(stamp=sec_to_stamp(1000.0 + _IMAGE_GAP_S * self._count), frame_id=camera.frame_id)
        key = (header.stamp.sec, header.stamp.nanosec)
        nodes = {"detect": detector, "lift": self.runner.nodes["pose_lifter"]}
        done_before = {stage: node.stats.counts["frames_processed"] for stage, node in nodes.items()}
        start = time.perf_counter()
        self.pub_image.publish(rgb_to_image(rgb, header, "bgr8"))
        self.pub_info.publish(camera_to_camera_info(camera, header))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and not (key in self.clouds and key in self.joints):
            time.sleep(0.005)
        wall = 1e3 * (time.perf_counter() - start)
        if key not in self.clouds or key not in self.joints:
            raise DemoError(f"real stage: no answer for {name} within {self.timeout:.0f} s")
        # A node records its latency just after publishing: the answer can arrive here first.
        while time.monotonic() < deadline and any(node.stats.counts["frames_processed"] <= done_before[stage]
                                                  for stage, node in nodes.items()):
            time.sleep(0.001)
        timing = {stage: (1e3 * node.stats.latencies[-1] if node.stats.counts["frames_processed"] > done_before[stage]
                          else float("nan")) for stage, node in nodes.items()}
        timing["end_to_end"] = wall
        return _frame(name, rgb, camera, self.clouds[key], self.joints[key], timing)

    def __exit__(self, *exc) -> None:
        if getattr(self, "node", None) is not None:
            self.runner.executor.remove_node(self.node)
            self.node.destroy_node()
            self.node = None
        self.runner.__exit__(None, None, None)


def _frame(name, rgb, camera, cloud, joints_msg, timing):
    """Pair each lifted track with the detection it reprojects onto best; build a ``RealFrame``."""
    from learned_energy_ros.core.skeleton import get_skeleton
    from learned_energy_ros.demo.player import joints_from_cloud
    from learned_energy_ros.detect.detector import Detections
    from learned_energy_ros.detect.plausibility import reprojection_px
    from learned_energy_ros.detect.real_stage import RealFrame
    from learned_energy_ros.ros.clouds import cloud_to_keypoints

    keypoints, scores, ids = cloud_to_keypoints(cloud, len(get_skeleton("mediapipe33")))
    lifted = joints_from_cloud(joints_msg, len(get_skeleton("h36m17")))
    rows, free = [], set(range(len(ids)))
    for track, person in sorted(lifted.items()):
        cost = {n: reprojection_px(person["joints"], camera, keypoints[n], scores[n]) for n in free}
        if cost:
            n = min(cost, key=cost.get)
            free.discard(n)
            rows.append((n, person))
    if free:
        log.info("%s: %d detected people were not lifted (too few joints)", name, len(free))
    order = [n for n, _ in rows]
    boxes = np.array([np.concatenate([keypoints[n][scores[n] > 0].min(0), keypoints[n][scores[n] > 0].max(0)])
                      for n in order]).reshape(-1, 4)
    detections = Detections(keypoints[order], scores[order], ids[order], boxes)
    joints = np.array([p["joints"] for _, p in rows]).reshape(-1, 17, 3)
    energy = np.array([p["energy"] for _, p in rows])
    return RealFrame(name, rgb, camera, detections, joints, energy, {**timing, "people": len(rows)})
