"""voxel_reconstructor with vision_msgs/Detection2DArray boxes over real DDS: placement, batching, class ids.

A level camera 0.5 m above the floor (``camera_height``); a box's bottom edge on the
floor gives its distance (exact numbers below, as in ``test_vox_placement.py``). The
checkpoint is ``slab_voxel_checkpoint`` (known output); ``occupancy_threshold: 0``
publishes every voxel, so the cloud shows each object's whole frustum.
"""
import math
import sys
import time
import types

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")
from ros_fixtures import ImageDriver, Recorder, require_interfaces, slab_voxel_checkpoint, spy_node  # noqa: E402

require_interfaces("vision_msgs")

from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from sensor_msgs.msg import PointCloud2  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose  # noqa: E402
from visualization_msgs.msg import MarkerArray  # noqa: E402

from learned_energy_ros.core.camera import Camera  # noqa: E402
from learned_energy_ros.ros.clouds import cloud_to_structured  # noqa: E402
from learned_energy_ros.ros.conversions import camera_to_camera_info, sec_to_stamp  # noqa: E402
from learned_energy_ros.ros.images import rgb_to_image  # noqa: E402
from learned_energy_ros.ros.run import NodeRunner  # noqa: E402
from learned_energy_ros.ros.voxel_node import VoxelReconstructorNode  # noqa: E402

pytestmark = pytest.mark.timeout(60)
CAM = Camera.pinhole(100.0, 100.0, 79.5, 59.5, 160, 120, "camera_optical_frame")
SUCCESS = TransitionCallbackReturn.SUCCESS
COS15 = math.cos(math.radians(15))
R = 16


def detection(box, class_id="", score=0.9) -> Detection2D:
    """A Detection2D of box (x, y, w, h) in the roi convention."""
    det = Detection2D()
    x, y, w, h = box
    det.bbox.center.position.x, det.bbox.center.position.y = x + w / 2, y + h / 2
    det.bbox.size_x, det.bbox.size_y = float(w), float(h)
    if class_id:
        hyp = ObjectHypothesisWithPose()
        hyp.hypothesis.class_id, hyp.hypothesis.score = class_id, score
        det.results = [hyp]
    return det


# bottom edge at normalized y 0.25: 2.0 m ahead; 0.8 m wide, so its centre 2.4 m; padded box 48 px: half side 0.24
BOX_A, NEAR_A, FAR_A = (60, 45, 40, 40), 2.4 * (1 - 0.24 * COS15), 2.4 * (1 + 0.24 * COS15)
# bottom edge at normalized (0.45, 0.5): 1.0 m deep; 0.3 m wide, so its centre lies 0.15 m further along the floor
# in the ray's direction (0.45, 0, 1); padded box 36 px: half side 0.18
D_B = 1.0 + 0.15 / math.sqrt(1 + 0.45 ** 2)
BOX_B, NEAR_B, FAR_B = (110, 80, 30, 30), D_B * (1 - 0.18 * COS15), D_B * (1 + 0.18 * COS15)


class DetectionDriver(ImageDriver):
    """Publishes image + camera_info + detections; records ~/occupancy and ~/occupancy_markers by stamp."""

    def __init__(self):
        super().__init__("vox_detection_driver", "/d")
        self.pub_det = self.node.create_publisher(Detection2DArray, "/d/detections", self.qos)
        self.clouds, self.markers = {}, {}
        self.node.create_subscription(PointCloud2, "/voxel_reconstructor/occupancy", self.store_by_stamp(self.clouds),
                                      self.qos)
        self.node.create_subscription(MarkerArray, "/voxel_reconstructor/occupancy_markers", self._on_markers, self.qos)
        self.start()

    def _on_markers(self, msg):
        if msg.markers:
            stamp = msg.markers[0].header.stamp
            with self.lock:
                self.markers[(stamp.sec, stamp.nanosec)] = msg

    def send(self, stamp: float, detections, markers: bool = True, wait: float = 8.0):
        """Publish one frame with ``detections``; return (cloud, markers) once they arrived (None on timeout)."""
        rgb = np.random.default_rng(0).integers(0, 255, (CAM.height, CAM.width, 3), dtype=np.uint8)
        header = self.publish_frame(stamp, rgb_to_image(rgb, Header(), "rgb8"), CAM)
        self.pub_det.publish(Detection2DArray(header=header, detections=list(detections)))
        if not self.wait_stored(header, [self.clouds, self.markers] if markers else [self.clouds], wait):
            return None
        key = (header.stamp.sec, header.stamp.nanosec)
        with self.lock:
            return self.clouds[key], self.markers.get(key)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return slab_voxel_checkpoint(tmp_path_factory.mktemp("vox") / "slab.pt", R, range(8, 12))


@pytest.fixture(scope="module")
def system(checkpoint):
    params = {"device": "cpu", "checkpoint": checkpoint, "use_detections": True, "camera_height": 0.5,
              "occupancy_threshold": 0.0, "warn_period": 0.0, "sync_slop": 0.01}
    with NodeRunner(["voxel_reconstructor"], parameters={"voxel_reconstructor": params},
                    remappings={"image": "/d/image", "camera_info": "/d/camera_info",
                                "detections": "/d/detections"}) as runner:
        driver = DetectionDriver()
        try:
            driver.wait_for((driver.pub_image, driver.pub_info, driver.pub_det), "/voxel_reconstructor/occupancy",
                            "voxel_reconstructor")
            yield runner.nodes["voxel_reconstructor"], driver
        finally:
            driver.close()


def _object(points, index):
    sel = points[points["object"] == index]
    return np.stack([sel["x"], sel["y"], sel["z"]], -1).astype(np.float64), sel


def test_a_box_moves_the_reconstruction_to_that_box_and_distance(system):
    _, driver = system
    for stamp, box, near, far in ((10.0, BOX_A, NEAR_A, FAR_A), (11.0, BOX_B, NEAR_B, FAR_B)):
        cloud, _ = driver.send(stamp, [detection(box)])
        xyz, _ = _object(cloud_to_structured(cloud), 0)
        assert len(xyz) == R ** 3
        half_bin = (far - near) / (2 * R)  # voxel centres: near + half a bin .. far - half a bin
        assert xyz[:, 2].min() == pytest.approx(near + half_bin, abs=1e-5)
        assert xyz[:, 2].max() == pytest.approx(far - half_bin, abs=1e-5)
        px = CAM.project(xyz)
        x, y, w, h = box
        pad = 0.1 * w  # box_padding 1.2: 10 % of the box on each side
        assert px[:, 0].min() > x - pad - 0.5 and px[:, 0].max() < x + w + pad - 0.5
        assert px[:, 1].min() > y - pad - 0.5 and px[:, 1].max() < y + h + pad - 0.5


def test_boxes_of_one_frame_keep_their_class_ids_in_markers_and_cloud(system):
    node, driver = system
    cloud, markers = driver.send(20.0, [detection(BOX_A, "cup", 0.9), detection(BOX_B, "39", 0.7)])
    assert sorted((m.ns, m.id) for m in markers.markers) == [("39", 1), ("cup", 0)]
    points = cloud_to_structured(cloud)
    assert {"object", "class_id"} <= set(points.dtype.names)
    for index, class_number, near, far in ((0, -1, NEAR_A, FAR_A), (1, 39, NEAR_B, FAR_B)):
        xyz, sel = _object(points, index)
        assert len(xyz) == R ** 3 and np.all(sel["class_id"] == class_number)
        assert near < xyz[:, 2].min() and xyz[:, 2].max() < far


def test_unplaceable_and_empty_detections(system):
    node, driver = system
    before = node.stats.counts["objects_skipped"]
    above = detection((70, 10, 20, 30), "kite")  # bottom edge above the horizon: no floor contact
    cloud, markers = driver.send(30.0, [above, detection(BOX_A, "cup")])
    assert [m.ns for m in markers.markers] == ["cup"] and node.stats.counts["objects_skipped"] == before + 1
    assert set(cloud_to_structured(cloud)["object"]) == {1}
    cloud, _ = driver.send(31.0, [], markers=False)  # nothing detected: an empty cloud, no error
    assert cloud.width * cloud.height == 0


# ---------------------------------------------------------------------- without DDS: optional interfaces
def test_without_vision_msgs_the_node_says_why_and_uses_roi(ctx, checkpoint, monkeypatch):
    monkeypatch.setitem(sys.modules, "vision_msgs.msg", None)  # import fails
    node = spy_node(VoxelReconstructorNode, ctx, "vox_no_vision", device="cpu", checkpoint=checkpoint,
                    use_detections=True)
    try:
        assert node.trigger_configure() == SUCCESS and node._detection_type is None
        assert any("vision_msgs is not importable" in w for w in node.log.warnings)
    finally:
        node.destroy_node()


def _fake_tf2_ros(transform):
    """A stand-in ``tf2_ros`` whose buffer knows one transform (camera_optical_frame -> base_footprint)."""
    module = types.ModuleType("tf2_ros")

    class TransformException(Exception):
        pass

    class Buffer:
        def lookup_transform(self, target, source, time):
            if (target, source) != ("base_footprint", CAM.frame_id):
                raise TransformException(f"no transform {source} -> {target}")
            return transform

    class TransformListener:
        def __init__(self, buffer, node):
            pass

        def unregister(self):
            pass

    module.TransformException, module.Buffer, module.TransformListener = TransformException, Buffer, TransformListener
    return module


def test_plane_from_tf_places_boxes_and_grids_in_the_plane_frame(ctx, checkpoint, monkeypatch):
    from geometry_msgs.msg import TransformStamped
    from nav_msgs.msg import OccupancyGrid
    from learned_energy_ros.core.rotations import rotation_to_quaternion
    from learned_energy_ros.vox.placement import SupportPlane
    level = SupportPlane.from_height_pitch(0.5, 0.0)  # the same camera pose as the DDS tests, 3 m along the map
    tf = TransformStamped()
    q = rotation_to_quaternion(level.rotation)
    tf.transform.rotation.x, tf.transform.rotation.y, tf.transform.rotation.z, tf.transform.rotation.w = q
    tf.transform.translation.x, tf.transform.translation.z = 3.0, 0.5
    monkeypatch.setitem(sys.modules, "tf2_ros", _fake_tf2_ros(tf))
    node = spy_node(VoxelReconstructorNode, ctx, "vox_tf", device="cpu", checkpoint=checkpoint, use_detections=True,
                    plane_frame="base_footprint", occupancy_threshold=0.0, grid_origin=[3.0, -2.0])
    try:
        assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
        node.pub_cloud, node.pub_markers, node.pub_grid = Recorder(), Recorder(MarkerArray), Recorder(OccupancyGrid)
        for frame in (CAM.frame_id, "other_camera"):
            header = Header(stamp=sec_to_stamp(time.time()), frame_id=frame)
            image = rgb_to_image(np.zeros((CAM.height, CAM.width, 3), np.uint8), header, "rgb8")
            node._on_frame(image, camera_to_camera_info(CAM, header),
                           Detection2DArray(header=header, detections=[detection(BOX_A, "cup")]))
            node._process_pending()
        assert len(node.pub_cloud.msgs) == 1 and node.stats.skipped["no_support_plane"] == 1  # no TF for the other
        xyz, _ = _object(cloud_to_structured(node.pub_cloud.msgs[0]), 0)
        assert xyz[:, 2].min() > NEAR_A and xyz[:, 2].max() < FAR_A  # placed as with the parameters
        grid = node.pub_grid.msgs[0]
        assert grid.header.frame_id == "base_footprint" and grid.info.origin.position.x == 3.0
        assert grid.info.origin.orientation.w == 1.0
        cols = np.unique(np.nonzero(np.asarray(grid.data).reshape(grid.info.height, grid.info.width) == 100)[1])
        assert 3.0 + 0.05 * cols.min() >= 3.0 + 2.4 * (1 - 0.24 * COS15) - 0.05  # the wall, beyond the near plane
    finally:
        node.trigger_deactivate()
        node.destroy_node()
