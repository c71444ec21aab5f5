"""Virtual cameras, the batched lens model, the detector noise model and the PoseSampler."""
import numpy as np
import pytest
import torch

from learned_energy_ros.core.batched_lens import LensBatch
from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.skeleton import get_skeleton
from learned_energy_ros.core.virtual_camera import (CameraRanges, DetectorNoise, limb_groups, observe, sample_camera,
                                                    world_to_camera)
from learned_energy_ros.pose.dataset import DatasetError, PoseSampler, fixed_eval_set
from learned_energy_ros.pose.synthetic import random_poses, synthetic_clips

TARGET = np.array([1.0, -2.0, 0.9])


def _cams(ranges, n, seed=0):
    rng = np.random.default_rng(seed)
    return [sample_camera(rng, ranges, TARGET) for _ in range(n)]


def test_sample_camera_is_reproducible_per_seed():
    a, b, c = _cams(CameraRanges.broad(), 5, 1), _cams(CameraRanges.broad(), 5, 1), _cams(CameraRanges.broad(), 5, 2)
    for (ca, Ra, ta), (cb, Rb, tb) in zip(a, b):
        assert ca.same_calibration(cb) and np.array_equal(Ra, Rb) and np.array_equal(ta, tb)
    assert not all(ca.same_calibration(cc) for (ca, _, _), (cc, _, _) in zip(a, c))


@pytest.mark.parametrize("ranges", [CameraRanges.broad(), CameraRanges.narrow(), CameraRanges.unseen()])
def test_camera_looks_at_target_with_rotation(ranges):
    ranges.look_at_jitter_m, ranges.roll_jitter_deg = 0.0, 0.0
    for cam, R, t in _cams(ranges, 20):
        assert np.allclose(R @ R.T, np.eye(3), atol=1e-9) and np.isclose(np.linalg.det(R), 1.0)
        p = world_to_camera(TARGET, R, t)
        assert p[2] > 0 and np.allclose(p[:2] / p[2], 0.0, atol=1e-9)  # on the optical axis
        up_cam = R @ np.array([0, 0, 1.0])
        assert up_cam[1] < 0  # world up is image up (optical y points down)


def test_unseen_intrinsics_lie_outside_broad():
    broad_f = [c.fx / c.width for c, _, _ in _cams(CameraRanges.broad(), 200)]
    unseen = _cams(CameraRanges.unseen(), 200)
    pinhole = [c.fx / c.width for c, _, _ in unseen if c.distortion_model != "equidistant"]
    assert any(m == "equidistant" for m in (c.distortion_model for c, _, _ in unseen))
    # broad hfov 45-100 deg; unseen pinholes are narrower (20-38) or much wider (110-140)
    assert all(f > max(broad_f) or f < min(broad_f) for f in pinhole)
    dist = [np.linalg.norm(-R.T @ t - TARGET) for _, R, t in unseen]
    assert min(dist) > 10.0


@pytest.mark.parametrize("ranges", [CameraRanges.broad(), CameraRanges.unseen()])
def test_lens_batch_matches_camera(ranges):
    cams = [c for c, _, _ in _cams(ranges, 40, seed=3)]
    lens = LensBatch(cams)
    xy = np.random.default_rng(0).uniform(-0.4, 0.4, (40, 9, 2))
    d = lens.distort(xy)
    expected = np.stack([c.distort(x) for c, x in zip(cams, xy)])
    assert np.allclose(d, expected, atol=1e-12)
    px = lens.to_pixels(d)
    assert np.allclose(px, np.stack([c.normalized_to_pixels(x) for c, x in zip(cams, xy)]), atol=1e-9)
    assert np.allclose(lens.normalize(px), xy, atol=1e-8)


def test_observe_visibility_and_scores():
    cam = Camera.from_fov(60, 640, 480)
    pts = np.array([[[0, 0, 3.0], [0, 0, -1.0], [10.0, 0, 3.0], [0.2, 0.1, 4.0]]])  # in, behind, off-image, in
    px, sc, vis = observe(pts, cam, DetectorNoise.clean(), np.random.default_rng(0), skeleton=_layout4())
    assert vis.tolist() == [[True, False, False, True]]
    assert np.all(sc[vis] == 1.0) and np.all(sc[~vis] == 0.0)
    assert np.allclose(px[0, 0], [cam.cx, cam.cy]) and np.all(px[~vis] == 0)


def _layout4():
    from learned_energy_ros.core.skeleton import register_skeleton

    return register_skeleton("test_four", ("a", "b", "c", "d"), ())


def _people(n=64, seed=0):
    joints = random_poses(n, np.random.default_rng(seed))  # mocap27 world
    idx = [get_skeleton("mocap27").index(j) for j in get_skeleton("coco17").joints]
    cam = Camera.from_fov(70, 1280, 720)
    R = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # world +Z up -> optical (looking along +Y)
    pts = world_to_camera(joints[:, idx], R, np.array([0, 0.95, 8.0]))
    return pts, cam


def test_observe_is_reproducible_and_noise_model_behaves():
    pts, cam = _people()
    noise = DetectorNoise(sigma_px=2.0, outlier_prob=0.2, dropout_prob=0.1, limb_dropout_prob=1.0)
    a = observe(pts, cam, noise, np.random.default_rng(5))
    b = observe(pts, cam, noise, np.random.default_rng(5))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    px, sc, vis = a
    assert vis.mean() > 0.9
    clean = cam.project(pts)
    err = np.linalg.norm(px - clean, axis=-1)
    outlier = (sc > 0) & (sc <= 0.6)
    assert np.median(err[sc > 0.6]) < 5 and np.median(err[outlier]) > 20  # confident outliers are far
    groups = limb_groups("coco17")
    assert all(any(np.all(sc[i, g] == 0) for g in groups) for i in range(len(sc)))  # every person lost a limb


def test_pose_sampler_batches_are_consistent_and_seeded():
    clips = synthetic_clips(2, 32)
    s1, s2 = PoseSampler(clips, noise=DetectorNoise.clean(), seed=4), PoseSampler(clips, noise=DetectorNoise.clean(), seed=4)
    b1, b2 = s1.sample(16), s2.sample(16)
    assert torch.equal(b1.keypoints_px, b2.keypoints_px) and torch.equal(b1.joints_cam, b2.joints_cam)
    assert b1.keypoints_px.shape == (16, 17, 2) and b1.joints_cam.shape == (16, 17, 3)
    # clean 2D of shared joints equals the projection of the 3D truth (normalized coordinates)
    ok = b1.scores > 0
    for name in ("left_hip", "right_wrist", "left_ankle"):
        j2, j3 = get_skeleton("coco17").index(name), get_skeleton("h36m17").index(name)
        proj = b1.joints_cam[:, j3, :2] / b1.joints_cam[:, j3, 2:]
        assert torch.allclose(b1.normalized[ok[:, j2], j2], proj[ok[:, j2]], atol=1e-4)
    ev1 = fixed_eval_set(clips, 10, seed=1)
    ev2 = fixed_eval_set(clips, 10, seed=1)
    assert torch.equal(ev1.keypoints_px, ev2.keypoints_px)


def test_pose_sampler_other_layout_and_bad_clips():
    b = PoseSampler(synthetic_clips(1, 8), input_skeleton="body25", seed=0).sample(4)
    assert b.keypoints_px.shape == (4, 25, 2) and b.input_skeleton == "body25"
    small_toe = get_skeleton("body25").index("left_small_toe")  # not in mocap27 -> always missing
    assert torch.all(b.scores[:, small_toe] == 0)
    with pytest.raises(DatasetError):
        PoseSampler([])
