"""Multi-view fusion core: exactness with one view, gains with two, the summed energy's gradient, robustness."""
import numpy as np
import pytest
import torch

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.pose.lift_types import LiftError
from learned_energy_ros.pose.lifter import load_lifter
from learned_energy_ros.pose.multiview import MultiViewConfig, lift_multiview
from learned_energy_ros.pose.rig import CameraPose
from multiview_fixtures import people, ring

CAM = Camera.pinhole(900.0, 900.0, 640.0, 360.0, 1280, 720, "cam")
LENS = Camera(np.array([[700.0, 0, 630], [0, 705, 350], [0, 0, 1]]), [-0.08, 0.01, 0.0005, -0.0003, 0.0],
              "plumb_bob", 1280, 720, "cam_lens")


@pytest.fixture(scope="module")
def lifter():
    torch.set_num_threads(1)
    return load_lifter("default", "cpu")


def observe(coco, poses, cameras, rng=None, sigma=0.0):
    obs = []
    for pose, cam in zip(poses, cameras):
        px = cam.project(pose.to_camera(coco))
        if rng is not None:
            px = px + rng.normal(size=px.shape) * sigma
        obs.append((px, np.ones(coco.shape[:2])))
    return obs


def test_one_view_is_exactly_the_single_view_lifter(lifter):
    coco, _ = people(3)
    pose = ring(1)[0]
    obs = observe(coco, [pose], [LENS])
    single = lifter.lift(*obs[0], LENS)
    ident = lift_multiview(obs, [LENS], [CameraPose.identity()], lifter)
    np.testing.assert_array_equal(ident.joints, single.joints)  # bit for bit
    np.testing.assert_array_equal(ident.energy, single.energy)
    moved = lift_multiview(obs, [LENS], [pose], lifter)
    np.testing.assert_allclose(moved.joints, pose.to_common(single.joints), atol=1e-5)
    assert list(moved.views) == [1, 1, 1] and list(moved.reference) == [0, 0, 0]


def test_one_view_with_history_is_the_single_view_lifter_with_history(lifter):
    coco, _ = people(2, seed=3)
    obs = observe(coco, [CameraPose.identity()], [LENS])
    first = lifter.lift(*obs[0], LENS)
    previous = first.joints + 0.01
    single = lifter.lift(*obs[0], LENS, previous=previous, previous_dt=0.05)
    fused = lift_multiview(obs, [LENS], [CameraPose.identity()], lifter, previous=previous, previous_dt=0.05)
    np.testing.assert_array_equal(fused.joints, single.joints)


def _mpjpe(a, b):
    a, b = a - a[:, :1], b - b[:, :1]
    return float(np.linalg.norm(a - b, axis=-1).mean() * 1000)


def test_two_views_beat_one(lifter):
    coco, h36 = people(12, seed=1)
    poses = ring(2)
    obs = observe(coco, poses, [CAM, LENS], np.random.default_rng(0), sigma=2.0)
    fused = lift_multiview(obs, [CAM, LENS], poses, lifter)
    assert list(fused.views) == [2] * 12
    single = [_mpjpe(fused.single_joints[:, v], h36) for v in range(2)]
    both = _mpjpe(fused.joints, h36)
    assert both < 0.7 * min(single), (both, single)
    root_single = np.linalg.norm(fused.single_joints[:, 0, 0] - h36[:, 0], axis=-1).mean()
    root = np.linalg.norm(fused.joints[:, 0] - h36[:, 0], axis=-1).mean()
    assert root < 0.06 and root < 0.5 * root_single, (root, root_single)  # metres: the views fix the distance


def test_views_per_person_and_per_joint(lifter):
    coco, h36 = people(3, seed=2)
    poses = ring(2)
    obs = observe(coco, poses, [CAM, CAM])
    obs[1][1][1] = 0.0  # person 1 unseen by view 1
    obs[0][1][2, [7, 9, 13, 15]] = 0.0  # person 2: view 0 misses its left elbow, wrist, knee and ankle
    fused = lift_multiview(obs, [CAM, CAM], poses, lifter)
    assert list(fused.views) == [2, 1, 2]
    assert np.isnan(fused.view_energy[1, 1]) and fused.view_weight[1, 1] == 0
    np.testing.assert_allclose(fused.joints[1], fused.single_joints[1, 0])  # seen once: that view's lift
    assert np.isfinite(fused.joints).all() and np.isfinite(fused.energy).all()
    assert _mpjpe(fused.joints[2:], h36[2:]) < min(_mpjpe(fused.single_joints[2:, v], h36[2:]) for v in range(2))


def test_summed_energy_gradient_matches_autograd(lifter):
    from learned_energy_ros.pose import multiview as mv
    from learned_energy_ros.pose.multiview_energy import MultiViewEnergy
    from learned_energy_ros.pose.multiview_setup import SlotPoses, candidate_starts, term_maps
    coco, _ = people(2, seed=4)
    poses = ring(3, step_deg=110)
    obs = observe(coco, poses, [CAM, LENS, CAM])
    obs[2][1][1] = 0.0  # person 1 unseen by view 2: two starts, where person 0 has three (padded grid rows)
    xy = np.stack([cam.normalize(o[0]) for o, cam in zip(obs, [CAM, LENS, CAM])])
    sc = np.stack([o[1] for o in obs])
    slot_v, slot_n = np.nonzero(sc.sum(-1) > 0)
    slot_pose = SlotPoses.stack([poses[v] for v in slot_v])
    single = lifter.lift_normalized(xy[slot_v, slot_n], sc[slot_v, slot_n])
    common = slot_pose.to_common(single.joints, np.arange(len(slot_v)))
    slots = mv._SlotContexts(lifter, xy[slot_v, slot_n], sc[slot_v, slot_n], "coco17", slot_n)
    cands = candidate_starts(np.arange(2), slot_n, common, np.zeros(len(slot_v)), slot_pose)
    maps = term_maps(cands, slots, slot_pose)
    assert maps.owner.shape == (5, 4) and int(maps.valid.sum()) == 3 * 4 + 2 * 3  # 3 views x (3 + mean), 2 x (2 + mean)
    w = torch.linspace(0.5, 1.5, maps.valid.numel()).view(maps.valid.shape) * maps.valid
    fn = MultiViewEnergy(lifter.model.energy, slots.select(maps.rows), maps.owner, maps.A, maps.b, w,
                         slots.select(cands.ref_slot), slots.prepared(maps.rows))
    P = maps.P0 + 0.05 * torch.randn_like(maps.P0)
    value, grad = fn.value_and_grad(P)
    with torch.enable_grad():
        Pg = P.clone().requires_grad_(True)
        ref = fn(Pg)
        (gref,) = torch.autograd.grad(ref.sum(), Pg)
    torch.testing.assert_close(value, ref.detach(), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(grad, gref, rtol=1e-3, atol=1e-4)
    # the state maps onto each view's own canonical start exactly
    views = fn.view_poses(maps.P0)
    assert views.shape == maps.owner.shape + (17, 3) and torch.isfinite(views).all()


def test_a_camera_with_a_wrong_pose_is_down_weighted_and_named(lifter):
    coco, h36 = people(6, seed=5)
    poses = ring(4)
    obs = observe(coco, poses, [CAM] * 4, np.random.default_rng(1), sigma=1.0)
    told = list(poses)
    told[2] = poses[2].perturbed(rotation_deg=5.0)
    fused = lift_multiview(obs, [CAM] * 4, told, lifter)
    excess = np.nanmean(fused.view_energy - fused.single_energy, 0)
    assert int(np.argmax(excess)) == 2, excess
    weakest = np.argmin(fused.view_weight, 1)  # per person; one person may settle with the wrong view instead
    assert np.count_nonzero(weakest == 2) >= 5 and np.median(fused.view_weight[:, 2]) < 0.2, fused.view_weight
    plain = lift_multiview(obs, [CAM] * 4, told, lifter, config=MultiViewConfig(reweight_tau=0.0))
    assert _mpjpe(fused.joints, h36) < _mpjpe(plain.joints, h36)


def test_bad_inputs_are_refused_with_a_reason(lifter):
    coco, _ = people(2)
    poses = ring(2)
    obs = observe(coco, poses, [CAM, CAM])
    with pytest.raises(LiftError, match="one camera and one pose per view"):
        lift_multiview(obs, [CAM], poses, lifter)
    with pytest.raises(LiftError, match="persons"):
        lift_multiview([obs[0], (obs[1][0][:1], obs[1][1][:1])], [CAM, CAM], poses, lifter)
    bad = (obs[1][0].copy(), obs[1][1])
    bad[0][0, 0] = np.nan
    with pytest.raises(LiftError, match="NaN"):
        lift_multiview([obs[0], bad], [CAM, CAM], poses, lifter)
    with pytest.raises(LiftError, match="view_weights"):
        lift_multiview(obs, [CAM, CAM], poses, lifter, view_weights=[1.0, -1.0])
    for noise in (-1.0, [2.0, 2.0, 2.0]):
        with pytest.raises(LiftError, match="keypoint_noise_px"):
            lift_multiview(obs, [CAM, CAM], poses, lifter, keypoint_noise_px=noise)
