"""pose_lifter over real rclpy on loopback: sync, outputs, camera swap, smoothing, DELETE, bad inputs.

One node (NodeRunner, its own context) and one driver node (another context)
per module; the domain id is private to the session (conftest.py).
"""

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

from rclpy.parameter import Parameter  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from visualization_msgs.msg import Marker  # noqa: E402

from learned_energy_ros.core.metrics import acceleration_error  # noqa: E402
from learned_energy_ros.ros.clouds import KEYPOINT_FIELDS, cloud_to_structured, keypoints_to_cloud, structured_to_cloud  # noqa: E402
from learned_energy_ros.ros.conversions import camera_to_camera_info  # noqa: E402
from learned_energy_ros.ros.images import rgb_to_image  # noqa: E402
from learned_energy_ros.ros.run import NodeRunner  # noqa: E402
from ros_fixtures import CAM_A, CAM_B, Driver, StampClock, lifter_checkpoint, moving_person  # noqa: E402
from ros_fixtures import wait_until as wait_for  # noqa: E402

pytestmark = pytest.mark.timeout(60)
H36M, COCO = moving_person(30)


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    checkpoint, trained = lifter_checkpoint(tmp_path_factory.mktemp("lifter"))
    params = {"device": "cpu", "checkpoint": checkpoint, "warn_period": 0.0, "diagnostics_period": 0.2,
              "sync_slop": 0.01, "min_score": 0.1}
    remap = {"camera_info": "/t/camera_info", "keypoints": "/t/keypoints", "image": "/t/image"}
    with NodeRunner(["pose_lifter"], parameters={"pose_lifter": params}, remappings=remap) as runner:
        driver = Driver("/t")
        try:
            driver.wait_connected()
            yield runner.nodes["pose_lifter"], driver, trained
        finally:
            driver.close()


Clock = StampClock(100.0)


def cloud_for(camera, joints_coco, ids=(0,), noise=0.0, rng=None):
    px = camera.project(np.asarray(joints_coco).reshape(len(ids), 17, 3))
    if noise:
        px = px + (rng or np.random.default_rng(0)).normal(scale=noise, size=px.shape)
    return keypoints_to_cloud(Header(), px, np.full((len(ids), 17), 0.9), list(ids))


def joints_of(msg, person=None):
    pts = cloud_to_structured(msg)
    if person is not None:
        pts = pts[pts["person"] == person]
    return np.stack([pts["x"], pts["y"], pts["z"]], -1).reshape(-1, 17, 3), pts


def set_params(node, **values):
    results = node.set_parameters([Parameter(k, value=v) for k, v in values.items()])
    assert all(r.successful for r in results), [r.reason for r in results]




def test_synchronized_frame_gives_joints_markers_and_overlay(system):
    node, driver, _ = system
    image = rgb_to_image(np.full((480, 640, 3), 90, np.uint8), Header())
    msg = driver.send(Clock.next(), CAM_A, cloud_for(CAM_A, COCO[0], ids=(7,)), image=image)
    assert msg is not None, "no ~/joints for a synchronized frame"
    joints, pts = joints_of(msg)
    assert msg.header.frame_id == "camera_optical_frame" and joints.shape == (1, 17, 3)
    assert set(pts.dtype.names) >= {"x", "y", "z", "person", "joint", "confidence", "energy"}
    assert np.all(pts["person"] == 7) and np.all(joints[..., 2] > 0) and np.isfinite(pts["energy"]).all()
    assert wait_for(lambda: any(m.ns == "person_7" for a in driver.markers for m in a.markers))
    assert wait_for(lambda: len(driver.overlays) > 0), "no ~/overlay although an image was sent"
    overlay = list(driver.overlays.values())[-1]
    assert (overlay.width, overlay.height) == (640, 480)
    assert np.any(np.frombuffer(bytes(overlay.data), np.uint8) != 90)  # something was drawn


def test_unsynchronized_keypoints_are_not_processed(system):
    node, driver, _ = system
    before = node.stats.counts["frames_processed"]
    t = Clock.next()
    driver.pub_info.publish(camera_to_camera_info(CAM_A, Header(stamp=Header().stamp)))  # stamp 0: far away
    assert driver.send(t, None, cloud_for(CAM_A, COCO[1]), wait=0.5) is None
    assert node.stats.counts["frames_processed"] == before


def test_camera_swap_gives_the_same_3d(system):
    node, driver, _ = system
    set_params(node, temporal_weight=0.0, depth_cutoff=0.0)  # single-frame lifts; also a run-time change
    try:
        a = driver.send(Clock.next(), CAM_A, cloud_for(CAM_A, COCO[5], ids=(1,)))
        b = driver.send(Clock.next(), CAM_B, cloud_for(CAM_B, COCO[5], ids=(1,)))
    finally:
        set_params(node, temporal_weight=1.0, depth_cutoff=1.0)
    assert a is not None and b is not None
    ja, jb = joints_of(a)[0], joints_of(b)[0]
    assert np.abs(ja - jb).max() < 0.01, f"3D differs by {np.abs(ja - jb).max():.4f} m after the camera swap"
    assert node.pipeline.camera.same_calibration(CAM_B)


def _run_sequence(driver, ids, rng_seed):
    rng = np.random.default_rng(rng_seed)
    out = []
    for t in range(len(COCO)):
        msg = driver.send(Clock.next(), CAM_A, cloud_for(CAM_A, COCO[t], ids=ids, noise=3.0, rng=rng))
        assert msg is not None
        out.append(joints_of(msg)[0][0])
    return np.stack(out)


def test_temporal_smoothing_lowers_acceleration_error(system):
    node, driver, trained = system
    if not trained:
        pytest.skip("no trained lifter checkpoint shipped yet: smoothing accuracy needs one")
    set_params(node, temporal_weight=0.0, depth_cutoff=0.0)
    raw = _run_sequence(driver, (20,), 1)
    set_params(node, temporal_weight=1.0, depth_cutoff=1.0, depth_beta=10.0)  # the defaults
    smooth = _run_sequence(driver, (21,), 1)
    err_raw = float(acceleration_error(raw, H36M))
    err_smooth = float(acceleration_error(smooth, H36M))
    assert err_smooth < err_raw, (err_smooth, err_raw)


def test_vanished_track_gets_delete_markers(system):
    node, driver, _ = system
    set_params(node, track_timeout=0.2)
    two = np.stack([COCO[10], COCO[10] + [1.5, 0, 0]])
    assert driver.send(Clock.next(), CAM_A, cloud_for(CAM_A, two, ids=(30, 31))) is not None
    driver.markers.clear()
    for _ in range(5):
        assert driver.send(Clock.next(0.1), CAM_A, cloud_for(CAM_A, COCO[10], ids=(30,))) is not None
    set_params(node, track_timeout=1.0)
    assert wait_for(lambda: any(m.ns == "person_31" and m.action == Marker.DELETE
                                for a in driver.markers for m in a.markers))


def _bad_cloud(u_nan=False, joint=None):
    points = np.zeros(17, dtype=np.dtype(list(KEYPOINT_FIELDS)))
    px = CAM_A.project(COCO[3])
    points["u"], points["v"], points["score"], points["joint"] = px[:, 0], px[:, 1], 0.9, np.arange(17)
    if u_nan:
        points["u"][4] = np.nan
    if joint is not None:
        points["joint"][-1] = joint
    return structured_to_cloud(Header(), points)


@pytest.mark.parametrize("case, reason", [
    ("nan_keypoints", "invalid_keypoints"),
    ("zero_k", "invalid_camera"),
    ("unknown_joint_index", "skeleton_mismatch"),
    ("mismatched_skeleton", "skeleton_mismatch"),
    ("out_of_order", "out_of_order"),
    ("unsupported_encoding", "overlay_bad_image"),
])
def test_bad_inputs_are_counted_warned_and_survived(system, case, reason):
    node, driver, _ = system
    before = node.stats.skipped[reason]
    t, camera, image = Clock.next(), CAM_A, None
    cloud = cloud_for(CAM_A, COCO[3])
    if case == "nan_keypoints":
        cloud = _bad_cloud(u_nan=True)
    elif case == "zero_k":
        camera = camera_to_camera_info(CAM_A, Header())
        camera.k = np.zeros(9)
    elif case == "unknown_joint_index":
        cloud = _bad_cloud(joint=65535)
    elif case == "mismatched_skeleton":  # a body25 detector talking to a coco17 node
        cloud = keypoints_to_cloud(Header(), np.full((1, 25, 2), 100.0), np.full((1, 25), 0.9))
    elif case == "out_of_order":
        t = Clock.t - 5.0
    elif case == "unsupported_encoding":
        image = rgb_to_image(np.zeros((480, 640, 3), np.uint8), Header())
        image.encoding = "bayer_rggb8"
    driver.send(t, camera, cloud, image=image, wait=0.0)
    assert wait_for(lambda: node.stats.skipped[reason] == before + 1), f"{case}: no '{reason}' count"
    assert reason in node._last_warn  # a (rate-limited) warning was logged for this reason
    assert driver.send(Clock.next(), CAM_A, cloud_for(CAM_A, COCO[4])) is not None, "node stopped working"


def test_invalid_runtime_parameters_are_refused_with_a_reason(system):
    node, _, _ = system
    (bad,) = node.set_parameters([Parameter("min_score", value=-0.5)])
    (late,) = node.set_parameters([Parameter("device", value="cuda")])
    (steps,) = node.set_parameters([Parameter("num_steps", value=65)])  # the lifter runs at most 64: refuse here
    assert not steps.successful and "num_steps" in steps.reason and node.param("num_steps") == 0
    assert not bad.successful and "min_score" in bad.reason
    assert not late.successful and "configure" in late.reason
    assert node.param("min_score") == pytest.approx(0.1)


def test_diagnostics_report_counters(system):
    node, driver, _ = system
    from diagnostic_msgs.msg import DiagnosticArray
    got = []
    sub = driver.node.create_subscription(DiagnosticArray, "/diagnostics", got.append, 10)
    try:
        assert wait_for(lambda: any(s.name.startswith("pose_lifter") for a in got for s in a.status), 5.0)
    finally:
        driver.node.destroy_subscription(sub)
    keys = {kv.key for a in got for s in a.status for kv in s.values}
    assert {"frames_processed", "skipped_total", "latency_mean_ms", "rate_keypoints_hz"} <= keys


def test_publish_overlay_toggles_the_image_subscription_at_run_time(system):
    node, driver, _ = system
    set_params(node, publish_overlay=False)
    try:
        assert wait_for(lambda: driver.pub_image.get_subscription_count() == 0)
    finally:
        set_params(node, publish_overlay=True)
    assert wait_for(lambda: driver.pub_image.get_subscription_count() == 1)
