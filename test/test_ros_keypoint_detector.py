"""keypoint_detector over real rclpy on loopback: keypoint cloud of every person, same stamp/frame, bad images skipped."""
import time

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, PointCloud2  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from learned_energy_ros.core.calibration import guess_camera  # noqa: E402
from learned_energy_ros.core.skeleton import get_skeleton  # noqa: E402
from learned_energy_ros.detect.mediapipe_backend import mediapipe_available  # noqa: E402
from learned_energy_ros.detect.samples import SampleMissing, basketball  # noqa: E402
from learned_energy_ros.ros.clouds import cloud_to_keypoints  # noqa: E402
from learned_energy_ros.ros.conversions import camera_to_camera_info, image_to_rgb, sec_to_stamp  # noqa: E402
from learned_energy_ros.ros.images import rgb_to_image  # noqa: E402
from learned_energy_ros.ros.run import NodeRunner  # noqa: E402
from ros_fixtures import SpinningTestNode  # noqa: E402

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(not mediapipe_available(), reason="mediapipe ([detector] extra) is not installed")]
FRAME = "camera_optical_frame"


class DetDriver(SpinningTestNode):
    """Publishes image + camera_info on /d/..., records /d/keypoints and the overlay by stamp."""

    def __init__(self):
        super().__init__("detector_test_driver")
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.pub_image = self.node.create_publisher(Image, "/d/image", qos)
        self.pub_info = self.node.create_publisher(CameraInfo, "/d/camera_info", qos)
        self.clouds, self.overlays = {}, {}
        self.node.create_subscription(PointCloud2, "/d/keypoints", self.store_by_stamp(self.clouds), qos)
        self.node.create_subscription(Image, "/d/keypoint_detector/overlay", self.store_by_stamp(self.overlays), qos)
        self.start()

    def send(self, stamp: float, image: Image, camera, wait: float = 20.0):
        header = Header(stamp=sec_to_stamp(stamp), frame_id=FRAME)
        image.header = header
        self.pub_image.publish(image)
        self.pub_info.publish(camera_to_camera_info(camera, header))
        key = (header.stamp.sec, header.stamp.nanosec)
        deadline = time.time() + wait
        while time.time() < deadline and key not in self.clouds:
            time.sleep(0.01)
        deadline = time.time() + 3.0  # the overlay follows the cloud
        while time.time() < deadline and key in self.clouds and key not in self.overlays:
            time.sleep(0.01)
        with self.lock:
            return self.clouds.get(key), self.overlays.get(key)


@pytest.fixture(scope="module")
def system():
    try:
        rgb = basketball(1)
    except SampleMissing as err:
        pytest.skip(str(err))
    params = {"device": "cpu", "warn_period": 0.0, "diagnostics_period": 0.2, "sync_slop": 0.01}
    with NodeRunner(["keypoint_detector"], parameters={"keypoint_detector": params}, namespace="d") as runner:
        driver = DetDriver()
        try:
            driver.wait_for((driver.pub_image, driver.pub_info), "/d/keypoints", "keypoint_detector", 15.0)
            yield runner.nodes["keypoint_detector"], driver, rgb, guess_camera(rgb.shape[1], rgb.shape[0])
        finally:
            driver.close()


def test_two_players_as_a_mediapipe33_cloud_with_the_image_stamp_and_frame(system):
    node, driver, rgb, camera = system
    cloud, overlay = driver.send(100.0, rgb_to_image(rgb, Header(), "bgr8"), camera)
    assert cloud is not None, "no keypoint cloud published"
    assert cloud.header.frame_id == FRAME and (cloud.header.stamp.sec, cloud.header.stamp.nanosec) == (100, 0)
    keypoints, scores, ids = cloud_to_keypoints(cloud, len(get_skeleton("mediapipe33")))
    assert len(ids) == 2 and (scores > 0).sum(axis=1).min() >= 20
    left = int(np.argmin(keypoints[:, 0, 0]))  # the player on the left: nose near x = 90 px in basketball1
    assert 40 < keypoints[left, 0, 0] < 160 and 90 < keypoints[left, 0, 1] < 160
    assert overlay is not None and image_to_rgb(overlay).shape == rgb.shape


def test_ids_are_kept_on_the_next_frame(system):
    node, driver, rgb, camera = system
    first, _ = driver.send(101.0, rgb_to_image(rgb, Header(), "rgb8"), camera)
    second, _ = driver.send(101.1, rgb_to_image(basketball(2), Header(), "rgb8"), camera)
    J = len(get_skeleton("mediapipe33"))
    (k1, _, ids1), (k2, _, ids2) = cloud_to_keypoints(first, J), cloud_to_keypoints(second, J)
    assert sorted(ids1) == sorted(ids2)
    for person in ids1:  # the same person keeps its id: its nose moved by less than 40 px
        assert np.linalg.norm(k1[list(ids1).index(person), 0] - k2[list(ids2).index(person), 0]) < 40


@pytest.mark.parametrize("bad, reason", [("encoding", "bad_image"), ("size", "size_mismatch"), ("empty", "bad_image")])
def test_bad_images_are_skipped_and_counted(system, bad, reason):
    node, driver, rgb, camera = system
    image = rgb_to_image(rgb, Header(), "bgr8")
    if bad == "encoding":
        image.encoding = "32FC7"
    elif bad == "size":
        image = rgb_to_image(rgb[:200, :300].copy(), Header(), "bgr8")
    else:
        image.width = image.height = 0
        image.data = b""
    if bad == "empty":
        camera = guess_camera(8, 8)  # an empty image cannot match a real size either; use a tiny camera info
        image.width, image.height = 8, 8  # sizes agree, data missing: a malformed image
    before = node.stats.skipped[reason]
    cloud, _ = driver.send(102.0 + len(bad), image, camera, wait=3.0)
    assert cloud is None
    assert node.stats.skipped[reason] == before + 1
