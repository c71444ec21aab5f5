"""Cameras without a robot: the video_camera node, the `run --video` profile and the parameter YAMLs."""
import argparse
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

pytest.importorskip("rclpy", reason="rclpy is not installed")

from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402

from learned_energy_ros.ros.camera_profile import CAMERA_CHAIN, CAMERA_TOPICS, add_camera_arguments, camera_profile  # noqa: E402
from learned_energy_ros.ros.detector_params import DETECTOR_PARAMETERS  # noqa: E402
from learned_energy_ros.ros.images import image_to_rgb  # noqa: E402
from learned_energy_ros.ros.run import NodeRunner  # noqa: E402
from learned_energy_ros.ros.video_camera import VIDEO_CAMERA_PARAMETERS  # noqa: E402
from ros_fixtures import SpinningTestNode  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(90)


@pytest.mark.parametrize("name, table", [("keypoint_detector", DETECTOR_PARAMETERS),
                                         ("video_camera", VIDEO_CAMERA_PARAMETERS)])
def test_yaml_mirrors_every_parameter_with_a_comment_and_its_default(name, table):
    text = (ROOT / "config" / f"{name}.yaml").read_text()
    (section,) = [v for k, v in yaml.safe_load(text).items() if k.endswith(name)]
    params = section["ros__parameters"]
    assert set(params) == set(table)
    lines = text.splitlines()
    for key, (default, description, _) in table.items():
        i = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{key}:"))
        assert lines[i - 1].strip().startswith("#") and description[:30] in lines[i - 1], key
        assert params[key] == default and type(params[key]) is type(default), key


def _parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", default="pose_lifter")
    add_camera_arguments(parser)
    return parser


def test_run_video_profile_chains_camera_detector_and_lifter(tmp_path):
    video, calib = tmp_path / "v.avi", tmp_path / "c.yaml"
    video.write_bytes(b"x")
    calib.write_text("camera_matrix: {data: [1, 0, 0, 0, 1, 0, 0, 0, 1]}\n")
    parser = _parser()
    nodes, profile = camera_profile(parser.parse_args(["--video", str(video), "--camera-info", str(calib)]), parser)
    overrides, files = profile["parameters"], profile["ros_args"]
    assert nodes == CAMERA_CHAIN and profile["remappings"]["keypoints"] == "camera/keypoints"
    assert overrides["video_camera"]["video"] == str(video) and overrides["video_camera"]["camera_info_file"] == str(calib)
    assert overrides["pose_lifter"]["input_skeleton"] == "mediapipe33"
    assert any(f.endswith("keypoint_detector.yaml") for f in files)
    nodes, profile = camera_profile(parser.parse_args(["--webcam", "0", "--nodes", "keypoint_detector"]), parser)
    assert nodes == "video_camera,keypoint_detector" and profile["parameters"]["video_camera"]["webcam"] == 0
    assert camera_profile(parser.parse_args([]), parser)[0] == "pose_lifter"


@pytest.mark.parametrize("argv", [["--video", "/nonexistent.avi"], ["--camera-info", "c.yaml"]])
def test_run_video_profile_refuses_bad_arguments(argv):
    parser = _parser()
    with pytest.raises(SystemExit):
        camera_profile(parser.parse_args(argv), parser)


class Listener(SpinningTestNode):
    def __init__(self):
        super().__init__("camera_listener")
        qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        self.images, self.infos = [], []
        self.node.create_subscription(Image, "/cam/image", lambda m: self.images.append((time.monotonic(), m)), qos)
        self.node.create_subscription(CameraInfo, "/cam/camera_info", self.infos.append, qos)
        self.start()


def test_video_camera_plays_a_file_at_its_rate_with_a_stated_camera(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (80, 60))
    for i in range(30):
        writer.write(np.full((60, 80, 3), (0, 10 * i, 200), np.uint8))
    writer.release()
    listener = Listener()
    try:
        params = {"video": str(path), "hfov_deg": 90.0, "frame_id": "cam_optical"}
        with NodeRunner(["video_camera"], parameters={"video_camera": params}, namespace="cam"):
            deadline = time.time() + 10
            while time.time() < deadline and len(listener.images) < 30:
                time.sleep(0.05)
    finally:
        listener.close()
    assert 20 <= len(listener.images) <= 30  # the first frames may go out before the listener matched
    stamps = [t for t, _ in listener.images[2:]]
    assert 12 < (len(stamps) - 1) / (stamps[-1] - stamps[0]) < 27  # about the file's 20 fps (not the 30 fps fallback)
    image, info = listener.images[-1][1], listener.infos[-1]
    assert (image.width, image.height, info.width, info.height) == (80, 60, 80, 60)
    assert image.header.frame_id == info.header.frame_id == "cam_optical"
    assert info.k[0] == pytest.approx(40.0) and info.k[2] == pytest.approx(40.0)  # 90 deg over 80 px
    assert image_to_rgb(image)[0, 0, 0] > 150  # red channel of the BGR (0, g, 200) frames


def _rviz_topics() -> set:
    def walk(node):
        if isinstance(node, dict):
            topic = node.get("Topic")
            if isinstance(topic, dict) and "Value" in topic:
                yield topic["Value"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)
    return set(walk(yaml.safe_load((ROOT / "rviz" / "camera_perception.rviz").read_text())))


def _launch_facts():
    import ast
    tree = ast.parse((ROOT / "launch" / "camera_perception.launch.py").read_text())
    defaults, names = {}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "DeclareLaunchArgument":
            kw = {k.arg: k.value for k in node.keywords}
            defaults[node.args[0].value] = getattr(kw.get("default_value"), "value", None)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("Node", "LifecycleNode"):
            names |= {k.value.value for k in node.keywords if k.arg == "name"}
    return defaults, names


def test_launch_file_starts_the_run_profile_graph_and_rviz_topics_are_in_it():
    defaults, names = _launch_facts()
    assert {k: defaults[k] for k in CAMERA_TOPICS} == CAMERA_TOPICS
    assert set(CAMERA_CHAIN.split(",")) | {"voxel_reconstructor"} == names
    topics = _rviz_topics()
    assert len(topics) >= 5
    for topic in topics:
        parts = topic.strip("/").split("/")
        assert topic.strip("/") in CAMERA_TOPICS.values() or parts[0] in names, topic


@pytest.mark.skipif(not __import__("learned_energy_ros.detect.mediapipe_backend", fromlist=["x"]).mediapipe_available(),
                    reason="mediapipe ([detector] extra) is not installed")
def test_every_rviz_topic_exists_in_the_running_camera_profile(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (96, 64))
    for i in range(5):
        writer.write(np.full((64, 96, 3), 40 * i, np.uint8))
    writer.release()
    parser = _parser()
    nodes, profile = camera_profile(parser.parse_args(["--video", str(path), "--nodes", CAMERA_CHAIN + ",voxel_reconstructor"]), parser)
    profile["parameters"]["keypoint_detector"] = {"device": "cpu"}
    profile["parameters"]["pose_lifter"]["device"] = "cpu"
    profile["parameters"]["voxel_reconstructor"] = {"device": "cpu"}
    with NodeRunner(nodes.split(","), **profile) as runner:
        assert set(runner.nodes) == set(nodes.split(","))
        probe = runner.nodes["pose_lifter"]
        deadline, missing = time.time() + 10, None
        while time.time() < deadline:
            graph = {name for name, _ in probe.get_topic_names_and_types()}
            missing = _rviz_topics() - graph
            if not missing:
                break
            time.sleep(0.2)
    assert not missing, f"RViz names topics nobody publishes or subscribes: {missing}"


def test_run_with_a_missing_webcam_is_a_clear_error(capsys):
    from learned_energy_ros.ros.run import main as run_main

    assert run_main(["--webcam", "99"]) == 1
    assert "cannot open webcam 99" in capsys.readouterr().out
