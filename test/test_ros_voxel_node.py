"""voxel_reconstructor over real rclpy on loopback: sync, occupancy cloud + markers, bad images, parameters.

The node runs in a NodeRunner (its own context) with a tiny untrained checkpoint
(the geometry of the outputs does not depend on training); a driver node in
another context publishes image + CameraInfo and records the outputs.
"""

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

import torch  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import Image, PointCloud2  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from visualization_msgs.msg import Marker, MarkerArray  # noqa: E402

from learned_energy_ros.core.camera import Camera  # noqa: E402
from learned_energy_ros.ros.clouds import cloud_to_structured  # noqa: E402
from learned_energy_ros.ros.images import rgb_to_image  # noqa: E402
from learned_energy_ros.ros.run import NodeRunner  # noqa: E402
from learned_energy_ros.vox.checkpoint import save_checkpoint  # noqa: E402
from learned_energy_ros.vox.dataset import ViewConfig  # noqa: E402
from learned_energy_ros.vox.model import IGEConfig, IGEVoxelModel  # noqa: E402
from ros_fixtures import ImageDriver  # noqa: E402

pytestmark = pytest.mark.timeout(60)
R = 16
CAM = Camera(np.array([[120.0, 0, 79.5], [0, 120, 59.5], [0, 0, 1]]), [-0.05, 0.01, 0, 0, 0], "plumb_bob", 160, 120,
             "camera_optical_frame")


class VoxDriver(ImageDriver):
    """Publishes image + camera_info, records ~/occupancy and ~/occupancy_markers by stamp."""

    def __init__(self):
        super().__init__("vox_test_driver", "/v")
        self.clouds, self.markers = {}, {}
        self.node.create_subscription(PointCloud2, "/voxel_reconstructor/occupancy", self.store_by_stamp(self.clouds),
                                      self.qos)
        self.node.create_subscription(MarkerArray, "/voxel_reconstructor/occupancy_markers", self._store_markers,
                                      self.qos)
        self.start()

    def _store_markers(self, msg):
        with self.lock:
            m = msg.markers[0]
            self.markers[(m.header.stamp.sec, m.header.stamp.nanosec)] = msg

    def wait_connected(self, timeout=10.0):
        self.wait_for((self.pub_image, self.pub_info), "/voxel_reconstructor/occupancy", "voxel_reconstructor", timeout)

    def send(self, stamp: float, image: Image, wait: float = 8.0):
        header = self.publish_frame(stamp, image, CAM)
        if not self.wait_stored(header, [self.clouds, self.markers], wait):
            return None
        key = (header.stamp.sec, header.stamp.nanosec)
        with self.lock:
            return self.clouds[key], self.markers[key]


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    torch.manual_seed(0)
    model = IGEVoxelModel(IGEConfig(resolution=R, image_size=32, width_mult=0.25, features=8, energy_hidden=8, steps=1))
    ckpt = save_checkpoint(tmp_path_factory.mktemp("vox") / "tiny.pt", "ige", model,
                           ViewConfig(image_size=32, resolution=R), {"untrained": True})
    params = {"device": "cpu", "checkpoint": str(ckpt), "near": 0.8, "far": 1.2, "occupancy_threshold": 0.0,
              "warn_period": 0.0, "diagnostics_period": 0.2, "sync_slop": 0.01}
    with NodeRunner(["voxel_reconstructor"], parameters={"voxel_reconstructor": params},
                    remappings={"image": "/v/image", "camera_info": "/v/camera_info"}) as runner:
        driver = VoxDriver()
        try:
            driver.wait_connected()
            yield runner.nodes["voxel_reconstructor"], driver
        finally:
            driver.close()


def _image():
    rgb = np.random.default_rng(0).integers(0, 255, (CAM.height, CAM.width, 3), dtype=np.uint8)
    return rgb_to_image(rgb, Header(), "bgr8")


def test_occupancy_cloud_and_markers_in_the_frustum(system):
    node, driver = system
    out = driver.send(10.0, _image())
    assert out is not None, "no occupancy published"
    cloud, markers = out
    pts = cloud_to_structured(cloud)
    assert set(pts.dtype.names) >= {"x", "y", "z", "occupancy"} and len(pts) == R ** 3  # threshold 0: every voxel
    assert cloud.header.frame_id == "camera_optical_frame"
    assert pts["z"].min() > 0.8 and pts["z"].max() < 1.2
    assert np.all((pts["occupancy"] >= 0) & (pts["occupancy"] <= 1))
    # the square canonical grid spans the image width and is centred on the image (4:3, so taller than it)
    px = CAM.project(np.stack([pts["x"], pts["y"], pts["z"]], -1).astype(np.float64))
    assert -1 < px[:, 0].min() < 10 and 150 < px[:, 0].max() < 161 and abs(px[:, 1].mean() - 59.5) < 1
    cube = markers.markers[0]
    assert cube.type == Marker.CUBE_LIST and len(cube.points) == R ** 3 and len(cube.colors) == R ** 3


def test_bad_images_are_skipped_with_a_warning(system):
    node, driver = system
    before = node.stats.skipped["bad_image"]
    empty = Image(height=0, width=0, encoding="rgb8", step=0)
    wrong = rgb_to_image(np.zeros((60, 80, 3), np.uint8), Header(), "rgb8")  # size differs from CameraInfo
    broken = _image()
    broken.encoding = "no_such_encoding"
    for n, img in enumerate((empty, wrong, broken)):
        assert driver.send(20.0 + n, img, wait=1.0) is None
    assert node.stats.skipped["bad_image"] >= before + 3
    assert driver.send(30.0, _image()) is not None  # the node keeps working


def test_parameters_are_validated_and_applied(system):
    node, driver = system
    assert not node.set_parameters([Parameter("near", value=2.0)])[0].successful  # near > far
    assert not node.set_parameters([Parameter("device", value="cuda")])[0].successful  # configure-time
    assert node.set_parameters([Parameter("occupancy_threshold", value=0.99)])[0].successful
    cloud, _ = driver.send(40.0, _image())
    assert len(cloud_to_structured(cloud)) < R ** 3
    node.set_parameters([Parameter("occupancy_threshold", value=0.0), Parameter("roi", value=[40, 30, 80, 60])])
    cloud, _ = driver.send(41.0, _image())
    pts = cloud_to_structured(cloud)
    px = CAM.project(np.stack([pts["x"], pts["y"], pts["z"]], -1).astype(np.float64))
    assert px[:, 0].min() > 30 and px[:, 0].max() < 130  # the grid covers the ROI's square only
