"""Known-answer tests of the pose and voxel metrics."""
import math

import numpy as np
import pytest
import torch

from learned_energy_ros.core import metrics as M


def _pose(seed=0, n=4, j=17):
    rng = np.random.default_rng(seed)
    pose = rng.normal(scale=0.3, size=(n, j, 3))
    pose[..., 2] += 4.0
    return pose


def _rot_z(deg):
    a = math.radians(deg)
    return np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])


def test_identical_poses_have_zero_error():
    pose = _pose()
    for fn in (M.mpjpe, M.p_mpjpe, M.n_mpjpe, M.absolute_error, M.root_depth_error):
        np.testing.assert_allclose(fn(pose, pose), 0.0, atol=1e-9)


def test_translation_only_changes_absolute_error():
    pose = _pose()
    shifted = pose + np.array([0.0, 0.1, 0.2])
    np.testing.assert_allclose(M.mpjpe(shifted, pose), 0.0, atol=1e-9)
    np.testing.assert_allclose(M.absolute_error(shifted, pose), 1000 * math.sqrt(0.05), rtol=1e-9)
    np.testing.assert_allclose(M.root_depth_error(shifted, pose), 0.2 / pose[:, 0, 2], rtol=1e-9)


def test_rotated_scaled_copy_has_zero_p_mpjpe_and_known_n_mpjpe():
    pose = _pose(n=1)[0]
    R = _rot_z(90)
    copy = 1.5 * (pose - pose[0]) @ R.T + np.array([1.0, -2.0, 3.0])
    assert M.p_mpjpe(copy, pose) == pytest.approx(0.0, abs=1e-6)
    # MPJPE of a pure scale (no rotation) about the root: |s-1| * mean joint distance to root.
    scaled = 2.0 * (pose - pose[0]) + pose[0]
    expected = 1000 * np.linalg.norm(pose - pose[0], axis=-1).mean()
    assert M.mpjpe(scaled, pose) == pytest.approx(expected, rel=1e-9)
    assert M.n_mpjpe(scaled, pose) == pytest.approx(0.0, abs=1e-6)
    assert M.p_mpjpe(scaled, pose) == pytest.approx(0.0, abs=1e-6)
    # A rotation is not removed by the scale-only alignment.
    assert M.n_mpjpe(copy, pose) > 10.0


def test_p_mpjpe_does_not_fix_a_mirror_image():
    pose = _pose(n=1)[0]
    mirrored = pose * np.array([-1.0, 1.0, 1.0])
    assert M.p_mpjpe(mirrored, pose) > 1.0


def test_known_single_joint_error():
    target = np.zeros((1, 4, 3))
    target[..., 2] = 5.0
    pred = target.copy()
    pred[0, 3, 0] += 0.04  # one joint off by 40 mm out of 4
    assert M.mpjpe(pred, target)[0] == pytest.approx(10.0)
    assert M.absolute_error(pred, target)[0] == pytest.approx(10.0)


def test_torch_in_torch_out_and_differentiable():
    target = torch.tensor(_pose())
    pred = (target + 0.01).requires_grad_(True)
    err = M.mpjpe(pred * 1.1, target)
    assert isinstance(err, torch.Tensor) and err.shape == (4,)
    err.sum().backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all()
    np.testing.assert_allclose(M.p_mpjpe(pred.detach(), target).numpy(), M.p_mpjpe(pred.detach().numpy(), target.numpy()))


def test_acceleration_error_and_jitter_known_values():
    t = np.arange(6, dtype=np.float64)
    seq = np.zeros((6, 2, 3))
    seq[:, :, 0] = 0.001 * t[:, None] ** 2  # constant acceleration 2 mm / frame²
    still = np.zeros_like(seq)
    assert M.jitter(seq) == pytest.approx(2.0)
    assert M.acceleration_error(seq, still) == pytest.approx(2.0)
    assert M.acceleration_error(seq, seq + 0.5) == pytest.approx(0.0)
    linear = np.zeros_like(seq)
    linear[:, :, 1] = 0.01 * t[:, None]
    assert M.jitter(linear) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(M.MetricsError):
        M.jitter(seq[:2])


def test_voxel_iou_known_values():
    pred = np.zeros((2, 4, 4, 4))
    target = np.zeros((2, 4, 4, 4), dtype=bool)
    pred[0, :2] = 0.9  # 32 voxels
    target[0, :1] = True  # 16 voxels, all inside pred
    pred[1, 0, 0, 0] = 0.4  # below threshold: empty vs empty
    iou = M.voxel_iou(pred, target, threshold=0.5)
    np.testing.assert_allclose(iou, [0.5, 1.0])
    assert M.voxel_iou(pred[1], target[1], threshold=0.3) == pytest.approx(0.0)
    with pytest.raises(M.MetricsError):
        M.voxel_iou(pred, target[:, :2])


def test_mean_per_group():
    out = M.mean_per_group([1.0, 3.0, 10.0], ["a", "a", "b"])
    assert out["a"] == 2.0 and out["b"] == 10.0 and out["mean_of_groups"] == 6.0


def test_shape_mismatch_raises_clear_error():
    with pytest.raises(M.MetricsError):
        M.mpjpe(np.zeros((2, 17, 3)), np.zeros((2, 16, 3)))


def test_pose_metrics_summary():
    pose = _pose(n=8)
    pred = pose + np.array([0.0, 0.0, 0.4])
    out = M.pose_metrics(pred, pose)
    assert out["mpjpe"] == pytest.approx(0.0, abs=1e-6)
    assert out["abs_error"] == pytest.approx(400.0)
    assert out["root_depth_pct"] == pytest.approx(100 * np.median(0.4 / pose[:, 0, 2]))
    assert out["n"] == 8
