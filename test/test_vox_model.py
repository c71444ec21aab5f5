"""Concatenation projection, IGE descent, baseline, losses, checkpoints and the reconstructor API."""
import numpy as np
import pytest
import torch

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.vox.baseline import BaselineConfig, BaselineVoxelModel
from learned_energy_ros.vox.checkpoint import load_model, save_checkpoint
from learned_energy_ros.vox.dataset import ViewConfig, build_samples
from learned_energy_ros.vox.energy import ConcatEnergy, concat_project
from learned_energy_ros.vox.model import IGEConfig, IGEVoxelModel, bce_loss, image_to_tensor, soft_iou_loss
from learned_energy_ros.vox.reconstructor import ReconstructionError, Reconstructor

torch.set_num_threads(1)
TINY = dict(resolution=16, image_size=32, width_mult=0.25, features=8, energy_hidden=8, steps=2)


def test_concat_projection_puts_depth_in_channels_and_pools():
    occ = torch.zeros(1, 8, 8, 8)
    occ[0, 2, 5, 7] = 1.0  # column 2, row 5, depth 7
    img = concat_project(occ, 8)
    assert img.shape == (1, 8, 8, 8) and img[0, 7, 5, 2] == 1 and img.sum() == 1
    pooled = concat_project(occ, 4)
    assert pooled.shape == (1, 8, 4, 4) and pooled[0, 7, 2, 1] == pytest.approx(0.25)
    assert concat_project(occ, 16).shape == (1, 8, 16, 16)


def test_energy_is_per_sample_scalar_with_gradient():
    torch.manual_seed(0)
    energy = ConcatEnergy(16, 8, num_scales=2, hidden=8)
    occ = torch.rand(3, 16, 16, 16, requires_grad=True)
    feats = [torch.randn(3, 8, 16, 16), torch.randn(3, 8, 8, 8)]
    e = energy(occ, feats)
    assert e.shape == (3,)
    (g,) = torch.autograd.grad(e.sum(), occ)
    assert g.shape == occ.shape and g.abs().sum() > 0
    # sample 0's energy does not depend on sample 1's grid
    (g0,) = torch.autograd.grad(energy(occ, feats)[0], occ)
    assert g0[1:].abs().sum() == 0 and g0[0].abs().sum() > 0


@pytest.mark.parametrize("R", [16, 32])
def test_ige_returns_every_iterate_at_any_resolution(R):
    model = IGEVoxelModel(IGEConfig(**{**TINY, "resolution": R})).eval()
    its = model(torch.randn(2, 3, 32, 32), steps=3)
    assert len(its) == 4 and all(x.shape == (2, R, R, R) for x in its)
    assert not torch.allclose(its[0], its[-1])


def test_baseline_shapes_and_resolution_check():
    model = BaselineVoxelModel(BaselineConfig(resolution=16, image_size=32, width_mult=0.25, features=8, latent=8))
    assert model(torch.randn(2, 3, 32, 32))[0].shape == (2, 16, 16, 16)
    with pytest.raises(ValueError):
        BaselineVoxelModel(BaselineConfig(resolution=24))


def test_losses_prefer_the_truth():
    target = torch.zeros(1, 8, 8, 8)
    target[:, 2:5, 2:5, 2:5] = 1
    good, bad = (target * 2 - 1) * 6, -(target * 2 - 1) * 6
    for loss in (bce_loss, soft_iou_loss):
        assert loss(good, target) < 0.05 < loss(bad, target)


def test_unrolled_steps_lower_the_loss_after_a_tiny_procedural_training_run():
    torch.manual_seed(0)
    data = build_samples(None, procedural=12, cfg=ViewConfig(image_size=32, resolution=16), seed=3, cache=False)
    model = IGEVoxelModel(IGEConfig(**{**TINY, "init": "zeros"}))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, y = image_to_tensor(data["images"]), torch.as_tensor(data["occupancy"])
    for _ in range(20):
        its = model(x)
        loss = sum(bce_loss(z, y) for z in its) / len(its)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        losses = [bce_loss(z, y).item() for z in model(x)]
    assert losses[1] < losses[0] and losses[2] < losses[0] - 0.05, losses


def test_checkpoint_round_trip_with_weights_only(tmp_path):
    model = IGEVoxelModel(IGEConfig(**TINY)).eval()
    path = save_checkpoint(tmp_path / "m.pt", "ige", model, ViewConfig(image_size=32, resolution=16), {"note": "t"})
    assert path.with_suffix(".yaml").is_file()
    loaded, view, info = load_model(path)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded(x)[-1], model(x)[-1], atol=1e-6)
    assert view.image_size == 32 and info["training"]["note"] == "t"


def _reconstructor():
    model = IGEVoxelModel(IGEConfig(**TINY)).eval()
    return Reconstructor(model, ViewConfig(image_size=32, resolution=16), torch.device("cpu"), 0.8, 1.2)


def test_reconstruct_gives_frustum_grid_and_points_in_the_optical_frame():
    rec = _reconstructor()
    cam = Camera(np.array([[100.0, 0, 79.5], [0, 100, 59.5], [0, 0, 1]]), [-0.1, 0.01, 0, 0, 0], "plumb_bob", 160, 120)
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    res = rec.reconstruct(image, cam, roi=(40, 20, 80, 80))
    assert res.occupancy.shape == (16, 16, 16) and res.occupancy.dtype == np.float32
    assert np.all((res.occupancy >= 0) & (res.occupancy <= 1)) and res.image.shape == (32, 32, 3)
    pts, prob = res.occupied(threshold=0.0)
    assert pts.shape == (16 ** 3, 3) and prob.shape == (16 ** 3,)
    assert pts[:, 2].min() > 0.8 and pts[:, 2].max() < 1.2
    # the grid centre ray goes through the ROI centre of the raw image
    px = cam.project(res.grid.index_to_points(np.array([[8, 8, 8]])))[0]
    assert abs(px[0] - 80) < 4 and abs(px[1] - 60) < 4


@pytest.mark.parametrize("bad", [np.zeros((0, 0, 3), np.uint8), np.zeros((120, 160, 3), np.float32),
                                 np.zeros((120, 160), np.uint8), np.zeros((60, 80, 3), np.uint8), "not an image"])
def test_bad_images_raise_reconstruction_error(bad):
    with pytest.raises(ReconstructionError):
        _reconstructor().reconstruct(bad, Camera.pinhole(100, 100, 79.5, 59.5, 160, 120))


def test_bad_depth_range_raises():
    with pytest.raises(ReconstructionError):
        _reconstructor().reconstruct(np.zeros((120, 160, 3), np.uint8), Camera.pinhole(100, 100, 79.5, 59.5, 160, 120),
                                     near=2.0, far=1.0)


def test_descent_is_the_core_optimizer_with_one_size_per_step_and_old_checkpoints_load():
    """The voxel descent runs on ``core.unrolled``: step t uses exp(log_step[min(t, T - 1)]); pre-move keys load."""
    torch.manual_seed(0)
    model = IGEVoxelModel(IGEConfig(**TINY)).eval()
    with torch.no_grad():
        model.optimizer.log_step.copy_(torch.tensor([0.3, -0.7]))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        its = model(x, steps=3)
        feats = model.encoder(x)
    logits = its[0]
    for t in range(3):  # the loop the model ran before it used the core optimizer
        z = logits.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(model.energy(torch.sigmoid(z), feats).sum(), z)
        logits = (z - model.optimizer.log_step[min(t, 1)].exp() * g).detach()
        assert torch.equal(logits, its[t + 1])
    legacy = {("log_step" if k == "optimizer.log_step" else k): v for k, v in model.state_dict().items()}
    other = IGEVoxelModel(IGEConfig(**TINY)).eval()
    other.load_state_dict(legacy)
    assert torch.equal(other.optimizer.log_step, model.optimizer.log_step)
