"""Two calibrated cameras, one pose_lifter in fusion mode, over real DDS.

Camera 0 is the common frame's origin (its optical frame is ``world``), camera 1 looks at the scene from
the side. A person both cameras see comes out once, in ``world``, where he is; a person only camera 0
sees is still published; a bad frame of one camera costs the other nothing.
"""

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

from std_msgs.msg import Header  # noqa: E402

from learned_energy_ros.pose.rig import CameraPose  # noqa: E402
from learned_energy_ros.ros.clouds import cloud_to_structured  # noqa: E402
from learned_energy_ros.ros.conversions import camera_to_camera_info  # noqa: E402
from learned_energy_ros.ros.run import NodeRunner  # noqa: E402
from ros_fixtures import (CAM_A, CAM_B, Driver, camera_cloud as cloud, lifter_checkpoint, moving_person,  # noqa: E402
                          send_both, wait_until)

pytestmark = pytest.mark.timeout(120)
H36, COCO = moving_person(6)
CAM1 = CAM_B.__class__(CAM_B.K, CAM_B.D, CAM_B.distortion_model, CAM_B.width, CAM_B.height, "cam1_optical_frame")
SIDE = CameraPose.look_at([4.5, 0.0, 4.0], [0.0, 0.0, 4.0], up=[0.0, -1.0, 0.0])  # world = camera 0's optical frame
OTHER = np.array([1.3, 0.0, 0.5])  # a second person, beside the first and nearer camera 0


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fusion")
    checkpoint, trained = lifter_checkpoint(tmp)
    rig = tmp / "rig.yaml"
    rig.write_text("frame_id: world\ncameras:\n"
                   "  cam0: {translation: [0, 0, 0], rotation: [0, 0, 0, 1]}\n"
                   f"  cam1: {{translation: {SIDE.translation.tolist()}, rotation_matrix: {SIDE.rotation.tolist()}}}\n")
    params = {"device": "cpu", "checkpoint": checkpoint, "cameras": ["cam0", "cam1"], "fusion": True,
              "extrinsics": str(rig), "publish_overlay": False, "sync_slop": 0.01, "min_score": 0.1,
              "warn_period": 0.0, "fusion_wait": 0.5}
    with NodeRunner(["pose_lifter"], parameters={"pose_lifter": params}) as runner:
        drivers = [Driver("/cam0", outputs="/pose_lifter"), Driver("/cam1", outputs="/pose_lifter")]
        try:
            for d in drivers:
                d.wait_connected()
            yield runner.nodes["pose_lifter"], drivers, trained
        finally:
            for d in drivers:
                d.close()


def test_fused_skeletons_in_the_common_frame_and_one_camera_people_too(system):
    node, drivers, trained = system
    for f in range(3):
        both = COCO[f][None]
        a, b = send_both(drivers, 300.0 + 0.1 * f, [
            (CAM_A, cloud(CAM_A, np.concatenate([both, both + OTHER]), (3, 4))),
            (CAM1, cloud(CAM1, SIDE.to_camera(both), (7,)))])
    assert a is not None and b is not None and a.header.frame_id == "world"
    data = cloud_to_structured(a)
    ids = sorted(set(data["person"].tolist()))
    assert len(ids) == 2, ids
    pts = np.stack([data["x"], data["y"], data["z"]], -1).reshape(2, 17, 3)
    roots = pts[:, 0]
    truth = H36[2][0]
    fused = int(np.argmin(np.linalg.norm(roots - truth, axis=-1)))
    assert node.fusion is not None
    if trained:  # metric accuracy needs the trained model: the two views fix the distance
        assert np.linalg.norm(roots[fused] - truth) < 0.1, (roots, truth)
        assert np.linalg.norm(roots[1 - fused] - (truth + OTHER)) < 0.6
    assert node.stats.summary().get("skeletons_fused", 0) >= 1
    report = node.fusion.health.report()
    assert set(report) == {"cam0", "cam1"} and all(np.isfinite(r["consistency_energy"]) for r in report.values())
    statuses = node._fusion_statuses()
    assert sorted(s.hardware_id for s in statuses) == ["cam0", "cam1"]
    assert {kv.key for kv in statuses[0].values} >= {"consistency_energy", "excess_energy", "weight", "disagrees"}


def test_a_bad_camera_frame_is_skipped_and_the_other_camera_still_publishes(system):
    node, drivers, _ = system
    bad = camera_to_camera_info(CAM1, Header(frame_id="cam1_optical_frame"))
    bad.k = np.zeros(9)
    before = node.stats.skipped["invalid_camera"]
    a, _ = send_both(drivers, 310.0, [(CAM_A, cloud(CAM_A, COCO[4][None], (3,))),
                                      (bad, cloud(CAM1, SIDE.to_camera(COCO[4][None]), (7,)))])
    assert a is not None and a.header.frame_id == "world"
    assert len(set(cloud_to_structured(a)["person"].tolist())) == 1
    assert wait_until(lambda: node.stats.skipped["invalid_camera"] == before + 1)


def test_fusion_steps_change_at_run_time_and_out_of_range_is_refused(system):
    from rclpy.parameter import Parameter
    node, _, _ = system
    assert node.fusion.multiview.steps == 16
    for value in (0, 65):
        (result,) = node.set_parameters([Parameter("fusion_steps", value=value)])
        assert not result.successful and "fusion_steps" in result.reason, result.reason
    (wrong_type,) = node.set_parameters([Parameter("fusion_steps", value=8.5)])
    assert not wrong_type.successful
    assert node.get_parameter("fusion_steps").value == 16 and node.fusion.multiview.steps == 16
    try:
        assert node.set_parameters([Parameter("fusion_steps", value=8)])[0].successful
        assert node.fusion.multiview.steps == 8
    finally:
        node.set_parameters([Parameter("fusion_steps", value=16)])


@pytest.mark.parametrize("case", ["no_cameras", "no_extrinsics", "camera_missing", "frame_mismatch", "tf_without_frame",
                                  "too_many_steps"])
def test_fusion_settings_that_cannot_work_fail_configure_with_the_reason(ctx, tmp_path, case):
    from rclpy.lifecycle import TransitionCallbackReturn
    from learned_energy_ros.ros.pose_lifter_node import PoseLifterNode
    from ros_fixtures import spy_node
    rig = tmp_path / "rig.yaml"
    rig.write_text("frame_id: world\ncameras:\n  cam0: {translation: [0, 0, 0], rotation: [0, 0, 0, 1]}\n")
    params = {"no_cameras": dict(extrinsics=str(rig)),
              "no_extrinsics": dict(cameras=["cam0", "cam1"]),
              "camera_missing": dict(cameras=["cam0", "cam1"], extrinsics=str(rig)),
              "frame_mismatch": dict(cameras=["cam0"], extrinsics=str(rig), fusion_frame="map"),
              "tf_without_frame": dict(cameras=["cam0", "cam1"], extrinsics="tf"),
              "too_many_steps": dict(cameras=["cam0"], extrinsics=str(rig), fusion_steps=65)}[case]
    expected = {"no_cameras": "cameras", "no_extrinsics": "extrinsics", "camera_missing": "cam1",
                "frame_mismatch": "map", "tf_without_frame": "fusion_frame", "too_many_steps": "steps=65"}[case]
    node = spy_node(PoseLifterNode, ctx, f"fusion_{case}", device="cpu", fusion=True, **params)
    try:
        assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert node.fusion is None and node.pipeline is None and expected in node.log.errors[-1], node.log.errors
    finally:
        node.destroy_node()


def test_fused_people_get_tf_frames_in_the_common_frame(system):
    from ros_fixtures import require_interfaces
    require_interfaces("tf2_msgs")
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from tf2_msgs.msg import TFMessage
    _, drivers, _ = system
    tf = []
    node = drivers[0].node
    sub = node.create_subscription(TFMessage, "/tf", lambda m: tf.extend(m.transforms),
                                   QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
    try:
        assert wait_until(lambda: node.count_publishers("/tf") >= 1 and sub.get_publisher_count() >= 1)
        both = COCO[4][None]
        a, _ = send_both(drivers, 320.0, [(CAM_A, cloud(CAM_A, both, (3,))), (CAM1, cloud(CAM1, SIDE.to_camera(both), (7,)))])
        assert a is not None
        people = sorted(set(cloud_to_structured(a)["person"].tolist()))
        bodies = lambda: {t.child_frame_id: t.header.frame_id for t in tf if t.header.stamp.sec == 320}  # noqa: E731
        assert wait_until(lambda: all(f"body_b{p}" in bodies() for p in people)), (people, sorted(bodies()))
        assert all(bodies()[f"body_b{p}"] == "world" for p in people)  # parent: the fused (common) frame
    finally:
        node.destroy_subscription(sub)
