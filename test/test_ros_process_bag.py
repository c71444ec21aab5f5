"""process-bag: read a bag the test writes (mcap and sqlite3), write inputs + outputs, no DDS."""
import numpy as np
import pytest

pytest.importorskip("rosbags", reason="the rosbags library is not installed")
pytest.importorskip("rclpy", reason="rclpy (for message serialization) is not installed")

from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from rosbags.rosbag2 import Reader, StoragePlugin, Writer  # noqa: E402
from rosbags.typesys import Stores, get_typestore  # noqa: E402
from sensor_msgs.msg import PointCloud2  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from learned_energy_ros.ros import process_bag as pb  # noqa: E402
from learned_energy_ros.ros.clouds import cloud_to_structured, keypoints_to_cloud  # noqa: E402
from learned_energy_ros.ros.conversions import camera_to_camera_info, sec_to_stamp  # noqa: E402
from learned_energy_ros.ros.images import rgb_to_image  # noqa: E402
from ros_fixtures import CAM_A, lifter_checkpoint, moving_person  # noqa: E402

N_FRAMES = 6


def write_input_bag(path, storage):
    _, coco = moving_person(N_FRAMES)
    store = get_typestore(Stores.ROS2_KILTED)
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    with Writer(path, version=9, storage_plugin=plugin) as writer:
        conns = {topic: writer.add_connection(topic, msgtype, typestore=store) for topic, msgtype in (
            ("/cam/camera_info", "sensor_msgs/msg/CameraInfo"), ("/cam/keypoints", "sensor_msgs/msg/PointCloud2"),
            ("/cam/image", "sensor_msgs/msg/Image"))}
        for i in range(N_FRAMES):
            t = 10.0 + i / 15
            header = Header(stamp=sec_to_stamp(t), frame_id="camera_optical_frame")
            ns = int(t * 1e9)
            cloud = keypoints_to_cloud(header, CAM_A.project(coco[i])[None], np.full((1, 17), 0.9), [3])
            # keypoints logged before the image in odd frames: the overlay must still find its image
            order = [("/cam/camera_info", camera_to_camera_info(CAM_A, header)), ("/cam/keypoints", cloud),
                     ("/cam/image", rgb_to_image(np.full((480, 640, 3), 60, np.uint8), header))]
            for k, (topic, msg) in enumerate(order if i % 2 else order[::-1]):
                writer.write(conns[topic], ns + k, serialize_message(msg))


@pytest.fixture(scope="module")
def lifter(tmp_path_factory):
    from learned_energy_ros.pose.lifter import load_lifter
    checkpoint, _ = lifter_checkpoint(tmp_path_factory.mktemp("lifter"))
    return load_lifter(checkpoint, device="cpu")


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_process_bag_adds_outputs_to_the_inputs(tmp_path, lifter, storage):
    write_input_bag(tmp_path / "in", storage)
    settings = pb.load_settings(None, {"device": "cpu"})
    summary = pb.process_bag(tmp_path / "in", tmp_path / "out", settings=settings, storage=storage, lifter=lifter)
    assert summary["frames_processed"] == N_FRAMES and summary["skipped_total"] == 0
    with Reader(tmp_path / "out") as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        joints = [deserialize_message(bytes(raw), PointCloud2) for c, _, raw in reader.messages()
                  if c.topic == "/pose_lifter/joints"]
    assert counts == {"/cam/camera_info": N_FRAMES, "/cam/keypoints": N_FRAMES, "/cam/image": N_FRAMES,
                      "/pose_lifter/joints": N_FRAMES, "/pose_lifter/skeletons": N_FRAMES,
                      "/pose_lifter/overlay": N_FRAMES}
    points = cloud_to_structured(joints[-1])
    assert len(points) == 17 and np.all(points["person"] == 3) and np.all(points["z"] > 0)
    assert joints[-1].header.frame_id == "camera_optical_frame"


def test_params_file_section_is_used(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("/**/pose_lifter:\n  ros__parameters:\n    min_score: 0.4\n    sync_slop: 0.05\n")
    settings = pb.load_settings(str(params), {"device": "cpu", "checkpoint": None})
    assert settings["min_score"] == 0.4 and settings["sync_slop"] == 0.05
    assert settings["device"] == "cpu" and settings["checkpoint"] == "default"


def test_cli_refuses_existing_output_and_unknown_topics(tmp_path, capsys):
    write_input_bag(tmp_path / "in", "mcap")
    (tmp_path / "exists").mkdir()
    with pytest.raises(SystemExit):
        pb.main([str(tmp_path / "in"), str(tmp_path / "exists")])
    with pytest.raises(ValueError, match="keypoints"):
        with Reader(tmp_path / "in") as reader:
            pb._pick_topics([c for c in reader.connections if "keypoints" not in c.topic], {})


def test_cli_end_to_end(tmp_path, capsys):
    checkpoint, _ = lifter_checkpoint(tmp_path)
    write_input_bag(tmp_path / "in", "sqlite3")
    assert pb.main([str(tmp_path / "in"), str(tmp_path / "out"), "--device", "cpu", "--checkpoint", checkpoint,
                    "--storage", "mcap", "--prefix", "/offline"]) == 0
    assert f"frames_processed={N_FRAMES}" in capsys.readouterr().out
    with Reader(tmp_path / "out") as reader:
        assert {"/offline/joints", "/offline/skeletons"} <= {c.topic for c in reader.connections}
