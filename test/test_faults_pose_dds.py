"""pose_lifter under overload and lifecycle churn, over real loopback DDS (one node per module)."""
import threading
import time

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from learned_energy_ros.ros.clouds import keypoints_to_cloud  # noqa: E402
from learned_energy_ros.ros.conversions import camera_to_camera_info, sec_to_stamp  # noqa: E402
from learned_energy_ros.ros.run import NodeRunner  # noqa: E402
from ros_fixtures import CAM_A, Driver, lifter_checkpoint, moving_person  # noqa: E402

pytestmark = pytest.mark.timeout(90)
_, COCO = moving_person(2)
PERSONS = 10


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    checkpoint, _ = lifter_checkpoint(tmp_path_factory.mktemp("lifter"))
    params = {"device": "cpu", "checkpoint": checkpoint, "publish_overlay": False, "max_pending": 2,
              "diagnostics_period": 0.5, "sensor_qos": "reliable", "qos_depth": 5}
    remap = {"camera_info": "/t/camera_info", "keypoints": "/t/keypoints", "image": "/t/image"}
    with NodeRunner(["pose_lifter"], parameters={"pose_lifter": params}, remappings=remap) as runner:
        driver = Driver("/t")
        try:
            driver.wait_connected()
            yield runner, runner.nodes["pose_lifter"], driver
        finally:
            driver.close()


def crowd_cloud(stamp: float):
    joints = np.stack([COCO[0] + [1.0 * (i - PERSONS / 2), 0, 2.0 * (i % 3)] for i in range(PERSONS)])
    px = CAM_A.project(joints)
    header = Header(stamp=sec_to_stamp(stamp), frame_id="camera_optical_frame")
    return camera_to_camera_info(CAM_A, header), keypoints_to_cloud(header, px, np.full((PERSONS, 17), 0.9),
                                                                    np.arange(PERSONS))


def publish(driver, stamp):
    info, cloud = crowd_cloud(stamp)
    driver.pub_info.publish(info)
    driver.pub_kp.publish(cloud)


def received_after(driver, t0_ns):
    with driver.lock:
        return {k: v for k, v in driver.joints.items() if k >= t0_ns}


def test_burst_drops_oldest_counts_them_and_bounds_latency(system):
    _, node, driver = system
    stats = node.stats
    lost_before = stats.skipped["overload"] + stats.counts["lost_keypoints"]
    processed_before = stats.counts["frames_processed"]
    stamps = [time.time() + 1e-3 * i for i in range(80)]
    t0 = time.time()
    for stamp in stamps:  # 80 frames x 10 persons as fast as possible: far more than the lifter can take
        publish(driver, stamp)
    publish_end = time.time()
    last_ns = int(round(stamps[-1] * 1e9))
    deadline = time.time() + 30
    while time.time() < deadline and not any(abs(k - last_ns) < 1000 for k in received_after(driver, int(t0 * 1e9))):
        time.sleep(0.02)
    got = received_after(driver, int(t0 * 1e9) - 1)
    processed = stats.counts["frames_processed"] - processed_before
    dropped = stats.skipped["overload"] + stats.counts["lost_keypoints"] - lost_before
    assert any(abs(k - last_ns) < 1000 for k in got), "the newest frame of the burst was not processed"
    assert dropped > 0 and processed < len(stamps), (dropped, processed)
    per_frame = max(stats.latencies)
    # oldest-first processing of a bounded backlog: the newest frame waits for at most
    # (max_pending + reader depth) frames, never for the whole burst
    # (generous factor and slack: CI machines are shared; an unbounded backlog would need 80 frames)
    assert time.time() - publish_end < 15 * per_frame + 3.0, (time.time() - publish_end, per_frame)


def test_deactivate_and_reactivate_under_load(system):
    runner, node, driver = system
    stop = threading.Event()

    def flood():
        while not stop.is_set():
            publish(driver, time.time())
            time.sleep(0.01)

    thread = threading.Thread(target=flood, daemon=True)
    thread.start()
    try:
        for _ in range(3):
            time.sleep(0.3)
            assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
            time.sleep(0.2)
            assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        t0 = int(time.time() * 1e9)
        deadline = time.time() + 15
        while time.time() < deadline and not received_after(driver, t0):
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=2)
    assert runner._thread.is_alive(), "the executor died during the lifecycle churn"
    assert received_after(driver, t0), "no output after the last reactivation"
    assert node.stats.skipped["internal_error"] == 0
