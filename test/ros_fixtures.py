"""Helpers for the pose_lifter integration tests: a lifter checkpoint, a moving person, a driver node.

Not a test module (no ``test_`` prefix); imported by ``test_ros_pose_lifter_node.py``.
"""
from __future__ import annotations

import threading
import time

import numpy as np

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.skeleton import MOCAP_SKELETON, remap_joints

CAM_A = Camera.pinhole(500.0, 500.0, 319.5, 239.5, 640, 480, "camera_optical_frame")
CAM_B = Camera(np.array([[350.0, 0, 402.0], [0, 352.0, 297.0], [0, 0, 1]]), [-0.25, 0.07, 0.0005, -0.0004, -0.01],
               "plumb_bob", 800, 600, "camera_optical_frame")


def lifter_checkpoint(tmp_dir) -> tuple[str, bool]:
    """Return ``(checkpoint, trained)``: ``$LER_TEST_LIFTER``, the shipped one, else an untrained one in ``tmp_dir``.

    The untrained model still exercises every code path the node has (and camera
    swaps give identical normalized inputs), but accuracy claims need the trained one.
    """
    import os
    from learned_energy_ros.pose.lifter import default_checkpoint
    if os.environ.get("LER_TEST_LIFTER"):  # a trained checkpoint to test with (path)
        return os.environ["LER_TEST_LIFTER"], True
    if default_checkpoint().is_file():
        return "default", True
    import torch
    from learned_energy_ros.pose.model import LifterConfig, build_model
    torch.manual_seed(0)
    model = build_model({"config": LifterConfig().to_dict()})
    path = str(tmp_dir / "untrained_lifter.pt")
    torch.save({"weights": model.state_dict(), "model_args": model.model_args(), "metadata": {"untrained": True}}, path)
    return path, False


def moving_person(num_frames: int, seed: int = 0, depth: float = 4.0, speed: float = 0.6, fps: float = 15.0):
    """A rigid person walking sideways and turning, in the optical frame.

    Returns:
        ``(h36m (T, 17, 3), coco (T, 17, 3))`` meters, optical frame.
    """
    from learned_energy_ros.pose.synthetic import random_poses
    pose = random_poses(1, np.random.default_rng(seed), scale_range=(1.0, 1.0))[0].astype(np.float64)  # (27, 3) world
    pose -= pose[0] * [1, 1, 0]  # pelvis above the origin
    frames_h36m, frames_coco = [], []
    for t in range(num_frames):
        yaw = 0.3 * np.sin(t / fps)
        rot = np.array([[np.cos(yaw), -np.sin(yaw), 0], [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]])
        world = pose @ rot.T + [-0.8 + speed * t / fps, 0, 0]
        cam = np.stack([world[:, 0], -(world[:, 2] - 1.0), world[:, 1] + depth], -1)  # z up -> optical
        frames_h36m.append(remap_joints(cam, np.ones(27), MOCAP_SKELETON, "h36m17")[0])
        frames_coco.append(remap_joints(cam, np.ones(27), MOCAP_SKELETON, "coco17")[0])
    return np.stack(frames_h36m), np.stack(frames_coco)


class SpinningTestNode:
    """A plain node in its own rclpy context, spun by a background thread (the test's side of a DDS test)."""

    def __init__(self, name: str):
        import rclpy
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.lock = threading.Lock()

    def start(self) -> None:
        """Start spinning once the subclass has created its publishers and subscriptions."""
        from rclpy.executors import SingleThreadedExecutor
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.thread.start()

    def _spin(self):
        while self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except Exception:  # noqa: BLE001 (shutdown race at the end of the module)
                return

    def store_by_stamp(self, table: dict):
        """A subscription callback filing each message in ``table`` under its ``(sec, nanosec)`` stamp."""
        def callback(msg):
            with self.lock:
                table[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = msg
        return callback

    def wait_for(self, publishers, output_topic: str, what: str, timeout: float = 10.0) -> None:
        """Wait until every publisher has a subscriber and the node under test publishes ``output_topic``."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(p.get_subscription_count() for p in publishers) and self.node.count_publishers(output_topic):
                time.sleep(0.3)
                return
            time.sleep(0.05)
        raise TimeoutError(f"{what} did not connect")

    def close(self) -> None:
        import rclpy
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
        self.thread.join(timeout=2)


class ImageDriver(SpinningTestNode):
    """Publishes image + camera_info (reliable) on ``<prefix>/image`` and ``<prefix>/camera_info``.

    Subclasses add their subscriptions (with ``self.qos``), then call ``start()``.
    """

    def __init__(self, name: str, prefix: str):
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CameraInfo, Image
        super().__init__(name)
        self.qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.pub_image = self.node.create_publisher(Image, f"{prefix}/image", self.qos)
        self.pub_info = self.node.create_publisher(CameraInfo, f"{prefix}/camera_info", self.qos)

    def publish_frame(self, stamp: float, image, camera):
        """Publish ``image`` (an Image message) and ``camera``'s CameraInfo under one header; return the header."""
        from std_msgs.msg import Header
        from learned_energy_ros.ros.conversions import camera_to_camera_info, sec_to_stamp
        header = Header(stamp=sec_to_stamp(stamp), frame_id=camera.frame_id or "camera_optical_frame")
        image.header = header
        self.pub_image.publish(image)
        self.pub_info.publish(camera_to_camera_info(camera, header))
        return header

    def wait_stored(self, header, tables, wait: float) -> bool:
        """Wait until every dict of ``tables`` holds a message stamped like ``header`` (False on timeout)."""
        key = (header.stamp.sec, header.stamp.nanosec)
        deadline = time.time() + wait
        while time.time() < deadline:
            with self.lock:
                if all(key in table for table in tables):
                    return True
            time.sleep(0.01)
        return False


class Driver(SpinningTestNode):
    """Feeds the pose_lifter and records its outputs."""

    def __init__(self, prefix: str = "/t", outputs: str = "/pose_lifter"):
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CameraInfo, Image, PointCloud2
        from visualization_msgs.msg import MarkerArray
        super().__init__("test_driver")
        self.outputs = outputs
        reliable = QoSProfile(depth=20, reliability=ReliabilityPolicy.RELIABLE)
        self.pub_info = self.node.create_publisher(CameraInfo, f"{prefix}/camera_info", reliable)
        self.pub_kp = self.node.create_publisher(PointCloud2, f"{prefix}/keypoints", reliable)
        self.pub_image = self.node.create_publisher(Image, f"{prefix}/image", reliable)
        self.joints, self.markers, self.overlays = {}, [], {}
        self.node.create_subscription(PointCloud2, f"{outputs}/joints", self._on_joints, reliable)
        self.node.create_subscription(MarkerArray, f"{outputs}/skeletons", self._on_markers, reliable)
        self.node.create_subscription(Image, f"{outputs}/overlay", self._on_overlay, reliable)
        self.start()

    @staticmethod
    def _ns(msg) -> int:
        return msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec

    def _on_joints(self, msg):
        with self.lock:
            self.joints[self._ns(msg)] = msg

    def _on_markers(self, msg):
        with self.lock:
            self.markers.append(msg)

    def _on_overlay(self, msg):
        with self.lock:
            self.overlays[self._ns(msg)] = msg

    def wait_connected(self, timeout: float = 10.0) -> None:
        self.wait_for((self.pub_kp, self.pub_info), f"{self.outputs}/joints", "pose_lifter", timeout)

    def send(self, stamp: float, camera, cloud, image=None, wait: float = 5.0):
        """Publish one frame (camera_info, optional image, keypoints) and wait for its ~/joints (or None)."""
        from std_msgs.msg import Header
        from learned_energy_ros.ros.conversions import camera_to_camera_info, sec_to_stamp
        header = Header(stamp=sec_to_stamp(stamp), frame_id=getattr(camera, "frame_id", "camera_optical_frame"))
        cloud.header = header
        if image is not None:
            image.header = header
            self.pub_image.publish(image)
            time.sleep(0.02)
        if camera is not None:
            info = camera_to_camera_info(camera, header) if hasattr(camera, "K") else camera
            info.header = header
            self.pub_info.publish(info)
        self.pub_kp.publish(cloud)
        key = header.stamp.sec * 10**9 + header.stamp.nanosec
        deadline = time.time() + wait
        while time.time() < deadline:
            with self.lock:
                if key in self.joints:
                    return self.joints[key]
            time.sleep(0.005)
        return None


class StampClock:
    """Strictly increasing stamps shared by the tests of a module (the node rejects going back)."""

    def __init__(self, start: float):
        self.t = start

    def next(self, dt: float = 1 / 15) -> float:
        self.t += dt
        return self.t


def camera_cloud(camera, joints, ids):
    """The keypoint cloud (score 0.9) of people ``joints`` (N, 17, 3) in ``camera``'s optical frame, ids ``ids``."""
    from std_msgs.msg import Header
    from learned_energy_ros.ros.clouds import keypoints_to_cloud
    px = camera.project(np.asarray(joints).reshape(len(ids), 17, 3))
    return keypoints_to_cloud(Header(), px, np.full((len(ids), 17), 0.9), list(ids))


def send_both(drivers, stamp, frames):
    """Send one frame per camera from two threads; return both drivers' joints outputs (None where none came)."""
    out = [None, None]

    def go(k):
        out[k] = drivers[k].send(stamp, *frames[k])
    threads = [threading.Thread(target=go, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def wait_until(predicate, timeout: float = 5.0) -> bool:
    """Poll ``predicate`` every 10 ms until it is true (True) or ``timeout`` s pass (False)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


class Recorder:
    """Stands in for a publisher: keeps every published message (serialized ones deserialized as ``msg_type``)."""

    def __init__(self, msg_type=None):
        self.msgs, self.msg_type = [], msg_type

    def publish(self, msg):
        if isinstance(msg, bytes):
            from rclpy.serialization import deserialize_message
            assert self.msg_type is not None, "serialized message published to a Recorder without msg_type"
            msg = deserialize_message(msg, self.msg_type)
        self.msgs.append(msg)


class SpyLogger:
    """Stands in for a node's logger: keeps warnings, infos and errors (to check rate limiting)."""

    def __init__(self):
        self.warnings, self.infos, self.errors = [], [], []

    def warning(self, text, **_):
        self.warnings.append(text)

    def info(self, text, **_):
        self.infos.append(text)

    def error(self, text, **_):
        self.errors.append(text)


def spy_node(node_class, ctx, name: str, **params):
    """Create ``node_class`` in ``ctx`` with parameter overrides and a ``SpyLogger`` capturing its log."""
    from rclpy.parameter import Parameter

    node = node_class(node_name=name, context=ctx, parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
    # No reference back to the node (a cycle would leave its rcl handle to the cyclic
    # garbage collector, which may finalize it at a random moment of a later test).
    log = node.log = SpyLogger()
    node.get_logger = lambda: log
    node.worker_thread = False  # no executor here: the test runs ``_process_pending`` itself
    return node


def slab_voxel_checkpoint(path, resolution: int, depth_bins, image_size: int = 32) -> str:
    """A voxel checkpoint whose output is known: depth bins ``depth_bins`` full, the rest empty, for any image.

    A tiny IGE model with every weight zero except the initial head's bias (one logit
    per depth bin, +/-10), so the occupancy is a wall across the whole frustum at those
    depths; the energy is zero, so the descent leaves it as it is.
    """
    import torch
    from learned_energy_ros.vox.checkpoint import save_checkpoint
    from learned_energy_ros.vox.dataset import ViewConfig
    from learned_energy_ros.vox.model import IGEConfig, IGEVoxelModel

    model = IGEVoxelModel(IGEConfig(resolution=resolution, image_size=image_size, width_mult=0.25, features=8,
                                    energy_hidden=8, steps=1))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        bias = torch.full((resolution,), -10.0)
        bias[list(depth_bins)] = 10.0
        model.init_head.bias.copy_(bias)
    return str(save_checkpoint(path, "ige", model, ViewConfig(image_size=image_size, resolution=resolution),
                               {"test": "depth slab"}))


def require_interfaces(*packages: str) -> None:
    """Skip the calling test (fail it on CI) when an interface package built by ``scripts/env.sh`` is missing.

    tf2_msgs, vision_msgs and hri_msgs are not on PyPI: ``scripts/build_interfaces.py`` builds them
    into the environment when a C/C++ toolchain is there. CI (``CI=true``) always has one, so there a
    missing package is a broken build, not a reason to skip.
    """
    import importlib.util
    import os
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    if not missing:
        return
    import pytest
    why = (f"interface packages {missing} are not installed: `bash scripts/test.sh` builds them "
           "(needs gcc, g++, make and the Python headers), or use a ROS install that has them")
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI: {why}")
    pytest.skip(why)
