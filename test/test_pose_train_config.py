"""TrainConfig's camera preset and learning-rate decay are honoured by the lifter training loop."""
import pytest
import torch

from learned_energy_ros.core.virtual_camera import CameraRanges
from learned_energy_ros.pose import train_cli as train_mod
from learned_energy_ros.pose.model import IGEPoseModel, LifterConfig
from learned_energy_ros.pose.synthetic import synthetic_clips
from learned_energy_ros.pose.ige_training import TrainConfig, camera_ranges, train_stage

TINY = LifterConfig(init_hidden=16, init_blocks=1, energy_hidden=8, energy_outputs=2)


def test_camera_presets_and_bad_names():
    assert camera_ranges("narrow") == CameraRanges.narrow() != CameraRanges.broad()
    cfg = TrainConfig.from_dict({"cameras": "narrow"})
    assert cfg.cameras == "narrow" and TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert TrainConfig().cameras == "broad"
    with pytest.raises(ValueError, match="camera preset"):
        TrainConfig.from_dict({"cameras": "fisheye-lab"})


def test_training_samples_and_validates_with_the_configured_cameras(tmp_path, monkeypatch):
    seen = []
    real_sampler, real_eval = train_mod.PoseSampler, train_mod.fixed_eval_set

    def sampler(clips, ranges, *a, **kw):
        seen.append(("train", ranges))
        return real_sampler(clips, ranges, *a, **kw)

    def eval_set(clips, n, ranges, *a, **kw):
        seen.append(("val", ranges))
        return real_eval(clips, n, ranges, *a, **kw)

    monkeypatch.setattr(train_mod, "PoseSampler", sampler)
    monkeypatch.setattr(train_mod, "fixed_eval_set", eval_set)
    clips = synthetic_clips(1, 16)
    cfg = TrainConfig(init_iters=2, energy_iters=1, batch_size=8, val_samples=8, train_steps=(1, 1), lifter=TINY,
                      cameras="narrow")
    train_mod.run(cfg, clips, clips, tmp_path)
    assert seen == [("train", CameraRanges.narrow()), ("val", CameraRanges.narrow())]
    saved = torch.load(tmp_path / "lifter.pt", weights_only=True)["config"]
    assert saved["cameras"] == "narrow"


def test_cli_override_of_cameras(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("cameras: broad\ninit_iters: 7\n")
    args = train_mod._parser().parse_args(["--data", "x", "--out", "y", "--config", str(cfg_file), "--cameras", "narrow"])
    cfg = train_mod.resolve_config(args)
    assert cfg.cameras == "narrow" and cfg.init_iters == 7
    args = train_mod._parser().parse_args(["--data", "x", "--out", "y", "--cameras", "wide"])
    with pytest.raises(ValueError):
        train_mod.resolve_config(args)


@pytest.mark.parametrize("lr_final", [1.0, 0.1])
def test_train_stage_decays_the_learning_rate(lr_final):
    from learned_energy_ros.pose.dataset import PoseSampler

    model = IGEPoseModel(TINY)
    opt = torch.optim.Adam(model.init_net.parameters(), lr=1e-3)
    lrs = []

    def loss_fn(batch, it):
        lrs.append(opt.param_groups[0]["lr"])
        pose, _ = model.initial(model.canonical(batch.normalized, batch.scores), batch.scores)
        return pose.square().mean(), {}

    train_stage(model, PoseSampler(synthetic_clips(1, 16), seed=0), opt, 10, loss_fn, "t", 4, lr_final=lr_final)
    assert lrs[0] == pytest.approx(1e-3)
    assert lrs[-1] == pytest.approx(1e-3 * lr_final ** 0.9)
    assert all(b <= a for a, b in zip(lrs, lrs[1:]))


def test_restart_stage_trains_the_energy_on_an_ablations_initial_net(tmp_path):
    """The shipped pair's recipe: IGE's energy stage restarted on an init-only run's weights keeps that initial net
    exactly, starts the energy at iteration 0 and keeps every second already spent in its metadata."""
    clips = synthetic_clips(1, 16)
    abl = TrainConfig(method="init-only", init_iters=2, init_only_extra_iters=2, batch_size=8, val_samples=8,
                      train_steps=(1, 1), lifter=TINY)
    train_mod.run(abl, clips, [], tmp_path)
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    assert last["metadata"]["progress"]["stage"] == "init-extra"
    spent = last["metadata"]["progress"]["seconds"]["init"]
    assert spent > 0
    ige = TrainConfig(method="ige", init_iters=2, energy_iters=2, batch_size=8, val_samples=8, train_steps=(1, 1),
                      lifter=TINY)
    meta = train_mod.run(ige, clips, [], tmp_path, resume=True, restart_stage="energy")
    done = torch.load(tmp_path / "lifter.pt", weights_only=True)
    init_keys = [k for k in last["weights"] if k.startswith("init_net.")]
    assert init_keys and all(torch.equal(done["weights"][k], last["weights"][k]) for k in init_keys)
    energy_keys = [k for k in last["weights"] if k.startswith("energy.") and last["weights"][k].is_floating_point()]
    assert any(not torch.equal(done["weights"][k], last["weights"][k]) for k in energy_keys)
    assert meta["progress"]["seconds"]["init"] == pytest.approx(spent)
    assert meta["progress"]["seconds"]["energy"] > 0 and meta["train_seconds"] > spent


def test_restart_stage_needs_a_checkpoint_to_resume(tmp_path):
    with pytest.raises(SystemExit, match="--resume"):
        train_mod.run(TrainConfig(lifter=TINY), [], [], tmp_path, restart_stage="energy")


def test_restart_stage_refuses_a_stage_the_method_does_not_have(tmp_path):
    """A stage the method never runs would otherwise skip straight to the end and write an untrained model."""
    torch.save({}, tmp_path / "last.pt")
    with pytest.raises(SystemExit, match="not a stage of method 'ige'"):
        train_mod.run(TrainConfig(method="ige", lifter=TINY), [], [], tmp_path, resume=True, restart_stage="init-extra")
    with pytest.raises(SystemExit, match="not a stage of method 'init-only'"):
        train_mod.run(TrainConfig(method="init-only", lifter=TINY), [], [], tmp_path, resume=True, restart_stage="energy")
