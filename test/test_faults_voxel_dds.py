"""voxel_reconstructor under an image flood and lifecycle churn, over real loopback DDS."""
import threading
import time

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

import rclpy  # noqa: E402
import torch  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, PointCloud2  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from learned_energy_ros.ros.conversions import camera_to_camera_info, rgb_to_image, sec_to_stamp  # noqa: E402
from learned_energy_ros.ros.run import NodeRunner  # noqa: E402
from learned_energy_ros.vox.checkpoint import save_checkpoint  # noqa: E402
from learned_energy_ros.vox.dataset import ViewConfig  # noqa: E402
from learned_energy_ros.vox.model import IGEConfig, IGEVoxelModel  # noqa: E402
from test_faults_voxel import CAM  # noqa: E402

pytestmark = pytest.mark.timeout(90)
SUCCESS = TransitionCallbackReturn.SUCCESS


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    torch.manual_seed(0)
    model = IGEVoxelModel(IGEConfig(resolution=16, image_size=32, width_mult=0.25, features=8, energy_hidden=8, steps=1))
    ckpt = save_checkpoint(tmp_path_factory.mktemp("vox") / "tiny.pt", "ige", model,
                           ViewConfig(image_size=32, resolution=16), {"untrained": True})
    params = {"device": "cpu", "checkpoint": str(ckpt), "near": 0.8, "far": 1.2, "diagnostics_period": 0.2}
    with NodeRunner(["voxel_reconstructor"], parameters={"voxel_reconstructor": params},
                    remappings={"image": "/fv/image", "camera_info": "/fv/camera_info"}) as runner:
        context = rclpy.Context()
        rclpy.init(context=context)
        node = rclpy.create_node("vox_flood_driver", context=context)
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        pubs = node.create_publisher(Image, "/fv/image", qos), node.create_publisher(CameraInfo, "/fv/camera_info", qos)
        received = []
        node.create_subscription(PointCloud2, "/voxel_reconstructor/occupancy",
                                 lambda m: received.append(m.header.stamp.sec + 1e-9 * m.header.stamp.nanosec), qos)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        thread = threading.Thread(target=executor.spin, daemon=True)
        thread.start()
        deadline = time.time() + 10
        while time.time() < deadline and not (pubs[0].get_subscription_count() and pubs[1].get_subscription_count()):
            time.sleep(0.05)
        time.sleep(0.3)
        try:
            yield runner, runner.nodes["voxel_reconstructor"], pubs, received
        finally:
            executor.shutdown(timeout_sec=1.0)
            node.destroy_node()
            rclpy.shutdown(context=context)


def publish(pubs, stamp):
    header = Header(stamp=sec_to_stamp(stamp), frame_id="camera_optical_frame")
    rgb = np.full((CAM.height, CAM.width, 3), int(stamp * 100) % 255, np.uint8)
    pubs[1].publish(camera_to_camera_info(CAM, header))
    pubs[0].publish(rgb_to_image(rgb, header, "bgr8"))


def test_flood_and_lifecycle_churn(system):
    runner, vox, pubs, received = system
    stop = threading.Event()

    def flood():
        while not stop.is_set():
            publish(pubs, time.time())
            time.sleep(0.005)

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    try:
        time.sleep(1.0)
        for _ in range(3):
            assert vox.trigger_deactivate() == SUCCESS
            time.sleep(0.2)
            assert vox.trigger_activate() == SUCCESS
            time.sleep(0.3)
        t0 = time.time()
        deadline = time.time() + 15
        while time.time() < deadline and not any(t >= t0 for t in received):
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=2)
    assert runner._thread.is_alive(), "the executor died"
    assert any(t >= t0 for t in received), "no output after the last reactivation"
    dropped = vox.stats.skipped["overload"] + vox.stats.counts["lost_image"] + vox.stats.counts["lost_camera_info"]
    assert dropped > 0 and vox.stats.skipped["internal_error"] == 0, dict(vox.stats.counts)
