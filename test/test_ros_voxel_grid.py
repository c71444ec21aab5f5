"""voxel_reconstructor's ~/occupancy_grid over real DDS: a known object's footprint, free space, unknown shadow.

The node runs a checkpoint whose output is known (``slab_voxel_checkpoint``: a wall
filling depth bins 8-11 of the frustum, z 2.0-2.5 m with near 1 m, far 3 m, R = 16),
seen by a level camera 0.5 m above the floor (parameters ``camera_height``,
``camera_pitch``). The plane frame is then x ahead (= optical z), y left (= -optical x).
"""
import math
import time

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")
pytest.importorskip("nav_msgs", reason="nav_msgs is not installed (pip: ros-nav-msgs)")

from nav_msgs.msg import OccupancyGrid  # noqa: E402
from sensor_msgs.msg import PointCloud2  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402

from learned_energy_ros.core.camera import Camera  # noqa: E402
from learned_energy_ros.core.rotations import quaternion_to_matrix  # noqa: E402
from learned_energy_ros.ros.images import rgb_to_image  # noqa: E402
from learned_energy_ros.ros.run import NodeRunner  # noqa: E402
from ros_fixtures import ImageDriver, slab_voxel_checkpoint  # noqa: E402

pytestmark = pytest.mark.timeout(60)
CAM = Camera.pinhole(100.0, 100.0, 79.5, 59.5, 160, 120, "camera_optical_frame")  # normalized x in [-0.8, 0.8]
RES, SIZE, ORIGIN = 0.1, (4.0, 5.0), (0.0, -2.5)  # columns: x = 0.1 col; rows: y = 0.1 row - 2.5
FREE, UNKNOWN, OCCUPIED = 0, -1, 100


class GridDriver(ImageDriver):
    """Publishes image + camera_info; records ~/occupancy and ~/occupancy_grid by stamp."""

    def __init__(self):
        super().__init__("vox_grid_driver", "/g")
        self.clouds, self.grids = {}, {}
        self.node.create_subscription(PointCloud2, "/voxel_reconstructor/occupancy", self.store_by_stamp(self.clouds),
                                      self.qos)
        self.node.create_subscription(OccupancyGrid, "/voxel_reconstructor/occupancy_grid",
                                      self.store_by_stamp(self.grids), self.qos)
        self.start()

    def send(self, stamp: float, grid: bool = True, wait: float = 8.0):
        """Publish one frame; return (cloud, grid) once both arrived (``grid=False``: the cloud, and a grid
        if one arrives within a second), None on timeout."""
        rgb = np.random.default_rng(0).integers(0, 255, (CAM.height, CAM.width, 3), dtype=np.uint8)
        header = self.publish_frame(stamp, rgb_to_image(rgb, Header(), "rgb8"), CAM)
        if not self.wait_stored(header, [self.clouds, self.grids] if grid else [self.clouds], wait):
            return None
        if not grid:
            time.sleep(1.0)
        key = (header.stamp.sec, header.stamp.nanosec)
        with self.lock:
            return self.clouds[key], self.grids.get(key)


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    ckpt = slab_voxel_checkpoint(tmp_path_factory.mktemp("vox") / "slab.pt", 16, range(8, 12))
    params = {"device": "cpu", "checkpoint": ckpt, "near": 1.0, "far": 3.0, "camera_height": 0.5, "camera_pitch": 0.0,
              "grid_resolution": RES, "grid_size": list(SIZE), "grid_origin": list(ORIGIN), "warn_period": 0.0,
              "sync_slop": 0.01}
    with NodeRunner(["voxel_reconstructor"], parameters={"voxel_reconstructor": params},
                    remappings={"image": "/g/image", "camera_info": "/g/camera_info"}) as runner:
        driver = GridDriver()
        try:
            driver.wait_for((driver.pub_image, driver.pub_info), "/voxel_reconstructor/occupancy_grid",
                            "voxel_reconstructor")
            yield runner.nodes["voxel_reconstructor"], driver
        finally:
            driver.close()


def _cells(grid: OccupancyGrid) -> np.ndarray:
    return np.asarray(grid.data, dtype=np.int8).reshape(grid.info.height, grid.info.width)  # [row, col]


def test_grid_has_the_known_objects_footprint(system):
    _, driver = system
    out = driver.send(100.0)
    assert out is not None and out[1] is not None, "no occupancy grid published"
    grid = out[1]
    assert (grid.info.width, grid.info.height, grid.info.resolution) == (40, 50, pytest.approx(RES))
    cells = _cells(grid)
    cols = np.unique(np.nonzero(cells == OCCUPIED)[1])
    assert cols.tolist() == [20, 21, 22, 23, 24]  # the wall: x 2.0-2.5 m ahead
    # laterally it spans the frustum: |y| <= 0.8 x (normalized half width 0.8)
    for col in cols:
        x0, x1 = col * RES, (col + 1) * RES
        rows = np.nonzero(cells[:, col] == OCCUPIED)[0]
        inside = np.arange(math.ceil((-0.8 * x0 + 2.5) / RES), math.floor((0.8 * x0 + 2.5) / RES))
        assert set(inside) <= set(rows), col  # every cell the wall covers at this x
        assert np.all(np.abs(rows * RES - 2.5 + RES / 2) <= 0.8 * x1 + RES), col  # and none beyond it
    assert np.all(cells[20:30, 10:20] == FREE)  # seen from the near plane (1 m) up to the wall, |y| <= 0.5 m
    assert np.all(cells[:, :10] == UNKNOWN)  # before the frustum
    assert np.all(cells[:, 25:] == UNKNOWN)  # behind the wall: every ray ends on it


def test_grid_lies_on_the_floor_in_the_camera_frame(system):
    _, driver = system
    grid = driver.send(101.0)[1]
    assert grid.header.frame_id == CAM.frame_id and (grid.header.stamp.sec, grid.header.stamp.nanosec) == (101, 0)
    o = grid.info.origin
    R = quaternion_to_matrix([o.orientation.x, o.orientation.y, o.orientation.z, o.orientation.w])
    p = np.array([o.position.x, o.position.y, o.position.z])
    # corner (0, -2.5) of the floor 0.5 m below the camera: 2.5 m to the left (optical x), 0.5 m down (optical y)
    np.testing.assert_allclose(p, [2.5, 0.5, 0.0], atol=1e-9)
    np.testing.assert_allclose(R, [[0, -1, 0], [0, 0, -1], [1, 0, 0]], atol=1e-9)  # grid x ahead, y left, z up
    rows, cols = np.nonzero(_cells(grid) == OCCUPIED)
    centres = p + (np.stack([cols + 0.5, rows + 0.5, np.zeros_like(rows)], -1) * RES) @ R.T  # optical frame
    assert np.allclose(centres[:, 1], 0.5) and centres[:, 2].min() > 2.0 and centres[:, 2].max() < 2.5


def test_grid_follows_the_plane_parameters_and_stops_without_a_plane(system):
    node, driver = system
    assert not node.set_parameters([Parameter("support_plane", value=[0.0, -1.0, 0.0, 0.5])])[0].successful
    assert node.set_parameters([Parameter("camera_height", value=0.0),
                                Parameter("support_plane", value=[0.0, -1.0, 0.0, 0.5])])[0].successful
    cells = _cells(driver.send(102.0)[1])  # the same floor, given as a plane: the same grid
    assert np.unique(np.nonzero(cells == OCCUPIED)[1]).tolist() == [20, 21, 22, 23, 24]
    assert node.set_parameters([Parameter("support_plane", value=[0.0, 0.0, 0.0, 0.0])])[0].successful
    cloud, grid = driver.send(103.0, grid=False)
    assert cloud is not None and grid is None  # no plane, no grid; the cloud goes on
    assert not node.set_parameters([Parameter("grid_resolution", value=0.0)])[0].successful
    assert not node.set_parameters([Parameter("grid_size", value=[4.0])])[0].successful


def test_roi_is_placed_on_the_plane(system):
    node, driver = system
    from learned_energy_ros.ros.clouds import cloud_to_structured
    assert node.set_parameters([Parameter("camera_height", value=0.5), Parameter("roi", value=[60, 45, 40, 40]),
                                Parameter("occupancy_threshold", value=0.0)])[0].successful
    try:
        z = cloud_to_structured(driver.send(104.0)[0])["z"]
        # bottom edge at normalized y 0.25 -> contact 2.0 m, 0.8 m wide -> centre 2.4 m; unpadded: half side 0.2
        near, far = 2.4 * (1 - 0.2 * math.cos(math.radians(15))), 2.4 * (1 + 0.2 * math.cos(math.radians(15)))
        half_bin = (far - near) / 32
        assert (z.min(), z.max()) == (pytest.approx(near + half_bin, abs=1e-5), pytest.approx(far - half_bin, abs=1e-5))
    finally:
        node.set_parameters([Parameter("roi", value=[0, 0, 0, 0]), Parameter("occupancy_threshold", value=0.5)])
