"""pose_lifter configure-time faults, invalid parameters, device fallback and checkpoint security.

Nodes here are never spun; transitions are triggered directly. A failed
configure must leave the node unconfigured with a clear error line.
"""
import re
from pathlib import Path

import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

import torch  # noqa: E402
from rclpy.lifecycle import TransitionCallbackReturn  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402

from learned_energy_ros.core.device import resolve_device  # noqa: E402
from learned_energy_ros.ros.pose_lifter_node import PoseLifterNode  # noqa: E402
from ros_fixtures import spy_node  # noqa: E402

pytestmark = pytest.mark.timeout(60)
PACKAGE = Path(__file__).resolve().parents[1] / "learned_energy_ros"
FIRED = []


class Payload:
    """A pickle that runs code when unpickled (what weights_only must refuse)."""

    def __reduce__(self):
        return (FIRED.append, ("payload ran",))


def node_with(ctx, name, **params):
    return spy_node(PoseLifterNode, ctx, name, **params)


def state(node) -> str:
    return node._state_machine.current_state[1]


def bad_checkpoints(tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x80\x04not a checkpoint at all" * 10)
    truncated = tmp_path / "truncated.pt"
    torch.save({"weights": {"w": torch.zeros(100)}, "model_args": {}}, truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    malicious = tmp_path / "malicious.pt"
    torch.save({"weights": Payload(), "model_args": {}}, malicious)
    wrong = tmp_path / "wrong.pt"
    torch.save({"something": torch.zeros(3)}, wrong)
    return {"missing": tmp_path / "nope.pt", "corrupt": corrupt, "truncated": truncated, "malicious": malicious,
            "not_a_lifter": wrong, "code_as_path": "__import__('os').system('touch pwned')"}


def test_bad_checkpoints_fail_configure_with_a_clear_error(ctx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for case, path in bad_checkpoints(tmp_path).items():
        node = node_with(ctx, f"ck_{case}", device="cpu", checkpoint=str(path))
        try:
            assert node.trigger_configure() == TransitionCallbackReturn.FAILURE, case
            assert state(node) == "unconfigured" and node.pipeline is None, case
            assert node.log.errors and "configure failed" in node.log.errors[-1], case
        finally:
            node.destroy_node()
    assert not FIRED, "a pickled payload was executed while loading a checkpoint"
    assert not (tmp_path / "pwned").exists(), "a checkpoint path was interpreted as code"


def test_malicious_pickle_is_refused_by_weights_only(tmp_path):
    from learned_energy_ros.pose.lifter import load_lifter
    path = bad_checkpoints(tmp_path)["malicious"]
    with pytest.raises(Exception, match="(?i)weights.only|unsupported|global"):
        load_lifter(str(path), device="cpu")
    assert not FIRED


def test_every_checkpoint_load_is_weights_only_and_nothing_is_unpickled_or_evaluated():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            if "weights_only=True" not in call:
                offenders.append(f"{path.name}: {call}")
        for pattern in (r"\bimport pickle\b", r"\bpickle\.loads?\(", r"(?<![\w.])eval\(", r"(?<![\w.])exec\(",
                        r"allow_pickle=True", r"yaml\.load\(", r"\bimport dill\b", r"\bmarshal\.loads?\("):
            if re.search(pattern, text):
                offenders.append(f"{path.name}: {pattern}")
    assert not offenders, offenders


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present: nothing to fall back from")
def test_cuda_without_gpu_refuses_or_falls_back_as_configured(ctx):
    refuse = node_with(ctx, "cuda_refuse", device="cuda", device_fallback=False)
    try:
        assert refuse.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert state(refuse) == "unconfigured" and "device_fallback is false" in refuse.log.errors[-1]
    finally:
        refuse.destroy_node()
    fallback = node_with(ctx, "cuda_fallback", device="cuda:0", device_fallback=True)
    try:
        assert fallback.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert str(fallback.pipeline.lifter.device) == "cpu"
        assert any("falling back to cpu" in w for w in fallback.log.warnings)
    finally:
        fallback.trigger_cleanup()
        fallback.destroy_node()


def test_resolve_device_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("gpu0", True)
    assert str(resolve_device("cpu", False)) == "cpu"


INVALID = [("min_score", 1.5), ("min_score", -0.1), ("min_joints", 0), ("num_steps", -1), ("track_timeout", 0.0),
           ("input_skeleton", "no_such_layout"), ("max_pending", 0), ("sync_slop", -1.0), ("sync_queue", 0),
           ("max_stamp_future", -1.0), ("max_stamp_age", -5.0), ("jump_reset", -1.0), ("max_persons", 0),
           ("warn_period", -1.0), ("qos_depth", 0), ("diagnostics_period", 0.0), ("sensor_qos", "fastest"),
           ("marker_lifetime", -1.0), ("association_gate", 0.0)]


def test_invalid_parameters_are_refused_with_a_reason(ctx):
    node = node_with(ctx, "params_check")
    try:
        for name, value in INVALID:
            before = node.get_parameter(name).value
            (result,) = node.set_parameters([Parameter(name, value=value)])
            assert not result.successful, f"{name}={value!r} was accepted"
            assert name in result.reason or str(value) in result.reason, (name, result.reason)
            assert node.get_parameter(name).value == before
        (wrong_type,) = node.set_parameters([Parameter("min_score", value="high")])
        assert not wrong_type.successful and wrong_type.reason
    finally:
        node.destroy_node()
