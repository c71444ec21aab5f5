"""`learned-energy-ros process-video`: overlay video, 3D plot, rosbag2 and joints.json from a real-image clip."""
import json

import cv2
import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

from learned_energy_ros.core.skeleton import get_skeleton  # noqa: E402
from learned_energy_ros.demo.bag import read_back  # noqa: E402
from learned_energy_ros.detect.mediapipe_backend import mediapipe_available  # noqa: E402
from learned_energy_ros.detect.samples import SampleMissing, astronaut  # noqa: E402
from learned_energy_ros.ros.process_video import main  # noqa: E402

pytestmark = [pytest.mark.timeout(240),
              pytest.mark.skipif(not mediapipe_available(), reason="mediapipe ([detector] extra) is not installed")]
FPS, FRAMES = 5.0, 4


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """The astronaut photograph panned by 6 px per frame, as an MJPG AVI at 5 fps."""
    try:
        rgb = astronaut()
    except SampleMissing as err:
        pytest.skip(str(err))
    path = tmp_path_factory.mktemp("video") / "astronaut.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (rgb.shape[1], rgb.shape[0]))
    for i in range(FRAMES):
        writer.write(np.roll(rgb, 6 * i, axis=1)[..., ::-1].copy())
    writer.release()
    return path


def test_outputs_of_a_clip_without_calibration(clip, tmp_path, caplog):
    out = tmp_path / "out"
    assert main([str(clip), "--out", str(out), "--device", "cpu"]) == 0
    assert "60 deg horizontal field of view" in caplog.text  # the guess is stated
    doc = json.loads((out / "joints.json").read_text())
    assert doc["camera"]["width"] == 512 and doc["camera"]["k"][0] == pytest.approx(256 / np.tan(np.radians(30)))
    assert [f["index"] for f in doc["frames"]] == list(range(FRAMES))
    assert [f["stamp"] for f in doc["frames"]] == pytest.approx([i / FPS for i in range(FRAMES)])
    names = set(get_skeleton("h36m17").joints)
    ids = set()
    for frame in doc["frames"]:
        (person,) = frame["people"]
        ids.add(person["id"])
        assert set(person["joints"]) == names and np.isfinite(person["energy"])
        pelvis, head = np.array(person["joints"]["pelvis"]), np.array(person["joints"]["head"])
        assert pelvis[2] > 0.2 and head[1] < pelvis[1]  # in front of the camera, head up (optical y down)
    assert len(ids) == 1  # one person, one track across the clip
    counts = {t: e["count"] for t, e in read_back(out / "bag").items()}
    assert counts == {t: FRAMES for t in ("/camera/image", "/camera/camera_info", "/camera/keypoints",
                                          "/pose_lifter/joints", "/pose_lifter/skeletons", "/pose_lifter/overlay")}
    assert (out / "skeletons_3d.png").stat().st_size > 10_000
    video = out / "overlay.mp4"
    frames = video if video.exists() else out / "overlay"
    assert frames.exists()


def test_calibration_file_is_used(clip, tmp_path):
    calib = tmp_path / "calib.yaml"
    calib.write_text("image_width: 512\nimage_height: 512\ncamera_matrix: {rows: 3, cols: 3, data: "
                     "[800, 0, 250, 0, 800, 260, 0, 0, 1]}\ndistortion_model: plumb_bob\n"
                     "distortion_coefficients: {rows: 1, cols: 5, data: [0, 0, 0, 0, 0]}\n")
    out = tmp_path / "out"
    assert main([str(clip), "--out", str(out), "--camera-info", str(calib), "--max-frames", "1", "--device", "cpu"]) == 0
    doc = json.loads((out / "joints.json").read_text())
    assert doc["camera"]["k"][:3] == [800, 0, 250] and len(doc["frames"]) == 1


def test_a_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main([str(tmp_path / "none.avi"), "--out", str(tmp_path / "o")]) == 1
    assert "does not exist" in capsys.readouterr().out


def test_a_clip_without_people_gives_empty_frames(tmp_path):
    path = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
    for i in range(3):
        writer.write(np.full((120, 160, 3), 60 + 20 * i, np.uint8))
    writer.release()
    out = tmp_path / "out"
    assert main([str(path), "--out", str(out), "--device", "cpu"]) == 0
    doc = json.loads((out / "joints.json").read_text())
    assert [f["people"] for f in doc["frames"]] == [[], [], []]
    assert {t: e["count"] for t, e in read_back(out / "bag").items()}["/camera/image"] == 3
