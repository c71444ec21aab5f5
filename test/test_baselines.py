"""Baselines run end to end on tiny generated data; FLOP counting; geometry helpers."""
import pytest
import torch

from learned_energy_ros.core.flops import count_flops, count_params, flops_per_sample
from learned_energy_ros.core.metrics import mpjpe
from learned_energy_ros.pose.baselines import BaselineError, checkpoint_name, load_baseline, train_baseline
from learned_energy_ros.pose.baselines.features import anchor_and_size, decode_outputs, encode_targets
from learned_energy_ros.pose.baselines.gan_prior import _rotation, canonical_poses, clip_poses
from learned_energy_ros.pose.baselines.martinez import MartinezArgs, MartinezLifter, parse_method
from learned_energy_ros.pose.baselines.reprojection import ReprojectionFit, observed_pairs, reprojection_energy
from learned_energy_ros.pose.dataset import fixed_eval_set
from learned_energy_ros.pose.synthetic import synthetic_clips

TINY = dict(iterations=40, batch_size=32, val_samples=32, val_every=20, norm_samples=256, pool_samples=512, threads=1,
            seed=0)


@pytest.fixture(scope="module")
def clips():
    torch.set_num_threads(1)
    return synthetic_clips(2, 48, seed=0), synthetic_clips(1, 48, seed=1)


@pytest.fixture(scope="module")
def eval_batch(clips):
    return fixed_eval_set(clips[1], 16, seed=3)


def test_parse_method_names():
    assert parse_method("martinez-px") == MartinezArgs(input_mode="px", width=1024, blocks=2)
    a = parse_method("martinez-norm-256x1")
    assert (a.input_mode, a.width, a.blocks) == ("norm", 256, 1)
    assert checkpoint_name("martinez-norm-256x1") == "martinez_norm_256x1.pt"
    for bad in ("martinez", "martinez-rgb-1x1", "martinez-px-abc", "martinez-px-0x1"):
        with pytest.raises(BaselineError):
            parse_method(bad)


def test_encode_decode_round_trip(eval_batch):
    anchor, size = anchor_and_size(eval_batch.normalized, eval_batch.scores, eval_batch.input_skeleton)
    rel, log_z, offset = encode_targets(eval_batch.joints_cam, anchor, size)
    back = decode_outputs(rel, log_z, offset, anchor, size)
    torch.testing.assert_close(back, eval_batch.joints_cam, atol=1e-4, rtol=1e-4)


def test_anchor_ignores_missing_joint_values(eval_batch):
    b = eval_batch
    scores = b.scores.clone()
    scores[:, 0] = 0.0  # nose missing
    moved = b.normalized.clone()
    moved[:, 0] += 5.0
    a1, s1 = anchor_and_size(b.normalized, scores, b.input_skeleton)
    a2, s2 = anchor_and_size(moved, scores, b.input_skeleton)
    torch.testing.assert_close(a1, a2)
    torch.testing.assert_close(s1, s2)


@pytest.mark.parametrize("method", ["martinez-norm-32x1", "martinez-px-32x1"])
def test_martinez_trains_saves_loads_predicts(tmp_path, clips, eval_batch, method):
    path = train_baseline(method, *clips, TINY, tmp_path)
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["method"] == method and ckpt["model_args"]["width"] == 32 and ckpt["metadata"]["iterations"] == 40
    model = load_baseline(path, "cpu")
    pred = model.predict(eval_batch)
    assert pred.shape == (16, 17, 3) and torch.isfinite(pred).all()
    assert (pred[..., 2] > 0).all()  # in front of the camera
    # Missing joints must not leak their (garbage) coordinates into the prediction.
    b = eval_batch.index(torch.arange(4))
    b.scores[:, 9] = 0.0
    moved = b.index(torch.arange(4))
    moved.keypoints_px[:, 9] += 300.0
    moved.normalized[:, 9] += 0.5
    torch.testing.assert_close(model.predict(b), model.predict(moved))


def test_martinez_wrong_skeleton_and_nan_raise(clips, eval_batch):
    model = MartinezLifter(MartinezArgs(width=16, blocks=1))
    bad = eval_batch.index(torch.arange(2))
    bad.normalized[0, 5] = float("nan")
    with pytest.raises(BaselineError):
        model.predict(bad)
    other = eval_batch.index(torch.arange(2))
    other.input_skeleton = "body25"  # a label that does not match the 17 joints held
    with pytest.raises(BaselineError):
        model.predict(other)


def test_martinez_takes_other_layouts_by_joint_name(eval_batch):
    """A body13 batch reaches a coco17 Martinez as coco17 with the face missing (and the pelvis dropped)."""
    model = MartinezLifter(MartinezArgs(width=16, blocks=1)).eval()
    coco = eval_batch.index(torch.arange(4))
    body = coco.remap("body13")
    assert body.input_skeleton == "body13" and body.scores.shape == (4, 13)
    no_face = coco.remap("body13").remap("coco17")
    assert (no_face.scores[:, :5] == 0).all() and torch.equal(no_face.scores[:, 5:], coco.scores[:, 5:])
    torch.testing.assert_close(model.predict(body), model.predict(no_face))


def test_martinez_fits_a_fixed_batch(clips):
    from learned_energy_ros.pose.dataset import PoseSampler

    torch.manual_seed(0)
    model = MartinezLifter(MartinezArgs(width=64, blocks=1, dropout=0.0))
    batch = PoseSampler(clips[0], seed=0).sample(64)
    model.fit_normalization(batch)
    before = float(mpjpe(model.predict(batch), batch.joints_cam).mean())
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = model.loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = float(mpjpe(model.predict(batch), batch.joints_cam).mean())
    assert after < 0.5 * before


@pytest.mark.parametrize("loss", ["joint", "paper"])
def test_martinez_loss_weighs_only_the_focus_joints(clips, loss):
    """With ``other_weight`` 0 the loss has no gradient through the non-focus joints' outputs; 1 has."""
    from learned_energy_ros.core.metrics import STANDARD13_JOINTS
    from learned_energy_ros.core.skeleton import TRAINING_SKELETON, get_skeleton
    from learned_energy_ros.pose.dataset import PoseSampler

    torch.manual_seed(0)
    batch = PoseSampler(clips[0], seed=0).sample(16)
    other = [i for i, name in enumerate(get_skeleton(TRAINING_SKELETON).joints) if name not in STANDARD13_JOINTS]
    assert other  # spine, thorax, neck, head
    grads = {}
    for weight in (0.0, 1.0):
        model = MartinezLifter(MartinezArgs(width=32, blocks=1, dropout=0.0, loss=loss, focus_joints=STANDARD13_JOINTS,
                                            other_weight=weight))
        model.fit_normalization(batch)
        model.eval()  # no dropout / batch statistics: the output bias gradient is exact
        model.loss(batch).backward()
        last = [m for m in model.net.modules() if isinstance(m, torch.nn.Linear)][-1]
        grads[weight] = last.bias.grad[: 17 * 3].reshape(17, 3)[other].abs().max().item()
    assert grads[0.0] == 0.0 and grads[1.0] > 0.0


@pytest.mark.parametrize("loss", ["joint", "paper"])
def test_martinez_placement_weight_zero_trains_the_relative_joints_only(clips, loss):
    """``placement_weight`` 0 (the paper's output): no gradient reaches the pelvis depth and offset outputs."""
    from learned_energy_ros.pose.dataset import PoseSampler

    torch.manual_seed(0)
    batch = PoseSampler(clips[0], seed=0).sample(16)
    grads = {}
    for weight in (0.0, 1.0):
        model = MartinezLifter(MartinezArgs(width=32, blocks=1, dropout=0.0, loss=loss, placement_weight=weight))
        model.fit_normalization(batch)
        model.eval()
        model.loss(batch).backward()
        last = [m for m in model.net.modules() if isinstance(m, torch.nn.Linear)][-1]
        grads[weight] = (last.bias.grad[17 * 3:].abs().max().item(), last.bias.grad[: 17 * 3].abs().max().item())
    assert grads[0.0][0] == 0.0 and grads[1.0][0] > 0.0  # depth and offset: trained only with the placement terms
    assert grads[0.0][1] > 0.0  # the joints are trained either way


def test_martinez_rejects_unknown_loss_and_focus_joint(clips):
    from learned_energy_ros.pose.dataset import PoseSampler

    batch = PoseSampler(clips[0], seed=0).sample(8)
    with pytest.raises(BaselineError, match="unknown Martinez loss"):
        MartinezLifter(MartinezArgs(width=8, blocks=0, loss="l7")).loss(batch)
    with pytest.raises(BaselineError, match="focus_joints"):
        MartinezLifter(MartinezArgs(width=8, blocks=0, focus_joints=("tail",))).loss(batch)
    with pytest.raises(BaselineError, match="martinez_focus"):
        train_baseline("martinez-norm-8x1", *clips, config=dict(TINY, martinez_focus="face"))


def test_reprojection_fit_lowers_reprojection_energy(eval_batch):
    # Start from the truth pushed 0.3 m sideways: the fit must pull the 2D back onto the observations.
    init = lambda b: b.joints_cam + torch.tensor([0.3, 0.0, 0.0])  # noqa: E731
    fit = ReprojectionFit(init, steps=60, lr=0.01)
    out_idx, in_idx = observed_pairs(eval_batch.input_skeleton)
    _, size = anchor_and_size(eval_batch.normalized, eval_batch.scores, eval_batch.input_skeleton)
    e0 = reprojection_energy(init(eval_batch), eval_batch, out_idx, in_idx, size).mean()
    e1 = reprojection_energy(fit.predict(eval_batch), eval_batch, out_idx, in_idx, size).mean()
    assert e1 < 0.2 * e0
    assert len(out_idx) == 12  # coco17 shares limbs and hips with h36m17


def test_gan_prior_trains_and_fits(tmp_path, clips, eval_batch):
    path = train_baseline("gan-prior", *clips, dict(TINY, iterations=10), tmp_path)
    model = load_baseline(path, "cpu")
    model.args.steps, model.args.starts = 20, 4
    pred = model.predict(eval_batch.index(torch.arange(4)))
    assert pred.shape == (4, 17, 3) and torch.isfinite(pred).all()
    assert 0.3 < float(model.scale_mean) < 0.8  # RMS joint distance to the pelvis of a human, meters


def test_canonical_poses_face_minus_z_unit_scale(clips):
    poses, scales = canonical_poses(clip_poses(clips[0]))
    rms = poses.__pow__(2).sum(-1).mean(-1) ** 0.5
    assert abs(rms - 1).max() < 1e-6 and (scales > 0.2).all()
    left_hip, right_hip, head = poses[:, 4], poses[:, 1], poses[:, 10]
    assert (left_hip[:, 0] > right_hip[:, 0]).all()  # the person's left is +x
    assert (head[:, 1] < 0).all()  # head above the pelvis: y is down


def test_rotation_is_orthonormal():
    R = _rotation(torch.tensor([0.3, 2.0]), torch.tensor([0.1, -0.2]), torch.tensor([0.05, 0.0]))
    torch.testing.assert_close(R @ R.transpose(-1, -2), torch.eye(3).expand(2, 3, 3), atol=1e-6, rtol=0)


def test_config_from_train_lifter_mapping():
    from learned_energy_ros.pose.baselines import BaselineConfig

    cfg = BaselineConfig.from_dict({"seed": 3, "lifter": {"init_hidden": 8}, "baseline": {"iterations": 7}})
    assert (cfg.seed, cfg.iterations, cfg.cameras) == (3, 7, "broad")


def test_unknown_method_raises(clips):
    with pytest.raises(BaselineError):
        train_baseline("bogus", *clips, TINY, None)
    with pytest.raises(BaselineError):
        load_baseline("martinez-norm-7x7", "cpu")


def test_flop_counter_positive_and_scales_with_width(eval_batch):
    small = MartinezLifter(MartinezArgs(width=64, blocks=1)).eval()
    big = MartinezLifter(MartinezArgs(width=256, blocks=1)).eval()
    f_small = flops_per_sample(small.predict, eval_batch)
    f_big = flops_per_sample(big.predict, eval_batch)
    assert f_small > 0
    # Hidden matmul cost grows with width²: 4x width gives well over 4x FLOPs.
    assert f_big > 6 * f_small
    assert count_params(big) > count_params(small) > 0
    # A 1024x2 Martinez has about 4M parameters, as in the paper.
    assert 3.5e6 < count_params(MartinezLifter(MartinezArgs())) < 5e6
    # Inner autograd is counted too (the reprojection fit runs backward passes).
    x = torch.randn(8, 32, requires_grad=True)
    w = torch.randn(32, 32)
    fwd = count_flops(lambda: x @ w)
    both = count_flops(lambda: torch.autograd.grad((x @ w).sum(), x))
    assert both > fwd > 0


@pytest.mark.parametrize("name", ["martinez-norm-256x1", "martinez-px-256x1", "martinez-norm-512x2", "gan-prior"])
def test_shipped_checkpoints_load_and_lift(name, eval_batch):
    from learned_energy_ros.pose.baselines import checkpoint_name, models_dir

    if not (models_dir() / checkpoint_name(name)).exists():
        pytest.skip(f"{checkpoint_name(name)} not shipped")
    assert (models_dir() / checkpoint_name(name)).stat().st_size < 5e6
    model = load_baseline(name, "cpu")
    if name == "gan-prior":
        model.args.steps = 30
    pred = model.predict(eval_batch.index(torch.arange(4)))
    assert pred.shape == (4, 17, 3) and torch.isfinite(pred).all() and (pred[..., 2] > 0).all()


def test_shipped_martinez_accuracy_on_real_val():
    from learned_energy_ros.data.paths import shared_data
    from learned_energy_ros.pose.baselines import models_dir

    root = shared_data("cmu_mocap")
    if root is None or not (models_dir() / "martinez_norm_256x1.pt").exists():
        pytest.skip("needs ../shared/data/cmu_mocap and the shipped martinez_norm_256x1.pt")
    from learned_energy_ros.data.mocap import load_mocap_dir

    batch = fixed_eval_set(load_mocap_dir(root / "val", progress=False), 128, seed=0)
    err = mpjpe(load_baseline("martinez-norm-256x1", "cpu").predict(batch), batch.joints_cam).mean()
    assert float(err) < 110.0  # measured 84 mm on 1000 samples (docs/benchmarks/pose.md)
