"""A full-size 1280x720 bgr8 image crosses processes with the default image QoS (DESIGN.md)."""
import subprocess
import sys
import textwrap
import time

import pytest

rclpy = pytest.importorskip("rclpy", reason="rclpy is not installed")

from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from learned_energy_ros.ros.images import image_to_rgb  # noqa: E402
from learned_energy_ros.ros.qos import DEFAULT_IMAGE_QOS, DEFAULT_SENSOR_QOS, qos_from_name  # noqa: E402

N_IMAGES = 30

PUBLISHER = textwrap.dedent(f"""
    import time, numpy as np, rclpy
    from std_msgs.msg import Header
    from sensor_msgs.msg import Image
    from learned_energy_ros.ros.images import rgb_to_image
    from learned_energy_ros.ros.qos import qos_from_name
    rclpy.init()
    node = rclpy.create_node("image_source")
    pub = node.create_publisher(Image, "/qos_test/image", qos_from_name("{DEFAULT_IMAGE_QOS}", 5))
    deadline = time.time() + 15
    while pub.get_subscription_count() == 0 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    rgb = np.zeros((720, 1280, 3), np.uint8)
    for i in range({N_IMAGES}):
        rgb[:, :, 0] = i  # the frame number, checked by the subscriber
        pub.publish(rgb_to_image(rgb, Header(frame_id="cam"), "bgr8"))
        time.sleep(1 / 5)  # slow enough that a subscriber on a loaded 2-core CI machine keeps within depth 5
    time.sleep(1.0)
    node.destroy_node()
    rclpy.shutdown()
""")


def test_qos_profiles_by_name():
    from rclpy.qos import ReliabilityPolicy
    assert qos_from_name(DEFAULT_SENSOR_QOS, 3).reliability == ReliabilityPolicy.BEST_EFFORT
    assert qos_from_name(DEFAULT_IMAGE_QOS, 3).reliability == ReliabilityPolicy.RELIABLE
    assert qos_from_name("sensor_data", 7).depth == 7
    with pytest.raises(ValueError, match="unknown QoS"):
        qos_from_name("fast", 1)


@pytest.mark.timeout(40)
def test_full_size_image_crosses_processes():
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("image_sink", context=context)
    frames = []
    node.create_subscription(Image, "/qos_test/image", lambda m: frames.append(image_to_rgb(m)[0, 0, 0]),
                             qos_from_name(DEFAULT_IMAGE_QOS, 5))
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    proc = subprocess.Popen([sys.executable, "-c", PUBLISHER])
    try:
        deadline = time.time() + 30
        while proc.poll() is None and time.time() < deadline:
            executor.spin_once(timeout_sec=0.05)
        for _ in range(20):
            executor.spin_once(timeout_sec=0.05)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
    # bgr8 on the wire, RGB here: the red channel carries the frame number
    assert len(frames) >= N_IMAGES - 2, f"received {len(frames)} of {N_IMAGES}"
    numbers = [int(f) for f in frames]
    assert numbers == sorted(set(numbers)) and set(numbers) <= set(range(N_IMAGES))
