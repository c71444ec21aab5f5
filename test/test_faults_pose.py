"""pose_lifter faults and bad input, driven through the node's callbacks without DDS (fast).

One active node per module (no executor): ``_on_frame`` is what the synchronizer
calls, ``_process_pending`` what the worker runs. Publishers are replaced by
recorders, the logger by a spy, so each case checks: a rate-limited warning,
a diagnostics counter, the node keeps working, nothing wrong is published.
"""
import time

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from visualization_msgs.msg import Marker, MarkerArray  # noqa: E402

from learned_energy_ros.ros.clouds import KEYPOINT_FIELDS, cloud_to_structured, keypoints_to_cloud, structured_to_cloud  # noqa: E402
from learned_energy_ros.ros.conversions import camera_to_camera_info, sec_to_stamp  # noqa: E402
from learned_energy_ros.ros.images import rgb_to_image  # noqa: E402
from learned_energy_ros.ros.pose_lifter_node import PoseLifterNode  # noqa: E402
from ros_fixtures import CAM_A, Recorder, lifter_checkpoint, moving_person, spy_node  # noqa: E402

pytestmark = pytest.mark.timeout(60)
SUCCESS = TransitionCallbackReturn.SUCCESS
_, COCO = moving_person(10)


def make_node(ctx, name, **params):
    return spy_node(PoseLifterNode, ctx, name, **params)


@pytest.fixture(scope="module")
def node(ctx, tmp_path_factory):
    checkpoint, _ = lifter_checkpoint(tmp_path_factory.mktemp("lifter"))
    n = make_node(ctx, "fault_lifter", device="cpu", checkpoint=checkpoint, warn_period=60.0, min_score=0.1,
                  publish_overlay=True, max_stamp_future=1.0)
    assert n.trigger_configure() == SUCCESS and n.trigger_activate() == SUCCESS
    n.pub_joints, n.pub_markers, n.pub_overlay, n.pub_diag = Recorder(), Recorder(MarkerArray), Recorder(), Recorder()
    yield n
    n.trigger_deactivate()
    n.destroy_node()


class Clock:
    t = time.time() - 1000.0  # in the past of the node clock, strictly increasing

    @classmethod
    def next(cls, dt=1 / 30):
        cls.t += dt
        return cls.t


def frame(stamp=None, camera=CAM_A, joints=None, ids=(0,), scores=0.9, frame_id="camera_optical_frame"):
    stamp = Clock.next() if stamp is None else stamp
    header = Header(stamp=sec_to_stamp(stamp), frame_id=frame_id)
    joints = COCO[0] if joints is None else joints
    px = camera.project(np.asarray(joints).reshape(len(ids), 17, 3))
    cloud = keypoints_to_cloud(header, px, np.broadcast_to(scores, (len(ids), 17)), list(ids))
    info = camera_to_camera_info(camera, Header(stamp=header.stamp, frame_id=frame_id))
    return info, cloud


def feed(node, info, cloud):
    """Give one synchronized pair to the node and run the worker; return the ~/joints published (or None)."""
    before = len(node.pub_joints.msgs)
    node._on_frame(info, cloud)
    node._process_pending()
    return node.pub_joints.msgs[-1] if len(node.pub_joints.msgs) > before else None


def raw_cloud(stamp, edit):
    points = np.zeros(17, dtype=np.dtype(list(KEYPOINT_FIELDS)))
    px = CAM_A.project(COCO[1])
    points["u"], points["v"], points["score"], points["joint"] = px[:, 0], px[:, 1], 0.9, np.arange(17)
    edit(points)
    return structured_to_cloud(Header(stamp=sec_to_stamp(stamp), frame_id="camera_optical_frame"), points)


def bad_info(edit):
    info = camera_to_camera_info(CAM_A, Header(frame_id="camera_optical_frame"))
    edit(info)
    return info


def _nan_u(p):
    p["u"][3] = np.nan


def _inf_v(p):
    p["v"][5] = np.inf


def _joint_65535(p):
    p["joint"][-1] = 65535


def _nan_score(p):
    p["score"][2] = np.nan


BAD_CLOUDS = {"nan_keypoints": (_nan_u, "invalid_keypoints"), "inf_keypoints": (_inf_v, "invalid_keypoints"),
              "nan_score": (_nan_score, "invalid_keypoints"), "joint_index_out_of_range": (_joint_65535, "skeleton_mismatch")}
BAD_INFOS = {
    "zero_k": (lambda m: setattr(m, "k", np.zeros(9)), "invalid_camera"),
    "nan_k": (lambda m: m.k.__setitem__(0, np.nan), "invalid_camera"),
    "negative_focal": (lambda m: m.k.__setitem__(0, -500.0), "invalid_camera"),
    "unknown_distortion_model": (lambda m: setattr(m, "distortion_model", "fisheye_magic"), "invalid_camera"),
    "width_zero": (lambda m: setattr(m, "width", 0), "invalid_camera"),
    "height_zero": (lambda m: setattr(m, "height", 0), "invalid_camera"),
}


def assert_skipped_and_alive(node, send, reason, repeats=3):
    """Send the bad frame ``repeats`` times: counted each time, one warning, nothing published, node still lifts."""
    before, published = node.stats.skipped[reason], len(node.pub_joints.msgs)
    node.log.warnings.clear()
    node._last_warn.pop(reason, None)
    for _ in range(repeats):
        send()
    assert node.stats.skipped[reason] == before + repeats, dict(node.stats.skipped)
    assert len(node.pub_joints.msgs) == published, "a bad frame produced output"
    assert len([w for w in node.log.warnings if f"'{reason}'" in w]) == 1, node.log.warnings  # rate-limited
    assert feed(node, *frame()) is not None, "node stopped lifting after the bad input"


@pytest.mark.parametrize("case", sorted(BAD_CLOUDS))
def test_bad_keypoint_clouds_are_skipped(node, case):
    edit, reason = BAD_CLOUDS[case]
    info = camera_to_camera_info(CAM_A, Header(frame_id="camera_optical_frame"))
    assert_skipped_and_alive(node, lambda: feed(node, info, raw_cloud(Clock.next(), edit)), reason)


@pytest.mark.parametrize("case", sorted(BAD_INFOS))
def test_bad_camera_info_is_skipped(node, case):
    edit, reason = BAD_INFOS[case]
    _, cloud = frame()
    assert_skipped_and_alive(node, lambda: feed(node, bad_info(edit), frame()[1]), reason)


def test_scores_outside_unit_range_are_clipped_and_counted(node):
    before = node.stats.counts["clipped_scores"]
    scores = np.full((1, 17), 0.9)
    scores[0, :4] = [1.7, 25.0, -0.3, 1.0001]
    info, cloud = frame()
    px = CAM_A.project(COCO[2])[None]
    cloud = keypoints_to_cloud(cloud.header, px, scores, [0])
    msg = feed(node, info, cloud)
    assert msg is not None and node.stats.counts["clipped_scores"] == before + 3
    assert cloud_to_structured(msg)["confidence"].max() <= 1.0


def test_huge_message_is_refused_quickly(node):
    many = np.repeat(COCO[0][None], 2000, axis=0)  # 2000 persons, 34k points
    start = time.perf_counter()
    assert_skipped_and_alive(node, lambda: feed(node, *frame(joints=many, ids=range(2000))), "too_many_persons", 1)
    assert time.perf_counter() - start < 5.0


def test_stamp_from_the_future_is_skipped(node):
    assert_skipped_and_alive(node, lambda: feed(node, *frame(stamp=time.time() + 30.0)), "future_stamp")
    assert node.pipeline.last_stamp < time.time()  # it did not poison the out-of-order check


def test_stale_stamp_is_skipped_when_max_age_is_set(node):
    node.set_parameters([Parameter("max_stamp_age", value=5000.0)])  # the module's stamps are 1000 s old
    try:
        assert_skipped_and_alive(node, lambda: feed(node, *frame(stamp=time.time() - 1e5)), "stale_stamp")
    finally:
        node.set_parameters([Parameter("max_stamp_age", value=0.0)])


def test_out_of_order_and_duplicate_stamps_are_skipped(node):
    last = Clock.next()
    assert feed(node, *frame(stamp=last)) is not None
    assert_skipped_and_alive(node, lambda: feed(node, *frame(stamp=node.pipeline.last_stamp - 0.5)), "out_of_order")
    assert_skipped_and_alive(node, lambda: feed(node, *frame(stamp=node.pipeline.last_stamp)), "duplicate_stamp")


def test_backward_time_jump_resets_tracks_instead_of_blocking(node):
    assert feed(node, *frame(ids=(3,))) is not None
    before = node.stats.counts["time_jump_reset"]
    node.log.warnings.clear()
    Clock.t -= 60.0  # bag loop / sim-time restart: every later frame would otherwise be "out_of_order"
    assert feed(node, *frame(ids=(3,))) is not None
    assert node.stats.counts["time_jump_reset"] == before + 1
    assert any("jumped back" in w for w in node.log.warnings)


def test_frame_id_mismatch_between_inputs_is_skipped(node):
    def send():
        info, cloud = frame()
        info.header.frame_id = "other_camera_optical_frame"
        feed(node, info, cloud)
    assert_skipped_and_alive(node, send, "frame_id_mismatch")


def test_frame_id_change_resets_tracks_and_deletes_their_markers(node):
    assert feed(node, *frame(ids=(5,))) is not None
    before = node.stats.counts["frame_id_changed"]
    node.pub_markers.msgs.clear()
    msg = feed(node, *frame(ids=(5,), frame_id="camera2_optical_frame"))
    assert msg is not None and msg.header.frame_id == "camera2_optical_frame"
    assert node.stats.counts["frame_id_changed"] == before + 1
    deletes = [m for a in node.pub_markers.msgs for m in a.markers if m.action == Marker.DELETE]
    assert deletes, "markers of the tracks in the old frame were not deleted"
    assert feed(node, *frame(ids=(5,))) is not None  # back to the first camera: reset again, still lifting


def test_overload_drops_the_oldest_pending_frames(node):
    node.set_parameters([Parameter("max_pending", value=2)])
    stamps = [Clock.next() for _ in range(10)]
    before, published = node.stats.skipped["overload"], len(node.pub_joints.msgs)
    for t in stamps:  # a burst arriving while the worker is busy
        node._on_frame(*frame(stamp=t))
    node._process_pending()
    out = node.pub_joints.msgs[published:]
    assert node.stats.skipped["overload"] == before + 8
    got = [m.header.stamp.sec + 1e-9 * m.header.stamp.nanosec for m in out]
    assert got == pytest.approx(stamps[-2:], abs=1e-6), "kept frames are not the newest"


def test_camera_stream_stops_and_restarts(node):
    assert feed(node, *frame(ids=(9,))) is not None
    node.pub_markers.msgs.clear()
    Clock.t += 3.0  # silence longer than track_timeout (1 s)
    msg = feed(node, *frame(ids=(9,), joints=COCO[0] + [2.0, 0, 0]))  # the person is elsewhere now
    assert msg is not None
    deletes = {m.id for a in node.pub_markers.msgs for m in a.markers if m.action == Marker.DELETE}
    assert cloud_to_structured(msg)["person"].size == 17 and deletes is not None


def test_detector_restart_with_new_ids_keeps_the_tracks(node):
    two = np.stack([COCO[4], COCO[4] + [1.5, 0, 0]])
    first = feed(node, *frame(joints=two, ids=(1, 2)))
    second = feed(node, *frame(joints=two, ids=(1001, 1002)))  # detector restarted, renumbered everybody
    ids = lambda m: sorted(set(cloud_to_structured(m)["person"].tolist()))  # noqa: E731
    assert ids(first) == ids(second), "tracks were renumbered by a detector restart"


def test_bad_overlay_images_skip_only_the_overlay(node):
    for encoding, shorten in (("bayer_rggb8", 0), ("rgb8", 100)):
        image = rgb_to_image(np.zeros((480, 640, 3), np.uint8), Header(), "rgb8")
        image.encoding = encoding
        if shorten:
            image.data = bytes(image.data)[:-shorten]  # shorter than height x step
        info, cloud = frame()
        image.header = cloud.header
        node._on_image(image)
        before = node.stats.skipped["overlay_bad_image"]
        assert feed(node, info, cloud) is not None  # the 3D is still published
        assert node.stats.skipped["overlay_bad_image"] == before + 1


def test_camera_info_never_arriving_is_warned_and_counted(node):
    node.stats.arrivals.pop("camera_info", None)
    before = node.stats.counts["no_camera_info"]
    for _ in range(3):
        _, cloud = frame()
        node.stats.arrived("keypoints")
    node._publish_diagnostics()
    assert node.stats.counts["no_camera_info"] == before + 1
    status = node.pub_diag.msgs[-1].status[0]
    assert status.level == status.WARN and "camera_info" in status.message


def test_unexpected_error_in_one_frame_does_not_stop_the_node(node, monkeypatch):
    def boom(frame):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")
    before = node.stats.skipped["internal_error"]
    monkeypatch.setattr(node.pipeline, "process", boom)
    assert feed(node, *frame()) is None
    monkeypatch.undo()
    assert node.stats.skipped["internal_error"] == before + 1
    assert feed(node, *frame()) is not None
