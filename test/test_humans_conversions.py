"""REP-155 pieces without spinning: body frames, the TF serializer, Skeleton2D grouping and conversions."""
from types import SimpleNamespace

import numpy as np
import pytest

from learned_energy_ros.core.skeleton import get_skeleton, remap_joints
from learned_energy_ros.pose.body_frames import body_frames, frame_stems, rotation_to_quaternion
from ros_fixtures import require_interfaces


def upright_person(yaw: float = 0.0) -> np.ndarray:
    """An h36m17 person 4 m in front of the camera (optical frame), facing it when ``yaw`` is 0."""
    # body frame: x forward, y left, z up; a person facing the camera looks along optical -z
    body = {"pelvis": (0, 0, 0), "left_hip": (0, 0.12, 0), "right_hip": (0, -0.12, 0), "spine": (0, 0, 0.25),
            "thorax": (0, 0, 0.5), "neck": (0.02, 0, 0.6), "head": (0.03, 0, 0.7), "left_shoulder": (0, 0.18, 0.48),
            "right_shoulder": (0, -0.18, 0.48), "left_elbow": (0.1, 0.25, 0.25), "right_elbow": (0, -0.25, 0.25),
            "left_wrist": (0.3, 0.25, 0.2), "right_wrist": (0, -0.27, 0.0), "left_knee": (0.05, 0.12, -0.45),
            "right_knee": (0, -0.12, -0.45), "left_ankle": (0, 0.12, -0.9), "right_ankle": (0, -0.12, -0.9)}
    local = np.array([body[name] for name in get_skeleton("h36m17").joints], dtype=np.float64)
    c, s = np.cos(yaw), np.sin(yaw)
    turn = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    to_optical = np.array([[0, 1, 0], [0, 0, -1], [-1, 0, 0]], dtype=np.float64)  # body x,y,z -> optical -z, +x, -y
    return (local @ turn.T) @ to_optical.T + [0.3, 0.2, 4.0]


def test_quaternions_match_scipy():
    from scipy.spatial.transform import Rotation
    rot = Rotation.random(500, random_state=0)
    ours, ref = rotation_to_quaternion(rot.as_matrix()), rot.as_quat()
    assert np.allclose(ours, np.where(ref[:, 3:] < 0, -ref, ref), atol=1e-9)


@pytest.mark.parametrize("yaw", [0.0, 0.7, -2.5])
def test_body_frame_is_hip_midpoint_forward_left_up(yaw):
    joints = upright_person(yaw)[None]
    frames = body_frames(joints, "h36m17")
    x, y, z = frames.rotations[0].T
    c, s = np.cos(yaw), np.sin(yaw)
    assert np.allclose(x, [s, 0, -c], atol=1e-6)  # facing the camera (yaw 0): forward is optical -z
    assert np.allclose(z, [0, -1, 0], atol=1e-6) and np.isclose(np.cross(x, y) @ z, 1.0)
    assert np.allclose(frames.origins[0], [0.3, 0.2, 4.0])
    back = np.einsum("ij,kj->ki", frames.rotations[0], frames.local[0]) + frames.origins[0]
    assert np.allclose(back, joints[0])
    assert frames.stems[get_skeleton("h36m17").index("left_wrist")] == "l_wrist"
    assert set(frame_stems("h36m17")) >= {"waist", "torso", "head", "r_ankle", "spine", "neck"}


def test_tf_cdr_deserializes_to_the_transform_messages():
    pytest.importorskip("rclpy", reason="rclpy is not installed")
    require_interfaces("tf2_msgs")
    from rclpy.serialization import deserialize_message, serialize_message
    from tf2_msgs.msg import TFMessage
    from learned_energy_ros.ros.body_tf import body_id, body_transforms, tf_message_cdr, transform_messages
    from learned_energy_ros.ros.conversions import sec_to_stamp

    frames = body_frames(np.stack([upright_person(), upright_person(1.0) + [1, 0, 0]]), "h36m17")
    transforms = body_transforms("cam_optical", frames, [body_id(4), body_id(12, camera="front/left")])
    data = tf_message_cdr((17, 250), transforms)
    expected = TFMessage(transforms=transform_messages(sec_to_stamp(17 + 250e-9), transforms))
    msg = deserialize_message(data, TFMessage)
    assert msg == expected  # (padding bytes are unspecified in CDR: compare the fields, not the bytes)
    assert len(data) == len(serialize_message(expected))
    assert [t.child_frame_id for t in msg.transforms][:2] == ["body_b4", "waist_b4"]
    assert msg.transforms[18].child_frame_id == "body_front_left_b12"
    assert msg.transforms[19].header.frame_id == "body_front_left_b12"


def _skeleton_msg(stamp_ns: int):
    return SimpleNamespace(header=SimpleNamespace(stamp=SimpleNamespace(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9)))


def test_skeleton_groups_wait_for_every_tracked_body_and_keep_stamp_order():
    from learned_energy_ros.ros.skeleton2d_input import SkeletonGroups
    groups = SkeletonGroups()
    groups.expected = {"a", "b"}
    assert groups.add("a", _skeleton_msg(100)) == []
    (done,) = groups.add("b", _skeleton_msg(100))
    assert done.ids == ["a", "b"]
    assert groups.add("a", _skeleton_msg(100)) == []  # that image was handed on already
    assert groups.add("a", _skeleton_msg(200)) == []
    (partial,) = groups.add("a", _skeleton_msg(300))  # b never sent 200: 200 goes as it is
    assert partial.ids == ["a"] and partial.header.stamp.nanosec == 200


def test_skeleton2d_round_trip_and_layout_mapping():
    pytest.importorskip("rclpy", reason="rclpy is not installed")
    require_interfaces("hri_msgs")
    from std_msgs.msg import Header
    from learned_energy_ros.ros.hri_io import points_to_keypoints, roi_message, skeleton2d_message, skeleton2d_to_points

    rng = np.random.default_rng(0)
    px, scores = rng.uniform(10, 400, (18, 2)), rng.uniform(0.3, 1.0, 18)
    msg = skeleton2d_message(Header(), px, scores, "coco18", 640, 480)
    assert msg.skeleton[msg.LEFT_EYE].x == pytest.approx(px[get_skeleton("coco18").index("left_eye"), 0] / 640, abs=1e-6)
    kp, sc = points_to_keypoints(skeleton2d_to_points(msg)[None], "coco17", 640, 480)
    want, want_sc = remap_joints(px, scores, "coco18", "coco17")
    assert np.allclose(kp[0], want, atol=1e-3) and np.allclose(sc[0], want_sc, atol=1e-6)
    roi = roi_message(Header(), px, scores, 640, 480)
    assert roi.xmin == pytest.approx(px[:, 0].min() / 640, abs=1e-6) and roi.ymax == pytest.approx(px[:, 1].max() / 480, abs=1e-6)


def test_skeleton2d_output_stays_normalized_for_keypoints_outside_the_image():
    """A detector may place a visible joint beyond the image border; Skeleton2D points are normalized to [0, 1]."""
    pytest.importorskip("rclpy", reason="rclpy is not installed")
    require_interfaces("hri_msgs")
    from std_msgs.msg import Header
    from learned_energy_ros.ros.hri_io import skeleton2d_message

    px, scores = np.full((18, 2), 100.0), np.full(18, 0.9)
    px[get_skeleton("coco18").index("left_ankle")] = (700.0, 530.0)  # below and right of a 640 x 480 image
    px[get_skeleton("coco18").index("nose")] = (-20.0, -5.0)
    msg = skeleton2d_message(Header(), px, scores, "coco18", 640, 480)
    xy = np.array([(p.x, p.y) for p in msg.skeleton])
    assert np.all((xy >= 0.0) & (xy <= 1.0)), xy
    assert (msg.skeleton[msg.LEFT_ANKLE].x, msg.skeleton[msg.LEFT_ANKLE].y) == (1.0, 1.0)
    assert (msg.skeleton[msg.NOSE].x, msg.skeleton[msg.NOSE].y) == (0.0, 0.0)


def test_ecosystem_parameters_are_checked():
    from learned_energy_ros.ros.params import refusal_reason
    assert "body_id_prefix" in refusal_reason({"body_id_prefix": "3x"})  # ids are topic tokens: a letter first
    assert "own hri_namespace" in refusal_reason({"skeleton2d_input": "/humans/bodies", "hri_namespace": "/humans/bodies"})
    assert refusal_reason({"skeleton2d_input": "/detector/bodies", "hri_namespace": "/humans/bodies"}) is None
