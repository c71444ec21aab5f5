"""One pose_lifter serving two cameras over real DDS (``cameras: [cam0, cam1]``).

Each camera has its own inputs, outputs and tracks; the people of both are lifted
in one batched lifter call when both frames are pending; a bad frame of one
camera is skipped and counted without costing the other its frame.
"""
import threading

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

from std_msgs.msg import Header  # noqa: E402

from learned_energy_ros.ros.clouds import cloud_to_structured  # noqa: E402
from learned_energy_ros.ros.conversions import camera_to_camera_info  # noqa: E402
from learned_energy_ros.ros.run import NodeRunner  # noqa: E402
from ros_fixtures import (CAM_A, CAM_B, Driver, camera_cloud as cloud, lifter_checkpoint, moving_person,  # noqa: E402
                          send_both, wait_until)

pytestmark = pytest.mark.timeout(90)
_, COCO = moving_person(10)
CAM_B = CAM_B.__class__(CAM_B.K, CAM_B.D, CAM_B.distortion_model, CAM_B.width, CAM_B.height, "cam1_optical_frame")


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    checkpoint, _ = lifter_checkpoint(tmp_path_factory.mktemp("lifter"))
    params = {"device": "cpu", "checkpoint": checkpoint, "cameras": ["cam0", "cam1"], "publish_overlay": False,
              "sync_slop": 0.01, "min_score": 0.1, "warn_period": 0.0}
    with NodeRunner(["pose_lifter"], parameters={"pose_lifter": params}) as runner:
        drivers = [Driver("/cam0", outputs="/cam0/pose_lifter"), Driver("/cam1", outputs="/cam1/pose_lifter")]
        try:
            for d in drivers:
                d.wait_connected()
            yield runner.nodes["pose_lifter"], drivers
        finally:
            for d in drivers:
                d.close()


def test_each_camera_gets_its_own_outputs_and_one_batched_lift(system):
    node, drivers = system
    calls = []
    lifter = node.pipeline.lifter
    original = lifter.lift_normalized

    def counting(keypoints, *args, **kwargs):
        calls.append(len(keypoints))
        return original(keypoints, *args, **kwargs)
    lifter.lift_normalized = counting
    try:
        wake, node._wake = node._wake, None  # the worker sleeps on: both frames are pending at its next tick
        results = []
        t = threading.Thread(target=lambda: results.append(send_both(drivers, 200.0, [
            (CAM_A, cloud(CAM_A, COCO[0][None], (3,))), (CAM_B, cloud(CAM_B, np.stack([COCO[1], COCO[2]]), (5, 6)))])))
        t.start()
        queued = wait_until(lambda: node._pending() == 2)
        node._wake = wake
        wake.set()
        t.join()
        assert queued, "both frames did not reach the worker queues"
    finally:
        lifter.lift_normalized = original
    a, b = results[0]
    assert a is not None and b is not None, "a camera got no <cam>/pose_lifter/joints"
    assert a.header.frame_id == "camera_optical_frame" and b.header.frame_id == "cam1_optical_frame"
    assert sorted(set(cloud_to_structured(a)["person"])) == [3]
    assert sorted(set(cloud_to_structured(b)["person"])) == [5, 6]
    assert calls == [3], f"expected one lifter call for 1 + 2 people, got {calls}"
    summary = node.stats.summary()
    assert summary["received_cam0/keypoints"] >= 1 and summary["received_cam1/keypoints"] >= 1


def test_a_bad_camera_frame_is_skipped_and_the_other_camera_still_lifts(system):
    node, drivers = system
    bad = camera_to_camera_info(CAM_B, Header(frame_id="cam1_optical_frame"))
    bad.k = np.zeros(9)  # invalid calibration on cam1 only
    before = node.stats.skipped["invalid_camera"]
    a, b = send_both(drivers, 201.0, [(CAM_A, cloud(CAM_A, COCO[3][None], (3,))), (bad, cloud(CAM_B, COCO[3][None], (5,)))])
    assert a is not None and b is None
    assert wait_until(lambda: node.stats.skipped["invalid_camera"] == before + 1)
    # cam1 recovers with a valid calibration, its tracks untouched by cam0's
    a, b = send_both(drivers, 202.0, [(CAM_A, cloud(CAM_A, COCO[4][None], (3,))), (CAM_B, cloud(CAM_B, COCO[4][None], (5,)))])
    assert a is not None and b is not None
    assert node.channels[0].pipeline is not node.channels[1].pipeline
    assert set(node.channels[1].pipeline.tracker.tracks) >= {5} and 5 not in node.channels[0].pipeline.tracker.tracks


def test_overlay_per_camera_when_switched_on_at_run_time(system):
    from rclpy.parameter import Parameter
    from learned_energy_ros.ros.images import rgb_to_image
    node, drivers = system
    assert node.set_parameters([Parameter("publish_overlay", value=True)])[0].successful
    try:
        assert wait_until(lambda: drivers[1].pub_image.get_subscription_count() == 1)
        image = rgb_to_image(np.full((CAM_B.height, CAM_B.width, 3), 90, np.uint8), Header())
        msg = drivers[1].send(203.0, CAM_B, cloud(CAM_B, COCO[5][None], (5,)), image=image)
        assert msg is not None
        assert wait_until(lambda: len(drivers[1].overlays) > 0), "no cam1/pose_lifter/overlay"
        assert not drivers[0].overlays, "cam0 got an overlay without an image"
    finally:
        node.set_parameters([Parameter("publish_overlay", value=False)])
    assert drivers[1].pub_image.get_subscription_count() == 0 or wait_until(
        lambda: drivers[1].pub_image.get_subscription_count() == 0)


def test_each_camera_gets_tf_frames_in_its_own_optical_frame_and_one_tracked_list(system):
    from ros_fixtures import require_interfaces
    require_interfaces("tf2_msgs", "hri_msgs")
    from hri_msgs.msg import IdsList
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from tf2_msgs.msg import TFMessage
    _, drivers = system
    tf, tracked = [], []
    node = drivers[0].node
    subs = [node.create_subscription(TFMessage, "/tf", lambda m: tf.extend(m.transforms),
                                     QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)),
            node.create_subscription(IdsList, "/humans/bodies/tracked", tracked.append, 10)]
    try:
        assert wait_until(lambda: node.count_subscribers("/tf") >= 1 and node.count_publishers("/tf") >= 1)
        send_both(drivers, 210.0, [(CAM_A, cloud(CAM_A, COCO[5][None], (3,))), (CAM_B, cloud(CAM_B, COCO[5][None], (5,)))])
        parents = lambda: {t.child_frame_id: t.header.frame_id for t in tf if t.header.stamp.sec == 210}  # noqa: E731
        assert wait_until(lambda: {"body_cam0_b3", "body_cam1_b5"} <= set(parents())), sorted(parents())
        assert parents()["body_cam0_b3"] == "camera_optical_frame" and parents()["body_cam1_b5"] == "cam1_optical_frame"
        assert parents()["l_wrist_cam1_b5"] == "body_cam1_b5"
        assert wait_until(lambda: any(sorted(m.ids) == ["cam0_b3", "cam1_b5"] for m in tracked)), [m.ids for m in tracked]
    finally:
        for sub in subs:
            node.destroy_subscription(sub)
