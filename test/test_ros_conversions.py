"""Message conversions: round trips over encodings/dtypes and clear errors on bad messages."""
import numpy as np
import pytest

pytest.importorskip("rclpy", reason="ROS 2 Python packages (rclpy, sensor_msgs) are not installed")

from sensor_msgs.msg import CameraInfo, Image, PointField  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from visualization_msgs.msg import Marker  # noqa: E402

from learned_energy_ros.core.camera import Camera  # noqa: E402
from learned_energy_ros.ros import cloud_to_keypoints as exported_parse, keypoints_to_cloud as exported_build  # noqa: E402
from learned_energy_ros.ros.conversions import (  # noqa: E402
    ConversionError, camera_info_to_camera, camera_to_camera_info, cloud_to_keypoints, cloud_to_structured,
    cube_list_marker, image_to_rgb, joints_to_cloud, keypoints_to_cloud, points_to_cloud, rgb_to_image,
    sec_to_stamp, skeletons_to_markers, stamp_to_sec,
)

HEADER = Header(frame_id="camera_optical_frame", stamp=sec_to_stamp(12.5))
RNG = np.random.default_rng(0)


def _detections(n=3, j=17):
    keypoints = RNG.uniform(0, 640, size=(n, j, 2))
    scores = RNG.uniform(0.05, 1.0, size=(n, j))
    return keypoints, scores


def test_keypoint_cloud_round_trip_keeps_present_joints_and_zeroes_missing():
    keypoints, scores = _detections()
    scores[1, [0, 5, 16]] = 0.0  # missing
    msg = keypoints_to_cloud(HEADER, keypoints, scores, person_ids=[7, 3, 42])
    assert {f.name: f.datatype for f in msg.fields} == {
        "u": PointField.FLOAT32, "v": PointField.FLOAT32, "score": PointField.FLOAT32,
        "person": PointField.UINT32, "joint": PointField.UINT16}
    assert msg.width == 3 * 17 - 3 and msg.header.frame_id == "camera_optical_frame"
    kp, sc, ids = cloud_to_keypoints(msg, 17)
    order = np.argsort([7, 3, 42])  # persons come back sorted by id
    assert ids.tolist() == [3, 7, 42]
    np.testing.assert_allclose(kp[scores[order] > 0], keypoints[order][scores[order] > 0], atol=1e-3)
    np.testing.assert_allclose(sc, scores[order].astype(np.float32), atol=1e-7)
    assert np.all(sc[ids.tolist().index(3), [0, 5, 16]] == 0.0)


def test_package_exports_the_detector_helpers():
    keypoints, scores = _detections(1)
    kp, sc, ids = exported_parse(exported_build(HEADER, keypoints, scores), 17)
    np.testing.assert_allclose(kp, keypoints, atol=1e-3)


def test_min_score_omits_low_confidence_joints():
    keypoints, scores = _detections(1)
    scores[0, :5] = 0.1
    msg = keypoints_to_cloud(HEADER, keypoints, scores, min_score=0.2)
    assert msg.width == int((scores > 0.2).sum())


def test_keypoint_cloud_rejects_bad_input():
    keypoints, scores = _detections(1)
    bad = keypoints.copy()
    bad[0, 3] = np.nan
    with pytest.raises(ConversionError, match="NaN"):
        keypoints_to_cloud(HEADER, bad, scores)
    with pytest.raises(ConversionError, match="expected keypoints"):
        keypoints_to_cloud(HEADER, keypoints[0], scores)
    msg = keypoints_to_cloud(HEADER, *_detections(1, j=25))  # body25-sized detections
    with pytest.raises(ConversionError, match="out of range"):
        cloud_to_keypoints(msg, 17)
    no_person = points_to_cloud(HEADER, np.zeros((2, 3)))
    with pytest.raises(ConversionError, match="lacks field"):
        cloud_to_keypoints(no_person, 17)
    truncated = keypoints_to_cloud(HEADER, *_detections(1))
    truncated.data = bytes(truncated.data)[:-5]
    with pytest.raises(ConversionError, match="bytes"):
        cloud_to_keypoints(truncated, 17)


def test_empty_keypoint_cloud_gives_zero_persons():
    msg = keypoints_to_cloud(HEADER, np.zeros((0, 17, 2)), np.zeros((0, 17)))
    kp, sc, ids = cloud_to_keypoints(msg, 17)
    assert kp.shape == (0, 17, 2) and sc.shape == (0, 17) and ids.shape == (0,)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.uint16, np.int32, np.uint32])
def test_points_cloud_round_trip_over_field_dtypes(dtype):
    xyz = RNG.normal(size=(11, 3))
    extra = (RNG.uniform(0, 100, size=11)).astype(dtype)
    points = cloud_to_structured(points_to_cloud(HEADER, xyz, {"value": extra}))
    np.testing.assert_allclose(np.stack([points["x"], points["y"], points["z"]], -1), xyz, atol=1e-6)
    assert points["value"].dtype == np.dtype(dtype).newbyteorder("<") and np.array_equal(points["value"], extra)


def test_joints_cloud_fields():
    joints = RNG.normal(size=(2, 17, 3))
    msg = joints_to_cloud(HEADER, joints, [4, 9], np.full((2, 17), 0.5), [0.1, 2.0])
    points = cloud_to_structured(msg)
    assert set(points.dtype.names) == {"x", "y", "z", "person", "joint", "confidence", "energy"}
    assert points["person"].tolist() == [4] * 17 + [9] * 17 and points["joint"].tolist() == list(range(17)) * 2
    np.testing.assert_allclose(points["energy"], [0.1] * 17 + [2.0] * 17, rtol=1e-6)
    assert joints_to_cloud(HEADER, np.zeros((0, 17, 3)), np.zeros(0), np.zeros((0, 17)), np.zeros(0)).width == 0
    with pytest.raises(ConversionError, match="do not match"):
        joints_to_cloud(HEADER, joints, [4], np.full((2, 17), 0.5), [0.1, 2.0])


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "rgba8", "bgra8"])
@pytest.mark.parametrize("size", [(4, 5), (37, 61)])
def test_color_image_round_trip(encoding, size):
    rgb = RNG.integers(0, 256, size=(*size, 3), dtype=np.uint8)
    msg = rgb_to_image(rgb, HEADER, encoding=encoding)
    assert msg.encoding == encoding and msg.step >= msg.width * 3
    np.testing.assert_array_equal(image_to_rgb(msg), rgb)


def _raw_image(encoding, pixels, pad=0, bigendian=False):
    h, w = pixels.shape[:2]
    rows = pixels.reshape(h, -1).view(np.uint8) if pixels.dtype != np.uint8 else pixels.reshape(h, -1)
    if pad:
        rows = np.concatenate([rows, np.zeros((h, pad), np.uint8)], axis=1)
    msg = Image(height=h, width=w, encoding=encoding, is_bigendian=int(bigendian), step=rows.shape[1])
    msg.data = rows.tobytes()
    return msg


def test_mono_encodings_and_row_padding():
    gray = RNG.integers(0, 256, size=(6, 7), dtype=np.uint8)
    rgb = image_to_rgb(_raw_image("mono8", gray, pad=3))
    assert rgb.shape == (6, 7, 3) and np.array_equal(rgb[..., 0], gray) and np.array_equal(rgb[..., 2], gray)
    deep = (gray.astype(np.uint16) << 8) | 0x7F
    np.testing.assert_array_equal(image_to_rgb(_raw_image("mono16", deep.astype("<u2")))[..., 1], gray)
    np.testing.assert_array_equal(image_to_rgb(_raw_image("mono16", deep.astype(">u2"), bigendian=True))[..., 1], gray)
    depth = np.array([[0, 1000], [2000, 3000]], dtype="<u2")
    assert image_to_rgb(_raw_image("16UC1", depth))[..., 0].tolist() == [[0, 0], [127, 255]]


def test_uyvy_gray_is_gray():
    uyvy = np.full((4, 8, 2), 128, dtype=np.uint8)
    uyvy[..., 1] = 200  # luma of every pixel, neutral chroma
    rgb = image_to_rgb(_raw_image("yuv422", uyvy)).astype(int)
    # BT.601 video range: 1.164 * (200 - 16) = 214
    assert rgb.shape == (4, 8, 3) and np.all(np.abs(rgb - 214) <= 1)
    swapped = image_to_rgb(_raw_image("yuv422_yuy2", uyvy[..., ::-1].copy())).astype(int)
    assert np.all(np.abs(swapped - 214) <= 1)


def test_bad_images_raise_conversion_error():
    rgb = RNG.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    msg = rgb_to_image(rgb, HEADER)
    msg.encoding = "bayer_rggb16"
    with pytest.raises(ConversionError, match="unsupported image encoding"):
        image_to_rgb(msg)
    short = rgb_to_image(rgb, HEADER)
    short.data = bytes(short.data)[:-1]
    with pytest.raises(ConversionError, match="height\\*step"):
        image_to_rgb(short)
    narrow = rgb_to_image(rgb, HEADER)
    narrow.step = 8 * 3 - 1
    with pytest.raises(ConversionError, match="step"):
        image_to_rgb(narrow)
    with pytest.raises(ConversionError, match="uint8"):
        rgb_to_image(rgb.astype(np.float32), HEADER)


def test_camera_info_round_trip_and_invalid_k():
    camera = Camera(np.array([[500.0, 0, 320], [0, 510, 240], [0, 0, 1]]), [-0.2, 0.05, 0.001, -0.002, 0.0],
                    "plumb_bob", 640, 480, "cam")
    msg = camera_to_camera_info(camera, HEADER)
    assert isinstance(msg, CameraInfo) and msg.distortion_model == "plumb_bob"
    assert camera_info_to_camera(msg).same_calibration(camera)
    assert camera_info_to_camera(msg).frame_id == "camera_optical_frame"
    msg.k = np.zeros(9)
    with pytest.raises(ConversionError, match="all zero"):
        camera_info_to_camera(msg)


def test_stamps():
    assert stamp_to_sec(sec_to_stamp(1234.000000123)) == pytest.approx(1234.000000123, abs=1e-9)
    with pytest.raises(ConversionError):
        sec_to_stamp(float("nan"))


def test_skeleton_markers_have_stable_ids_colours_and_deletes():
    joints = RNG.normal(size=(2, 17, 3)) + [0, 0, 3]
    msgs = skeletons_to_markers(HEADER, joints, [5, 8], "h36m17", energies=[0.5, 1.5], vanished_ids=[2]).markers
    by_ns = {}
    for m in msgs:
        by_ns.setdefault(m.ns, []).append(m)
    assert set(by_ns) == {"person_5", "person_8", "person_2"}
    spheres = [m for m in by_ns["person_5"] if m.type == Marker.SPHERE_LIST][0]
    lines = [m for m in by_ns["person_5"] if m.type == Marker.LINE_LIST][0]
    assert len(spheres.points) == 17 and len(lines.points) == 2 * 16 and spheres.header.frame_id == "camera_optical_frame"
    assert "E=0.5" in [m for m in by_ns["person_5"] if m.type == Marker.TEXT_VIEW_FACING][0].text
    assert spheres.color != [m for m in by_ns["person_8"] if m.type == Marker.SPHERE_LIST][0].color
    assert all(m.action == Marker.DELETE for m in by_ns["person_2"]) and len(by_ns["person_2"]) == 3


def test_cube_list_marker():
    m = cube_list_marker(HEADER, np.zeros((4, 3)), 0.05, colors=np.ones((4, 4)))
    assert m.type == Marker.CUBE_LIST and len(m.points) == 4 and len(m.colors) == 4
    with pytest.raises(ConversionError):
        cube_list_marker(HEADER, np.zeros((4, 3)), 0.05, colors=np.ones((3, 4)))
