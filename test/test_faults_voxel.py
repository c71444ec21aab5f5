"""voxel_reconstructor faults and bad input, driven through its callbacks without DDS (fast).

A tiny untrained model (outputs' geometry does not depend on training); publishers
replaced by recorders and the logger by a spy, like test_faults_pose.py.
"""
import sys
import time

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

import torch  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from visualization_msgs.msg import MarkerArray  # noqa: E402

from learned_energy_ros.core.camera import Camera  # noqa: E402
from learned_energy_ros.ros.conversions import camera_to_camera_info, sec_to_stamp  # noqa: E402
from learned_energy_ros.ros.images import rgb_to_image  # noqa: E402
from learned_energy_ros.ros.voxel_node import VoxelReconstructorNode  # noqa: E402
from learned_energy_ros.vox.checkpoint import save_checkpoint  # noqa: E402
from learned_energy_ros.vox.dataset import ViewConfig  # noqa: E402
from learned_energy_ros.vox.model import IGEConfig, IGEVoxelModel  # noqa: E402
from ros_fixtures import Recorder, spy_node  # noqa: E402

pytestmark = pytest.mark.timeout(60)
SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE
CAM = Camera(np.array([[120.0, 0, 79.5], [0, 120, 59.5], [0, 0, 1]]), np.zeros(5), "plumb_bob", 160, 120,
             "camera_optical_frame")
FIRED = []


class Payload:
    def __reduce__(self):
        return (FIRED.append, ("payload ran",))


def make_node(ctx, name, **params):
    return spy_node(VoxelReconstructorNode, ctx, name, **params)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = IGEVoxelModel(IGEConfig(resolution=16, image_size=32, width_mult=0.25, features=8, energy_hidden=8, steps=1))
    return str(save_checkpoint(tmp_path_factory.mktemp("vox") / "tiny.pt", "ige", model,
                               ViewConfig(image_size=32, resolution=16), {"untrained": True}))


@pytest.fixture(scope="module")
def node(ctx, tiny_checkpoint):
    n = make_node(ctx, "fault_voxel", device="cpu", checkpoint=tiny_checkpoint, near=0.8, far=1.2, warn_period=60.0)
    assert n.trigger_configure() == SUCCESS and n.trigger_activate() == SUCCESS
    n.pub_cloud, n.pub_markers, n.pub_diag = Recorder(), Recorder(MarkerArray), Recorder()
    yield n
    n.trigger_deactivate()
    n.destroy_node()


class Clock:
    t = time.time() - 1000.0

    @classmethod
    def next(cls):
        cls.t += 0.1
        return cls.t


def pair(stamp=None, rgb=None, frame_id="camera_optical_frame"):
    header = Header(stamp=sec_to_stamp(Clock.next() if stamp is None else stamp), frame_id=frame_id)
    rgb = np.random.default_rng(0).integers(0, 255, (CAM.height, CAM.width, 3), dtype=np.uint8) if rgb is None else rgb
    return rgb_to_image(rgb, header, "bgr8"), camera_to_camera_info(CAM, Header(stamp=header.stamp, frame_id=frame_id))


def feed(node, image, info):
    before = len(node.pub_cloud.msgs)
    node._on_frame(image, info)
    if hasattr(node, "_process_pending"):
        node._process_pending()
    return node.pub_cloud.msgs[-1] if len(node.pub_cloud.msgs) > before else None


def assert_skipped_and_alive(node, send, reason, repeats=3):
    before, published = node.stats.skipped[reason], len(node.pub_cloud.msgs)
    node.log.warnings.clear()
    node._last_warn.pop(reason, None)
    for _ in range(repeats):
        send()
    assert node.stats.skipped[reason] == before + repeats, dict(node.stats.skipped)
    assert len(node.pub_cloud.msgs) == published, "a bad frame produced output"
    assert len([w for w in node.log.warnings if f"'{reason}'" in w]) == 1, node.log.warnings
    assert feed(node, *pair()) is not None, "node stopped working after the bad input"


def _short_data(image, info):
    image.data = bytes(image.data)[: image.step * image.height - 7]


def _encoding(image, info):
    image.encoding = "bayer_grbg16"


def _zero_width(image, info):
    image.width = 0


def _size_mismatch(image, info):
    info.width, info.height = 320, 240


def _zero_k(image, info):
    info.k = np.zeros(9)


def _nan_k(image, info):
    info.k[4] = np.nan


def _negative_focal(image, info):
    info.k[0] = -120.0


def _unknown_model(image, info):
    info.distortion_model = "fisheye_magic"


def _info_height_zero(image, info):
    info.height = 0


BAD = {"short_image_data": (_short_data, "bad_image"), "unsupported_encoding": (_encoding, "bad_image"),
       "image_width_zero": (_zero_width, "bad_image"), "image_camera_size_mismatch": (_size_mismatch, "bad_image"),
       "zero_k": (_zero_k, "bad_camera_info"), "nan_k": (_nan_k, "bad_camera_info"),
       "negative_focal": (_negative_focal, "bad_camera_info"), "unknown_distortion_model": (_unknown_model, "bad_camera_info"),
       "camera_height_zero": (_info_height_zero, "bad_camera_info")}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_messages_are_skipped(node, case):
    edit, reason = BAD[case]

    def send():
        image, info = pair()
        edit(image, info)
        feed(node, image, info)
    assert_skipped_and_alive(node, send, reason)


def test_huge_image_is_processed_or_refused_without_stalling(node):
    image, info = pair(rgb=np.zeros((2160, 3840, 3), np.uint8))
    info = camera_to_camera_info(Camera.from_fov(60.0, 3840, 2160, "camera_optical_frame"), info.header)
    start = time.perf_counter()
    feed(node, image, info)
    assert time.perf_counter() - start < 10.0
    assert feed(node, *pair()) is not None


def test_bad_checkpoints_fail_configure_and_stay_unconfigured(ctx, tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"garbage" * 50)
    malicious = tmp_path / "malicious.pt"
    torch.save({"kind": "ige", "model_args": {}, "state_dict": Payload()}, malicious)
    for case, path in {"missing": tmp_path / "nope.pt", "corrupt": corrupt, "malicious": malicious}.items():
        n = make_node(ctx, f"vox_ck_{case}", device="cpu", checkpoint=str(path))
        try:
            assert n.trigger_configure() == FAILURE, case
            assert n._state_machine.current_state[1] == "unconfigured" and n.reconstructor is None
            assert n.log.errors and "configure failed" in n.log.errors[-1]
        finally:
            n.destroy_node()
    assert not FIRED


def test_invalid_parameters_are_refused(node):
    for name, value in (("near", -1.0), ("far", 0.1), ("occupancy_threshold", 1.5), ("num_steps", -2), ("num_steps", 65),
                        ("roi", [1, 2, 3]), ("sync_slop", -0.5), ("max_pending", 0),
                        ("max_stamp_future", -1.0), ("qos_depth", 0)):
        (result,) = node.set_parameters([Parameter(name, value=value)])
        assert not result.successful and result.reason, (name, value)


@pytest.mark.parametrize("params, blocked, reason", [
    ({"camera_height": 1.0, "support_plane": [0.0, -1.0, 0.0, 1.0]}, None, "both set the support plane"),
    ({"plane_frame": "base_footprint"}, "tf2_ros", "needs tf2_ros"),  # TF asked for, tf2_ros not importable
])
def test_unusable_startup_parameters_fail_configure_with_the_reason(ctx, tiny_checkpoint, monkeypatch, params,
                                                                   blocked, reason):
    if blocked:
        monkeypatch.setitem(sys.modules, blocked, None)  # import fails
    bad = make_node(ctx, f"vox_bad_{len(params)}_{bool(blocked)}", device="cpu", checkpoint=tiny_checkpoint, **params)
    try:
        assert bad.trigger_configure() == FAILURE and bad.reconstructor is None
        assert any(reason in e for e in bad.log.errors)
    finally:
        bad.destroy_node()


def test_out_of_order_frames_are_still_processed_when_valid(node):
    """The voxel node is per-frame (no state across frames): a late frame is reconstructed, not refused."""
    assert feed(node, *pair(stamp=Clock.t - 5.0)) is not None


def test_stamp_from_the_future_is_skipped(node):
    node.set_parameters([Parameter("max_stamp_future", value=1.0)])
    try:
        assert_skipped_and_alive(node, lambda: feed(node, *pair(stamp=time.time() + 30.0)), "future_stamp")
    finally:
        node.set_parameters([Parameter("max_stamp_future", value=600.0)])


def test_frame_id_mismatch_is_skipped(node):
    def send():
        image, info = pair()
        info.header.frame_id = "another_camera"
        feed(node, image, info)
    assert_skipped_and_alive(node, send, "frame_id_mismatch")


def test_overload_keeps_only_the_newest_pending_frame(node):
    node.set_parameters([Parameter("max_pending", value=1)])
    before, published = node.stats.skipped["overload"], len(node.pub_cloud.msgs)
    stamps = [Clock.next() for _ in range(6)]
    for t in stamps:
        node._on_frame(*pair(stamp=t))
    node._process_pending()
    out = node.pub_cloud.msgs[published:]
    assert node.stats.skipped["overload"] == before + 5 and len(out) == 1
    assert out[0].header.stamp.sec + 1e-9 * out[0].header.stamp.nanosec == pytest.approx(stamps[-1], abs=1e-6)


def test_unexpected_error_is_counted_and_survived(node, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("CUDA out of memory")
    before = node.stats.skipped["internal_error"]
    monkeypatch.setattr(node.reconstructor, "reconstruct_many", boom)  # the one model call per frame
    assert feed(node, *pair()) is None
    monkeypatch.undo()
    assert node.stats.skipped["internal_error"] == before + 1 and feed(node, *pair()) is not None


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present: nothing to fall back from")
def test_cuda_without_gpu_refuses_or_falls_back(ctx, tiny_checkpoint):
    refuse = make_node(ctx, "vox_cuda_refuse", device="cuda", device_fallback=False, checkpoint=tiny_checkpoint)
    fallback = make_node(ctx, "vox_cuda_fallback", device="cuda", checkpoint=tiny_checkpoint)
    try:
        assert refuse.trigger_configure() == FAILURE and "device_fallback is false" in refuse.log.errors[-1]
        assert fallback.trigger_configure() == SUCCESS and str(fallback.reconstructor.device) == "cpu"
        assert any("falling back to cpu" in w for w in fallback.log.warnings)
    finally:
        refuse.destroy_node()
        fallback.trigger_cleanup()
        fallback.destroy_node()


def test_yaml_mirrors_every_voxel_parameter_with_a_comment():
    import yaml
    from pathlib import Path
    from learned_energy_ros.ros.voxel_params import VOXEL_PARAMETERS
    text = (Path(__file__).resolve().parents[1] / "config" / "voxel_reconstructor.yaml").read_text()
    values = next(iter(yaml.safe_load(text).values()))["ros__parameters"]
    for name, (default, description, _) in VOXEL_PARAMETERS.items():
        assert values.get(name) == default, name
        assert f"# {description}" in text, name
