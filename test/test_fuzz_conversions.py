"""Property tests: every message -> core conversion either converts or raises its one error type.

Nothing else (IndexError, numpy errors, TypeError, MemoryError...) may escape
from ``cloud_to_keypoints``, ``cloud_to_structured``, ``image_to_rgb``,
``camera_info_to_camera``, ``messages_to_frame``, ``Camera.from_camera_info``
and the core -> message direction, whatever the fields hold.
"""
import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy (messages) is not installed")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, PointCloud2, PointField  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from learned_energy_ros.core.camera import Camera, CameraError  # noqa: E402
from learned_energy_ros.pose.pipeline import FrameSkipped  # noqa: E402
from learned_energy_ros.ros.conversions import (  # noqa: E402
    ConversionError, camera_info_to_camera, cloud_to_keypoints, cloud_to_structured, image_to_rgb, joints_to_cloud,
    keypoints_to_cloud, rgb_to_image, sec_to_stamp,
)
from learned_energy_ros.ros.pose_io import messages_to_frame  # noqa: E402

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
names = st.sampled_from(["u", "v", "score", "person", "joint", "x", "rgb", ""]) | st.text(max_size=4)
u32 = st.one_of(st.integers(0, 70), st.integers(0, 2**32 - 1))


@st.composite
def point_clouds(draw):
    msg = PointCloud2()
    msg.header = Header(frame_id=draw(st.sampled_from(["", "cam", "other"])))
    msg.fields = [PointField(name=draw(names), offset=draw(st.integers(0, 40)), datatype=draw(st.integers(0, 12)),
                             count=draw(st.integers(0, 3))) for _ in range(draw(st.integers(0, 7)))]
    msg.width, msg.height = draw(u32), draw(st.integers(0, 3) | u32)
    msg.point_step, msg.row_step = draw(st.integers(0, 40) | u32), draw(st.integers(0, 400) | u32)
    msg.is_bigendian = draw(st.booleans())
    msg.data = draw(st.binary(max_size=600))
    return msg


@st.composite
def valid_ish_clouds(draw):
    """Well-formed keypoint clouds with arbitrary values (NaN, huge ids/joints)."""
    n = draw(st.integers(0, 40))
    dtype = np.dtype([("u", "<f4"), ("v", "<f4"), ("score", "<f4"), ("person", "<u4"), ("joint", "<u2")])
    pts = np.zeros(n, dtype)
    for name, strat in (("u", floats), ("v", floats), ("score", floats), ("person", st.integers(0, 2**32 - 1)),
                        ("joint", st.integers(0, 2**16 - 1) | st.integers(0, 20))):
        pts[name] = draw(st.lists(strat, min_size=n, max_size=n))
    from learned_energy_ros.ros.clouds import structured_to_cloud
    return structured_to_cloud(Header(frame_id="cam"), pts)


@st.composite
def images(draw):
    from learned_energy_ros.ros.images import SUPPORTED_ENCODINGS
    msg = Image()
    msg.encoding = draw(st.sampled_from(SUPPORTED_ENCODINGS) | st.text(max_size=10))
    msg.width, msg.height = draw(st.integers(0, 40) | u32), draw(st.integers(0, 40) | u32)
    msg.step = draw(st.integers(0, 200) | u32)
    msg.is_bigendian = draw(st.integers(0, 1))
    msg.data = draw(st.binary(max_size=3000))
    return msg


@st.composite
def camera_infos(draw):
    msg = CameraInfo()
    msg.header = Header(frame_id=draw(st.sampled_from(["", "cam"])))
    msg.k = np.array(draw(st.lists(floats | st.sampled_from([0.0, 1.0, 500.0, 320.0]), min_size=9, max_size=9)))
    msg.d = draw(st.lists(floats, max_size=14))
    msg.distortion_model = draw(st.sampled_from(["", "plumb_bob", "rational_polynomial", "equidistant", "none"])
                                | st.text(max_size=12))
    msg.width, msg.height = draw(u32), draw(u32)
    return msg


any_value = st.recursive(st.none() | st.booleans() | floats | st.integers() | st.text(max_size=5),
                         lambda inner: st.lists(inner, max_size=12) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                         max_leaves=20)


@FUZZ
@given(point_clouds(), st.integers(1, 40))
def test_arbitrary_cloud_converts_or_raises_conversion_error(msg, num_joints):
    for convert in (lambda: cloud_to_structured(msg), lambda: cloud_to_keypoints(msg, num_joints)):
        try:
            convert()
        except ConversionError:
            pass


@FUZZ
@given(valid_ish_clouds())
def test_keypoint_values_convert_with_the_layout_or_raise(msg):
    try:
        keypoints, scores, ids = cloud_to_keypoints(msg, 17)
    except ConversionError:
        return
    assert keypoints.shape == (ids.size, 17, 2) and scores.shape == (ids.size, 17)


@FUZZ
@given(images())
def test_arbitrary_image_converts_or_raises_conversion_error(msg):
    try:
        rgb = image_to_rgb(msg)
    except ConversionError:
        return
    assert rgb.shape == (msg.height, msg.width, 3) and rgb.dtype == np.uint8


@FUZZ
@given(camera_infos())
def test_arbitrary_camera_info_converts_or_raises_conversion_error(msg):
    try:
        camera = camera_info_to_camera(msg)
    except ConversionError:
        return
    assert np.all(np.isfinite(camera.K)) and camera.K[0, 0] > 0 and camera.K[1, 1] > 0


@FUZZ
@given(st.dictionaries(st.sampled_from(["k", "K", "d", "D", "distortion_model", "width", "height", "frame_id",
                                        "header"]), any_value, max_size=9))
def test_camera_from_arbitrary_mapping_builds_or_raises_camera_error(fields):
    try:
        Camera.from_camera_info(fields)
    except CameraError:
        pass


@FUZZ
@given(camera_infos(), point_clouds() | valid_ish_clouds())
def test_messages_to_frame_builds_or_skips(info, cloud):
    try:
        messages_to_frame(info, cloud, "coco17")
    except FrameSkipped:
        pass


@FUZZ
@given(st.lists(floats, max_size=60), st.integers(0, 3), st.lists(floats, max_size=20))
def test_core_to_message_converts_or_raises_conversion_error(values, n, extra):
    arr = np.asarray(values + [0.0] * 0)
    for convert in (
        lambda: keypoints_to_cloud(Header(), arr.reshape(n, -1, 2) if n and arr.size % (2 * n) == 0 else arr,
                                   np.asarray(extra)),
        lambda: joints_to_cloud(Header(), arr.reshape(n, -1, 3) if n and arr.size % (3 * n) == 0 else arr,
                                np.arange(n), np.asarray(extra), np.zeros(n)),
        lambda: rgb_to_image(np.clip(np.nan_to_num(arr), 0, 255).astype(np.uint8).reshape(1, -1, 3)
                             if arr.size % 3 == 0 else arr, Header()),
        lambda: sec_to_stamp(values[0] if values else -1.0),
    ):
        try:
            convert()
        except ConversionError:
            pass
