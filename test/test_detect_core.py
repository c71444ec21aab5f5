"""Detector core without MediaPipe: several people by masking and tiles, stable ids, bad images; calibration; video."""
import cv2
import numpy as np
import pytest

from learned_energy_ros.core.calibration import guess_camera, load_calibration_yaml
from learned_energy_ros.core.camera import CameraError
from learned_energy_ros.detect import BoxTracker, DetectorConfig, DetectorError, KeypointDetector
from learned_energy_ros.detect.detector import tile_boxes
from learned_energy_ros.detect.video import VideoError, VideoSource


class BrightBlobBackend:
    """Single-person stand-in: the largest bright (255) blob is a 'person'; 33 landmarks spread over it."""

    layout = "mediapipe33"

    def __init__(self, min_area: int = 20):
        self.min_area, self.calls = min_area, 0

    def __call__(self, rgb):
        self.calls += 1
        mask = (rgb[..., 0] == 255).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        blobs = [s for s in stats[1:] if s[4] >= self.min_area]
        if not blobs:
            return None
        x, y, w, h, _ = max(blobs, key=lambda s: s[4])
        t = np.linspace(0, 1, 33)
        points = np.stack([x + t * (w - 1), y + (1 - t) * (h - 1)], axis=-1)  # a diagonal across the blob
        return points, np.full(33, 0.9)


def _scene(boxes, size=(240, 320)):
    rgb = np.zeros((*size, 3), np.uint8)
    for x0, y0, x1, y1 in boxes:
        rgb[y0:y1, x0:x1] = 255
    return rgb


PEOPLE = [(20, 30, 60, 200), (120, 20, 170, 220), (230, 60, 280, 230)]


def test_masking_finds_every_person_with_its_box_and_stops():
    backend = BrightBlobBackend()
    found = KeypointDetector(backend, DetectorConfig(max_persons=5)).detect(_scene(PEOPLE))
    assert len(found) == 3 and found.keypoints.shape == (3, 33, 2) and found.scores.shape == (3, 33)
    boxes = sorted(found.boxes.round().astype(int).tolist())
    assert boxes == sorted([[x0, y0, x1 - 1, y1 - 1] for x0, y0, x1, y1 in PEOPLE])
    assert found.calls == 4  # three people, then one call that finds nobody


def test_max_persons_caps_the_search():
    found = KeypointDetector(BrightBlobBackend(), DetectorConfig(max_persons=2)).detect(_scene(PEOPLE))
    assert len(found) == 2 and found.calls == 2


def test_low_visibility_landmarks_are_missing_and_too_few_means_nobody():
    class Faint(BrightBlobBackend):
        def __call__(self, rgb):
            out = super().__call__(rgb)
            return None if out is None else (out[0], np.where(np.arange(33) < 5, 0.9, 0.1))

    assert len(KeypointDetector(Faint(), DetectorConfig(min_visible_joints=8)).detect(_scene(PEOPLE[:1]))) == 0
    found = KeypointDetector(Faint(), DetectorConfig(min_visible_joints=4)).detect(_scene(PEOPLE[:1]))
    assert len(found) == 1 and (found.scores[0] > 0).sum() == 5


def test_tiles_find_people_too_small_for_the_whole_image():
    small = [(40, 40, 48, 56), (250, 170, 258, 186)]  # 8x16 px blobs: below min_area=200 on their own? no: tiles crop
    class Scaled(BrightBlobBackend):
        def __call__(self, rgb):  # 'detects' only blobs covering >= 0.1 % of its input, like a real detector
            self.min_area = max(1, int(0.001 * rgb.shape[0] * rgb.shape[1]))
            return super().__call__(rgb)

    whole = KeypointDetector(Scaled(), DetectorConfig(tiles=1)).detect(_scene(small, (600, 800)))
    tiled = KeypointDetector(Scaled(), DetectorConfig(tiles=3)).detect(_scene(small, (600, 800)))
    assert len(whole) == 0 and len(tiled) == 2
    assert sorted(tiled.boxes[:, 0].round().tolist()) == [40, 250]  # full-image pixel coordinates


def test_tile_boxes_cover_the_image_with_overlap():
    boxes = tile_boxes(300, 200, 3, 0.25)
    assert boxes[0] == (0, 0, 300, 200) and len(boxes) == 10
    assert max(b[2] for b in boxes) == 300 and max(b[3] for b in boxes) == 200
    assert boxes[2][0] < boxes[1][2]  # neighbours overlap


def test_ids_stay_with_people_across_frames_and_new_people_get_new_ids():
    detector = KeypointDetector(BrightBlobBackend(), DetectorConfig(max_persons=5))
    first = detector.detect(_scene(PEOPLE[:2]))
    moved = [(x0 + 6, y0 + 3, x1 + 6, y1 + 3) for x0, y0, x1, y1 in PEOPLE[:2]] + [PEOPLE[2]]
    second = detector.detect(_scene(moved))
    by_x = lambda d: {int(i): float(b[0]) for i, b in zip(d.ids, d.boxes)}  # noqa: E731
    a, b = by_x(first), by_x(second)
    for person, x in a.items():
        assert abs(b[person] - x - 6) < 1e-6  # same id, moved 6 px
    assert set(b) - set(a) == {2}


def test_tracker_retires_ids_after_max_missed():
    tracker = BoxTracker(min_iou=0.3, max_missed=1)
    box = np.array([[0, 0, 10, 10]])
    assert tracker.update(box).tolist() == [0]
    tracker.update(np.zeros((0, 4)))
    assert tracker.update(box).tolist() == [0]  # missed once: kept
    tracker.update(np.zeros((0, 4)))
    tracker.update(np.zeros((0, 4)))
    assert tracker.update(box).tolist() == [1]  # missed twice: retired


@pytest.mark.parametrize("image", [np.zeros((0, 10, 3), np.uint8), np.zeros((20, 20), np.uint8),
                                   np.zeros((20, 20, 3), np.float32), np.zeros((4, 4, 3), np.uint8), None])
def test_bad_images_raise_detector_error(image):
    with pytest.raises(DetectorError):
        KeypointDetector(BrightBlobBackend()).detect(image)


CALIBRATION = """image_width: 640
image_height: 480
camera_name: usb_cam
camera_matrix:
  rows: 3
  cols: 3
  data: [612.5, 0.0, 321.0, 0.0, 611.0, 239.5, 0.0, 0.0, 1.0]
distortion_model: plumb_bob
distortion_coefficients:
  rows: 1
  cols: 5
  data: [-0.1, 0.05, 0.001, -0.002, 0.0]
rectification_matrix:
  rows: 3
  cols: 3
  data: [1, 0, 0, 0, 1, 0, 0, 0, 1]
projection_matrix:
  rows: 3
  cols: 4
  data: [600, 0, 320, 0, 0, 600, 240, 0, 0, 0, 1, 0]
"""


def test_camera_calibration_yaml_loads(tmp_path):
    path = tmp_path / "calib.yaml"
    path.write_text(CALIBRATION)
    camera = load_calibration_yaml(path, frame_id="cam")
    assert camera.K[0, 0] == 612.5 and camera.K[1, 2] == 239.5 and (camera.width, camera.height) == (640, 480)
    assert camera.distortion_model == "plumb_bob" and camera.D[0] == -0.1 and camera.frame_id == "cam"


@pytest.mark.parametrize("text", ["not: [a calibration", "image_width: 3\n", "camera_matrix: {data: [1, 2]}\n"])
def test_bad_calibration_files_raise(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(CameraError):
        load_calibration_yaml(path)


def test_guess_camera_uses_the_stated_field_of_view(caplog):
    camera = guess_camera(640, 480, 90.0)
    assert camera.K[0, 0] == pytest.approx(320.0) and camera.K[0, 2] == 320 and camera.K[1, 2] == 240
    assert "90 deg" in caplog.text
    with pytest.raises(CameraError):
        guess_camera(640, 480, 0.0)


def test_video_source_reads_frames_at_the_file_rate(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (64, 48))
    assert writer.isOpened()
    for i in range(10):
        writer.write(np.full((48, 64, 3), (i * 20, 0, 255), np.uint8))  # BGR: red frames, rising blue
    writer.release()
    with VideoSource(path) as video:
        assert video.fps == pytest.approx(12.0) and (video.width, video.height) == (64, 48)
        frames = list(video.frames())
    assert len(frames) == 10 and frames[3][1] == pytest.approx(3 / 12.0)
    assert frames[0][2][0, 0, 0] > 200 and frames[0][2][0, 0, 2] < 40  # converted to RGB
    with pytest.raises(VideoError):
        VideoSource(tmp_path / "missing.avi")


def test_shift_hips_moves_only_the_hips_outward_and_up():
    from learned_energy_ros.core.skeleton import get_skeleton
    from learned_energy_ros.pose.hip_offsets import shift_hips

    sk = get_skeleton("mocap27")
    frames = np.zeros((2, len(sk), 3))
    frames[:, sk.index("left_hip")] = (0.1, 0, 0.9)
    frames[:, sk.index("right_hip")] = (-0.1, 0, 0.9)
    frames[:, sk.index("pelvis")] = (0, 0, 0.9)
    frames[:, sk.index("thorax")] = (0, 0.05, 1.4)  # leaning: 'up' is made orthogonal to the hip axis only
    out = shift_hips(frames, outward=0.03, up=0.04)
    moved = np.flatnonzero(np.any(out != frames, axis=(0, 2)))
    assert sorted(moved) == sorted([sk.index("left_hip"), sk.index("right_hip")])
    width = np.linalg.norm(out[:, sk.index("left_hip")] - out[:, sk.index("right_hip")], axis=-1)
    assert np.allclose(width, 0.26)
    lift = out[:, sk.index("left_hip")] - frames[:, sk.index("left_hip")] - np.array([0.03, 0, 0])
    assert np.allclose(np.linalg.norm(lift, axis=-1), 0.04) and np.all(lift[:, 2] > 0.035)
