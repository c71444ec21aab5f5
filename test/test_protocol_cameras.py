"""The standard-13 camera protocol and the body augmentation (no shared data needed)."""
import numpy as np
import pytest
import torch

from learned_energy_ros.core.batched_lens import LensBatch
from learned_energy_ros.core.metrics import standard13_metrics
from learned_energy_ros.core.protocol_cameras import MixedCameras, Standard13Cameras, draw_cameras
from learned_energy_ros.core.skeleton import get_skeleton
from learned_energy_ros.core.virtual_camera import CameraRanges, DetectorNoise, observe_batch
from learned_energy_ros.pose.augment import BodyAugment, estimate_stature, mirror_mocap
from learned_energy_ros.pose.synthetic import random_poses

M = get_skeleton("mocap27")
BODY13 = [M.index(n) for n in get_skeleton("body13").joints]


@pytest.fixture(scope="module")
def poses():
    return random_poses(256, np.random.default_rng(3)).astype(np.float64)  # (256, 27, 3) standing, feet near z = 0


def test_standard13_cameras_follow_the_protocol(poses):
    proto = Standard13Cameras()
    lens, R, t = proto.sample_batch(np.random.default_rng(0), poses)
    fx, fy = lens.K[:, 0, 0], lens.K[:, 1, 1]
    assert ((fx >= 500) & (fx <= 1500)).all() and (np.abs(fy / fx - 1) <= 0.01 + 1e-12).all()
    assert (np.abs(lens.K[:, 0, 2] - 640) <= 0.03 * 1280 + 1e-9).all() and (np.abs(lens.K[:, 1, 2] - 360) <= 0.03 * 720 + 1e-9).all()
    assert (np.abs(lens.coef[:, 0]) <= 0.1).all() and (np.abs(lens.coef[:, 1]) <= 0.02).all() and (lens.coef[:, 4:] == 0).all()
    eye = -np.einsum("nji,nj->ni", R, t)  # camera centres in the world
    pelvis = poses[:, M.index("pelvis")]
    horizontal = np.linalg.norm(eye[:, :2] - pelvis[:, :2], axis=-1)
    assert ((horizontal >= 3.0 - 1e-9) & (horizontal <= 7.0 + 1e-9)).all()
    assert ((eye[:, 2] >= 0.8) & (eye[:, 2] <= 2.2)).all()
    cam = np.einsum("nij,nkj->nki", R, poses) + t[:, None]
    px, _ = lens.project(cam[:, BODY13])
    u, v = px[:, 0, 0] / 1280, px[:, 0, 1] / 720  # body13 joint 0 is the pelvis
    assert ((u >= 0.1 - 1e-6) & (u <= 0.9 + 1e-6) & (v >= 0.15 - 1e-6) & (v <= 0.85 + 1e-6)).all()
    assert (cam[:, BODY13, 2] > 0.1).all() and lens.in_image(px).all()


def test_standard13_is_seeded_and_matches_the_camera_model(poses):
    a = Standard13Cameras().sample_batch(np.random.default_rng(7), poses[:8])
    b = Standard13Cameras().sample_batch(np.random.default_rng(7), poses[:8])
    for x, y in zip((a[0].K, a[1], a[2]), (b[0].K, b[1], b[2])):
        np.testing.assert_array_equal(x, y)
    camera, R, t = Standard13Cameras().sample_for(np.random.default_rng(1), poses[0])
    points = poses[0] @ R.T + t
    lens = LensBatch([camera])
    np.testing.assert_allclose(lens.project(points[None])[0][0], camera.project(points), atol=1e-6)


def test_mixed_cameras_keep_the_pose_order(poses):
    source = MixedCameras((CameraRanges.narrow(), Standard13Cameras()))
    lens, R, t = draw_cameras(source, np.random.default_rng(0), poses[:64])
    sizes = {tuple(s) for s in lens.size}
    assert (1280, 720) in sizes and len(sizes) > 1  # both sources drew
    cam = np.einsum("nij,nkj->nki", R, poses[:64]) + t[:, None]
    px, _ = lens.project(cam[:, BODY13])
    assert lens.in_image(px[:, :1]).all()  # each pose kept its own camera: its pelvis is in its image


def test_mirror_swaps_sides_and_is_an_involution(poses):
    m = mirror_mocap(poses)
    np.testing.assert_allclose(m[:, M.index("left_wrist"), 0], -poses[:, M.index("right_wrist"), 0])
    np.testing.assert_allclose(mirror_mocap(m), poses)


def test_body_augment_scales_to_the_stature_prior_and_keeps_symmetry(poses):
    rng = np.random.default_rng(0)
    out = BodyAugment(mirror_prob=0.0, segment_std=0.1, stature=(1.9, 1e-6))(poses, rng)
    np.testing.assert_allclose(estimate_stature(out), 1.9, rtol=1e-4)
    left = np.linalg.norm(out[:, M.index("left_knee")] - out[:, M.index("left_ankle")], axis=-1)
    right = np.linalg.norm(out[:, M.index("right_knee")] - out[:, M.index("right_ankle")], axis=-1)
    l0 = np.linalg.norm(poses[:, M.index("left_knee")] - poses[:, M.index("left_ankle")], axis=-1)
    r0 = np.linalg.norm(poses[:, M.index("right_knee")] - poses[:, M.index("right_ankle")], axis=-1)
    np.testing.assert_allclose(left / l0, right / r0, rtol=1e-9)  # one factor per segment, both sides
    feet = [M.index(n) for n in ("left_ankle", "right_ankle", "left_heel", "right_heel", "left_big_toe", "right_big_toe")]
    np.testing.assert_allclose(out[:, feet, 2].min(1), poses[:, feet, 2].min(1), atol=1e-9)
    same = BodyAugment(mirror_prob=0.0, segment_std=0.0, stature=None)(poses, rng)
    np.testing.assert_allclose(same, poses, atol=1e-12)


def test_body_only_noise_drops_face_and_keeps_limbs(poses):
    coco = get_skeleton("coco17")
    cam_pts = np.zeros((200, 17, 3))
    cam_pts[..., 2] = 4.0
    cam_pts[..., :2] = np.random.default_rng(0).uniform(-0.5, 0.5, size=(200, 17, 2))
    lens = LensBatch.from_arrays(np.tile(np.diag([800.0, 800.0, 1.0]) + np.array([[0, 0, 640], [0, 0, 360], [0, 0, 0]]), (200, 1, 1)),
                                 np.tile([1280, 720], (200, 1)), "none", np.zeros((200, 0)))
    _, _, scores, _ = observe_batch(cam_pts, lens, DetectorNoise(sigma_px=0.0, body_only_prob=0.5), np.random.default_rng(1))
    face = [coco.index(n) for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")]
    limbs = [i for i in range(17) if i not in face]
    no_face = (scores[:, face] == 0).all(1)
    assert 60 < no_face.sum() < 140  # about half the people
    assert (scores[:, limbs] > 0).all()


def test_standard13_metrics_by_hand():
    target = torch.zeros(2, 17, 3)
    target[..., 2] = 5.0
    target[:, 1:, 0] = torch.linspace(-0.5, 0.5, 16)
    h36m = get_skeleton("h36m17")
    pred = target.clone()
    pred[0] += torch.tensor([0.0, 0.0, 0.5])  # 10 % too far: no pose error, 500 mm absolute
    pred[1, h36m.index("pelvis")] += torch.tensor([0.1, 0.0, 0.0])  # only the pelvis is off
    out = standard13_metrics(pred, target)
    assert out["n"] == 2 and out["abs_error"] == pytest.approx((500 + 100 / 13) / 2, rel=1e-6)
    assert out["mpjpe_hips12"] == pytest.approx(0.0, abs=1e-6)  # hip-midpoint alignment ignores the pelvis
    assert out["mpjpe"] == pytest.approx(0.5 * 100 * 12 / 13, rel=1e-6)  # pose 1: 12 joints 100 mm off its pelvis
    assert out["depth_bias_pct"] == pytest.approx(5.0, abs=1e-6)  # median of +10 % and 0 %
