"""IGE pose core: canonical inputs, energies, unrolled optimizer, outer gradients, lifter input checks (no shipped data)."""
import math
import numpy as np

import pytest
import torch

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.unrolled import StepGuard, UnrolledGD, UnrolledMomentum
from learned_energy_ros.core.virtual_camera import DetectorNoise
from learned_energy_ros.pose.canonical import canonicalize, project_canonical, to_camera, to_canonical
from learned_energy_ros.pose.dataset import PoseSampler
from learned_energy_ros.pose.lifter import LiftError, Lifter
from learned_energy_ros.pose.ige_training import MAX_SAMPLE_ERR, MIN_OBSERVED, TrainConfig, descent_loss, targets
from learned_energy_ros.pose.model import IGEPoseModel, LifterConfig
from learned_energy_ros.pose.synthetic import synthetic_clips

torch.manual_seed(0)
TINY = LifterConfig(init_hidden=16, init_blocks=1, energy_hidden=8, energy_outputs=2)


@pytest.fixture(scope="module")
def batch():
    return PoseSampler(synthetic_clips(1, 32), noise=DetectorNoise(sigma_px=1.0), seed=0).sample(12)


def test_canonical_frame_properties(batch):
    can = canonicalize(batch.normalized, batch.scores, 0.1, "coco17")
    assert torch.allclose(can.R @ can.R.transpose(1, 2), torch.eye(3).expand(12, 3, 3), atol=1e-5)
    hips = can.rays_c[:, [11, 12]].mean(1)  # coco17 left_hip, right_hip: their midpoint is the root ray
    assert hips.abs().max() < 1e-3  # perspective: the projected midpoint is not exactly the midpoint ray
    pose, depth = to_canonical(batch.joints_cam, can.R, can.scale)
    assert torch.allclose(to_camera(pose, can.R, depth, can.scale), batch.joints_cam, atol=1e-4)
    # the 3D truth projects onto the observed canonical 2D (1 px noise only)
    proj = project_canonical(pose, can.scale)[:, [4, 1]]  # h36m17 left_hip, right_hip
    assert (proj - can.rays_c[:, [11, 12]]).abs().max() < 0.1


def test_canonical_ignores_missing_joints_and_one_wild_joint(batch):
    xy, sc = batch.normalized.clone(), batch.scores.clone()
    sc[:, 0] = 0.0  # nose missing
    ref = canonicalize(xy, sc)
    xy2 = xy.clone()
    xy2[:, 0] += 5.0
    moved = canonicalize(xy2, sc)
    assert torch.equal(ref.rays_c, moved.rays_c) and torch.equal(ref.scale, moved.scale)
    wild = xy.clone()
    wild[:, 9] += 3.0  # a confident outlier (left wrist) far away
    full, out = canonicalize(xy, batch.scores), canonicalize(wild, batch.scores)
    assert torch.all((out.scale / full.scale - 1).abs() < 0.25)


def test_consistency_energy_ignores_missing_inputs(batch):
    model = IGEPoseModel(TINY)
    sc = batch.scores.clone()
    sc[:, 5] = 0.0  # left shoulder missing
    can = model.canonical(batch.normalized, sc)
    pose = torch.randn(12, 17, 3, requires_grad=True)
    ctx = model.context(can, sc)
    e1 = model.energy(pose, ctx)
    g1 = torch.autograd.grad(e1.sum(), pose)[0]
    ctx.obs = ctx.obs.clone()
    ctx.obs[:, 5] = 7.0  # whatever sits in a masked slot must not matter
    e2 = model.energy(pose, ctx)
    g2 = torch.autograd.grad(e2.sum(), pose)[0]
    assert torch.equal(e1, e2) and torch.equal(g1, g2)
    ctx.obs[:, 6] += 0.5  # a present joint does matter
    assert not torch.equal(model.energy(pose, ctx), e1)


@pytest.mark.parametrize("opt", [UnrolledGD(0.2, clip=10.0, decay=0.9), UnrolledMomentum(0.1, clip=10.0, momentum=0.5)])
def test_unrolled_optimizer_descends_a_quadratic(opt):
    target = torch.randn(4, 5, 3)
    energy = lambda y: ((y - target) ** 2).sum((-1, -2))  # noqa: E731
    iterates = opt(torch.zeros(4, 5, 3), energy, steps=8)
    assert len(iterates) == 9
    values = torch.stack([energy(y) for y in iterates]).detach()
    assert torch.all(values[1:] <= values[:-1] + 1e-6) and torch.all(values[-1] < 0.2 * values[0])


def test_outer_gradients_reach_every_energy_parameter_and_step_size(batch):
    # a small clip threshold keeps clipping active, so its learned threshold gets a gradient too
    model = IGEPoseModel(LifterConfig(**{**TINY.to_dict(), "optimizer": "momentum", "clip": 1e-3}))
    loss, _ = descent_loss(model, batch, steps=3)
    loss.backward()
    for name, p in list(model.energy.named_parameters()) + list(model.optimizer.named_parameters()):
        if name.startswith("temporal"):
            continue  # no history in this batch: the temporal term is zero by definition
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    assert model.optimizer.raw_step.grad.abs() > 0


def test_joint_training_keeps_the_size_head_trained(batch):
    """With the initial net trained through the descent, its size head still gets the |log size error| signal."""
    model = IGEPoseModel(TINY)
    size_w = model.init_net.out.weight
    torch.manual_seed(1)
    plain, _ = descent_loss(model, batch, steps=2)
    plain.backward()
    size_grad_plain = size_w.grad[-1].abs().sum().item()  # the last output row is the log size
    model.zero_grad()
    torch.manual_seed(1)
    joint, _ = descent_loss(model, batch, steps=2, size_weight=0.5)
    joint.backward()
    assert size_grad_plain == 0.0  # the descent's pose loss says nothing about the metric size
    assert size_w.grad[-1].abs().sum() > 0
    can = model.canonical(batch.normalized, batch.scores)
    _, size = model.initial(can, batch.scores)
    tgt = targets(model, batch, can)
    valid = (can.mask.sum(-1) >= MIN_OBSERVED).float()
    expected = ((torch.log(size) - tgt.log_size).abs().clamp(max=MAX_SAMPLE_ERR) * valid).sum() / valid.sum()
    assert torch.isclose(joint - plain, 0.5 * expected, rtol=1e-4, atol=1e-6)


def test_temporal_term_gets_gradient_with_history(batch):
    model = IGEPoseModel(TINY)
    can = model.canonical(batch.normalized, batch.scores)
    pose = targets(model, batch, can).pose
    bent = pose.clone()
    bent[:, 13] += 0.1  # one wrist moved
    ctx = model.context(can, batch.scores, previous=bent, temporal_weight=torch.ones(12))
    temporal = model.energy.temporal
    temporal(pose, ctx).sum().backward()
    assert temporal.raw_weight.grad.abs() > 0 and temporal.raw_tau.grad.abs() > 0
    ctx.temporal_weight = torch.zeros(12)
    assert torch.all(temporal(pose, ctx) == 0)


def test_temporal_term_is_root_relative_and_fades_with_time(batch):
    """A whole-body shift costs nothing (no pull on the distance, so no lag); older history weighs less."""
    model = IGEPoseModel(TINY)
    can = model.canonical(batch.normalized, batch.scores)
    pose = targets(model, batch, can).pose
    temporal = model.energy.temporal
    shifted = model.context(can, batch.scores, previous=pose + torch.tensor([0.3, -0.2, 0.5]), temporal_weight=torch.ones(12))
    assert torch.allclose(temporal(pose, shifted), torch.zeros(12), atol=1e-5)
    bent = pose.clone()
    bent[:, 13] += 0.1
    near = model.context(can, batch.scores, previous=bent, temporal_weight=torch.ones(12))
    near.dt = torch.full((12,), 1 / 60)
    far = model.context(can, batch.scores, previous=bent, temporal_weight=torch.ones(12))
    far.dt = torch.full((12,), 0.5)
    assert torch.all(temporal(pose, near) > temporal(pose, far)) and torch.all(temporal(pose, far) > 0)
    tau = torch.nn.functional.softplus(temporal.raw_tau).item()
    for ctx, dt in ((near, 1 / 60), (far, 0.5)):  # share sigmoid(0) exp(-dt / tau) of the way to the previous pose
        start = temporal.warm_start(pose, ctx)
        moved = 0.1 * 0.5 * math.exp(-dt / tau)
        assert torch.allclose(start[:, 13] - pose[:, 13], torch.full((12, 3), moved), atol=1e-5)
    assert torch.equal(temporal.warm_start(pose, model.context(can, batch.scores)), pose)


@pytest.fixture(scope="module")
def lifter():
    return Lifter(IGEPoseModel(TINY), torch.device("cpu"))


def test_lift_rejects_bad_inputs(lifter):
    cam = Camera.from_fov(60, 640, 480)
    kp, sc = np.full((2, 17, 2), 300.0), np.ones((2, 17))
    bad = kp.copy()
    bad[0, 3, 0] = np.nan
    with pytest.raises(LiftError):
        lifter.lift(bad, sc, cam)
    bad[0, 3, 0] = np.inf
    with pytest.raises(LiftError):
        lifter.lift(bad, sc, cam)
    for args in [(kp[0], sc[0]), (kp, sc[:, :5]), (kp[:, :, :1], sc), (kp[:, :12], sc[:, :12])]:
        with pytest.raises(LiftError):
            lifter.lift(*args, cam)
    with pytest.raises(LiftError):
        lifter.lift(kp, sc, cam, input_skeleton="no_such_layout")
    with pytest.raises(LiftError):
        lifter.lift(kp, sc, cam, steps=-1)
    with pytest.raises(LiftError):
        lifter.lift(kp, np.where(np.arange(17) == 2, np.nan, 1.0)[None].repeat(2, 0), cam)


def test_lift_shapes_empty_missing_nan_and_other_layouts(lifter, batch):
    cam = Camera.from_fov(60, 640, 480)
    kp = cam.normalized_to_pixels(batch.normalized.numpy())
    sc = batch.scores.numpy().copy()
    sc[:, 0] = 0.0
    kp[:, 0] = np.nan  # missing joints may be NaN
    res = lifter.lift(kp, sc, cam, steps=2, hypotheses=3, return_trajectory=True)
    assert res.joints.shape == (12, 17, 3) and res.joints.dtype == np.float32 and np.isfinite(res.joints).all()
    assert res.trajectory.shape == (3, 12, 17, 3) and res.hypotheses.shape == (12, 3, 17, 3)
    assert np.allclose(res.energy, res.hypothesis_energy.min(1))
    empty = lifter.lift(np.zeros((0, 17, 2)), np.zeros((0, 17)), cam)
    assert empty.joints.shape == (0, 17, 3) and empty.energy.shape == (0,)
    from learned_energy_ros.core.skeleton import remap_joints

    kp18, sc18 = remap_joints(np.nan_to_num(kp), sc, "coco17", "coco18")
    res18 = lifter.lift(kp18, sc18, cam, input_skeleton="coco18", steps=2)
    assert np.allclose(res18.joints, lifter.lift(kp, sc, cam, steps=2).joints, atol=1e-4)
    prev = np.full((12, 17, 3), np.nan)
    prev[0] = res.joints[0]
    assert lifter.lift(kp, sc, cam, previous=prev, steps=2).joints.shape == (12, 17, 3)
    with pytest.raises(LiftError):
        lifter.lift(kp, sc, cam, previous=prev[:3])
    with pytest.raises(LiftError):
        lifter.lift(kp, sc, cam, previous=prev, previous_dt=-0.1)


def test_published_energy_leaves_the_temporal_term_out(lifter, batch):
    """A fast mover must not look implausible: the energy is consistency + feasibility only."""
    cam = Camera.from_fov(60, 640, 480)
    kp = cam.normalized_to_pixels(batch.normalized.numpy())
    sc = batch.scores.numpy()
    plain = lifter.lift(kp, sc, cam, steps=0)
    far_away = plain.joints + np.array([0.0, 0.0, 3.0], np.float32) + np.random.default_rng(0).normal(0, 0.2, (12, 17, 3))
    with_history = lifter.lift(kp, sc, cam, previous=far_away, steps=0, temporal_weight=100.0)
    model = lifter.model
    xy, s = batch.normalized, batch.scores
    can = model.canonical(xy, s)
    pose0, _ = model.initial(can, s)
    start = model.energy(pose0, model.context(can, s)).detach().numpy()  # published at full consistency trust
    assert np.allclose(plain.energy, start, rtol=1e-4) and np.allclose(with_history.energy.shape, (12,))
    assert np.all(np.isfinite(with_history.energy)) and with_history.energy.max() < 10 * max(plain.energy.max(), 1.0)
    # The temporal weight scales the temporal term but not the start (any weight > 0 warm-starts the same way):
    # with the term left out, a 1000x larger weight publishes the same energies.
    heavier = lifter.lift(kp, sc, cam, previous=far_away, steps=0, temporal_weight=1e5)
    np.testing.assert_allclose(heavier.joints, with_history.joints, atol=1e-5)
    np.testing.assert_allclose(heavier.energy, with_history.energy, rtol=1e-5)


def test_height_prior_scales_size_and_distance_together(lifter, batch):
    cam = Camera.from_fov(60, 640, 480)
    kp = cam.normalized_to_pixels(batch.normalized.numpy())
    sc = batch.scores.numpy()
    with pytest.raises(LiftError, match="stature"):
        lifter.lift(kp, sc, cam, height_prior=1.9)  # this test checkpoint records no prior
    lifter.metadata["stature"] = [1.7, 0.1]
    try:
        base = lifter.lift(kp, sc, cam, steps=2)
        tall = lifter.lift(kp, sc, cam, steps=2, height_prior=1.87)
        assert np.allclose(tall.joints, base.joints * 1.1, rtol=1e-5)
        assert np.allclose(cam.project(tall.joints), cam.project(base.joints), atol=1e-3)  # same 2D fit
        with pytest.raises(LiftError):
            lifter.lift(kp, sc, cam, height_prior=7.0)
    finally:
        lifter.metadata["stature"] = None


def test_keypoint_noise_lowers_the_trust_in_small_people(lifter, batch):
    """The same 2D noise in pixels says less about a person a few pixels tall: the descent follows it less."""
    model = lifter.model
    can = model.canonical(batch.normalized, batch.scores)
    assert model.trust(can, None) is None
    trust = model.trust(can, 0.01)
    assert torch.all((trust > 0) & (trust < 1))
    assert torch.all(model.trust(can, 0.02) < trust)  # noisier: less trust
    bigger = can.scale.argmax()
    assert trust[bigger] == trust.max()  # larger in the image: more trust
    tiny = Camera.from_fov(120, 640, 480)  # a wide lens: these people are ~10-40 px tall
    kp = tiny.normalized_to_pixels(batch.normalized.numpy())
    sc = batch.scores.numpy()
    start = lifter.lift(kp, sc, tiny, steps=0).joints
    moved = {px: np.abs(lifter.lift(kp, sc, tiny, steps=4, keypoint_noise_px=px).joints - start).mean()
             for px in (0.0, 2.0, 50.0)}
    assert moved[0.0] > moved[2.0] > moved[50.0]
    # The published energy is the plausibility at full trust: the same start scores the same whatever the noise
    np.testing.assert_allclose(lifter.lift(kp, sc, tiny, steps=0, keypoint_noise_px=50.0).energy,
                               lifter.lift(kp, sc, tiny, steps=0, keypoint_noise_px=0.0).energy, rtol=1e-5)
    for bad in (-1.0, float("nan"), [1.0, 2.0]):
        with pytest.raises(LiftError, match="keypoint_noise_px"):
            lifter.lift(kp, sc, tiny, keypoint_noise_px=bad)
    with pytest.raises(LiftError, match="keypoint_noise"):
        lifter.lift_normalized(batch.normalized.numpy(), sc, keypoint_noise=-0.01)


def test_train_config_round_trip():
    cfg = TrainConfig.from_dict({"init_iters": 5, "lifter": {"energy_hidden": 32}, "train_steps": [2, 3], "junk": 1})
    assert cfg.init_iters == 5 and cfg.lifter.energy_hidden == 32 and cfg.train_steps == (2, 3)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_closed_form_energy_gradient_matches_autograd(batch):
    from learned_energy_ros.pose.energy_grad import energy_and_grad

    model = IGEPoseModel(LifterConfig(energy_hidden=16, energy_outputs=3))
    sc = batch.scores.clone()
    sc[:, 2] = 0.0
    can = model.canonical(batch.normalized, sc)
    pose = (targets(model, batch, can).pose + 0.1 * torch.randn(12, 17, 3)).double().requires_grad_(True)
    model.double()
    ctx = model.context(can, sc.double(), previous=torch.randn(12, 17, 3).double(), temporal_weight=torch.rand(12).double())
    ctx.dt = torch.rand(12).double() * 0.2
    ctx.obs, ctx.scale = ctx.obs.double(), ctx.scale.double()
    ctx.trust = 0.1 + torch.rand(12).double()  # per-person consistency weights
    value = model.energy(pose, ctx)
    grad = torch.autograd.grad(value.sum(), pose)[0]
    v2, g2 = energy_and_grad(model.energy, pose.detach(), ctx)
    assert torch.allclose(value, v2, rtol=1e-9) and torch.allclose(grad, g2, rtol=1e-7, atol=1e-9)


def test_training_run_writes_a_loadable_checkpoint_and_resumes(tmp_path):
    import yaml

    from learned_energy_ros.pose.lifter import load_lifter
    from learned_energy_ros.pose.train_cli import run

    clips = synthetic_clips(1, 16)
    cfg = TrainConfig(init_iters=3, energy_iters=2, batch_size=8, val_samples=8, train_steps=(1, 2), lifter=TINY)
    meta = run(cfg, clips, clips, tmp_path)
    ck = torch.load(tmp_path / "lifter.pt", weights_only=True)
    assert set(ck) >= {"weights", "model_args", "config", "skeletons", "metadata"} and "optimizer" not in ck
    assert ck["skeletons"]["output_joints"][0] == "pelvis" and set(meta["val_2px"]) == {"0", "1", "2", "4", "8", "16"}
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["lifter"]["energy_hidden"] == TINY.energy_hidden
    lifter = load_lifter(tmp_path / "lifter.pt", device="cpu")
    assert lifter.metadata["method"] == "ige" and lifter.num_steps == TINY.default_steps
    before = {k: v.clone() for k, v in lifter.model.state_dict().items()}
    cfg.energy_iters = 3  # resume: one more energy iteration from last.pt
    run(cfg, clips, clips, tmp_path, resume=True)
    after = torch.load(tmp_path / "lifter.pt", weights_only=True)["weights"]
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("init_net"))  # frozen in stage 2
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("energy"))


def _closed_form_matches_autograd(model, pose, ctx) -> bool:
    from learned_energy_ros.pose.energy_grad import energy_and_grad

    with torch.no_grad():
        value, grad = energy_and_grad(model.energy, pose, ctx)
    p = pose.detach().requires_grad_(True)
    ref = model.energy(p, ctx)
    g_ref = torch.autograd.grad(ref.sum(), p)[0]
    return torch.allclose(value, ref, rtol=1e-4, atol=1e-4) and torch.allclose(grad, g_ref, rtol=1e-3, atol=1e-4)


def test_closed_form_constants_follow_weight_changes(batch):
    """The weight-derived matrices are cached on the energy; every way weights change must invalidate them."""
    model = IGEPoseModel(LifterConfig(energy_hidden=16, energy_outputs=3)).eval()
    can = model.canonical(batch.normalized, batch.scores)
    ctx = model.context(can, batch.scores)
    pose = targets(model, batch, can).pose + 0.1 * torch.randn(12, 17, 3)
    assert _closed_form_matches_autograd(model, pose, ctx) and model.energy.closed_form_cache is not None
    # an optimizer step (the model left in eval mode, so no train()/eval() transition helps)
    opt = torch.optim.SGD(model.energy.parameters(), lr=0.5)
    model.energy(pose, ctx).sum().backward()
    opt.step()
    assert _closed_form_matches_autograd(model, pose, ctx)
    # load_state_dict of other weights, through the parent model
    other = IGEPoseModel(LifterConfig(energy_hidden=16, energy_outputs=3)).state_dict()
    model.load_state_dict(other)
    assert model.energy.closed_form_cache is None and _closed_form_matches_autograd(model, pose, ctx)
    # a hand edit in place is the caller's to announce
    with torch.no_grad():
        model.energy.consistency.mlp.hidden.weight.mul_(2.0)
        model.energy.feasibility.mlp.hidden.weight.add_(0.3)
    model.energy.invalidate_cache()
    assert _closed_form_matches_autograd(model, pose, ctx)
    model.train()
    assert model.energy.closed_form_cache is None


def test_step_horizon_guard_freezes_iterates_past_the_horizon(batch):
    model = IGEPoseModel(TINY).eval()
    can = model.canonical(batch.normalized, batch.scores)
    pose0, _ = model.initial(can, batch.scores)
    ctx = model.context(can, batch.scores)
    assert model.optimizer.guard == StepGuard(TINY.default_steps, 0.0)  # config default: guard at the default steps
    free = model.descend(pose0.detach(), ctx, 5, guard=None)
    guarded = model.descend(pose0.detach(), ctx, 5, guard=StepGuard(2, 0.0))
    assert torch.equal(guarded[2], free[2]) and not torch.equal(free[5], free[2])
    assert all(torch.equal(g, guarded[2]) for g in guarded[3:])
    tail = model.descend(pose0.detach(), ctx, 5, guard=StepGuard(2, 0.5))  # a geometric tail keeps moving, less
    assert 0 < (tail[5] - tail[2]).abs().sum() < (free[5] - free[2]).abs().sum()


def test_per_sample_clip_is_one_function_for_training_and_inference():
    from learned_energy_ros.core.unrolled import clip_per_sample

    grad = torch.randn(5, 17, 3) * torch.tensor([0.1, 1.0, 3.0, 10.0, 0.0])[:, None, None]
    opt = UnrolledGD(clip=2.0)
    trained = opt.clip_grad(grad)  # learned threshold as a tensor (training path)
    fixed = clip_per_sample(grad, opt.inference_constants(1)["clip"])  # the same threshold as a float
    assert torch.equal(trained, fixed)
    norms = trained.flatten(1).norm(dim=1)
    assert torch.all(norms <= 2.0 + 1e-5) and torch.equal(trained[0], grad[0])  # under the threshold: untouched
