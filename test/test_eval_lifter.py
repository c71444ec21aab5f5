"""eval-lifter end to end on tiny generated clips with tiny, quickly trained models."""
import json

import pytest
import torch

from learned_energy_ros.pose import eval_cli as evaluate
from learned_energy_ros.pose.baselines import train_baseline
from learned_energy_ros.pose.model import IGEPoseModel, LifterConfig
from learned_energy_ros.pose.synthetic import synthetic_clips

TINY = dict(iterations=20, batch_size=32, val_samples=16, val_every=10, norm_samples=128, pool_samples=256, threads=1)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("eval")
    train, val = synthetic_clips(2, 40, seed=0), synthetic_clips(1, 40, seed=1)
    train_baseline("martinez-norm-32x1", train, val, TINY, out / "baselines")
    train_baseline("martinez-px-32x1", train, val, TINY, out / "baselines")
    model = IGEPoseModel(LifterConfig(init_hidden=32, init_blocks=1, energy_hidden=16))
    torch.save({"weights": model.state_dict(), "model_args": model.model_args(), "metadata": {"method": "ige"}},
               out / "ige.pt")
    return out, val


def test_eval_lifter_cli_writes_json(setup, monkeypatch, capsys):
    out, val = setup
    monkeypatch.setattr("learned_energy_ros.data.mocap.load_mocap_dir", lambda *a, **k: val)
    argv = ["--data", "tiny", "--checkpoint", str(out / "ige.pt"), "--baselines", str(out / "baselines"),
            "--samples", "12", "--steps", "0,2", "--json", str(out / "res.json"), "--threads", "1"]
    assert evaluate.main(argv) == 0
    result = json.loads((out / "res.json").read_text())
    names = [r["method"] for r in result["rows"]]
    assert names == ["ige-0step", "ige-2step", "martinez-norm-32x1", "martinez-px-32x1", "reprojection(ige-init)"]
    for row in result["rows"]:
        assert row["n"] == 12 and row["params"] > 0 and row["flops"] > 0
        for key in ("mpjpe", "p_mpjpe", "n_mpjpe", "abs_error", "root_depth_pct"):
            assert row[key] >= 0 and row[key] == row[key]  # finite, not NaN
        assert row["p_mpjpe"] <= row["mpjpe"] + 1e-6  # Procrustes can only help
    rows = {r["method"]: r for r in result["rows"]}
    # More IGE steps run the energy gradient: more FLOPs, same parameters.
    assert rows["ige-2step"]["flops"] > rows["ige-0step"]["flops"]
    assert rows["ige-2step"]["params"] == rows["ige-0step"]["params"]
    # The reprojection fit starts from IGE's initial net, so it counts the same parameters.
    assert rows["reprojection(ige-init)"]["params"] == rows["ige-0step"]["params"]
    printed = capsys.readouterr().out
    assert "martinez-px-32x1" in printed and "MPJPE" in printed


def test_eval_is_seeded_and_protocol_changes_cameras(setup):
    out, val = setup
    args = evaluate._parser().parse_args(["--data", "x", "--checkpoint", "none", "--baselines",
                                          str(out / "baselines" / "martinez_norm_32x1.pt"), "--samples", "8"])
    a = evaluate.run(args, val)["rows"][0]
    b = evaluate.run(args, val)["rows"][0]
    assert a["mpjpe"] == b["mpjpe"]
    args.protocol = "unseen-camera"
    c = evaluate.run(args, val)["rows"][0]
    assert c["abs_error"] != a["abs_error"]


def test_conditions_and_bad_protocol():
    from learned_energy_ros.core.virtual_camera import CameraRanges

    _, missing = evaluate.protocol_inputs("standard", "missing", 2.0)
    assert missing.limb_dropout_prob == 1.0 and missing.sigma_px == 2.0
    ranges, noisy = evaluate.protocol_inputs("unseen-camera", "noisy", 2.0)
    assert noisy.sigma_px == 8.0 and ranges == CameraRanges.unseen()
    with pytest.raises(ValueError):
        evaluate.protocol_inputs("lab", "clean", 2.0)


def test_eval_lifter_views_reproduces_the_multiview_table(setup, monkeypatch, capsys):
    out, val = setup
    monkeypatch.setattr("learned_energy_ros.data.mocap.load_mocap_dir", lambda *a, **k: val)
    argv = ["--data", "tiny", "--views", "3", "--view-condition", "bad-rotation", "--samples", "6",
            "--json", str(out / "views.json"), "--threads", "1"]
    assert evaluate.main(argv) == 0
    result = json.loads((out / "views.json").read_text())
    assert result["views"] == 3 and result["samples"] == 6 and result["condition"] == "bad-rotation"
    assert set(result["rows"]) == {"single (mean over cameras)", "best single view (oracle, per sample)",
                                   "fused (IGE, summed energies)", "triangulation (RANSAC + DLT)"}
    for row in result["rows"].values():
        assert all(row[k] >= 0 for k in ("mpjpe", "p_mpjpe", "root_abs"))
    assert len(result["diagnostics"]["mean_excess"]) == 3
    assert "fused (IGE, summed energies)" in capsys.readouterr().out


def test_eval_lifter_refuses_an_ige_checkpoint_as_a_baseline_and_takes_none(setup, monkeypatch, capsys):
    out, val = setup
    monkeypatch.setattr("learned_energy_ros.data.mocap.load_mocap_dir", lambda *a, **k: val)
    ige = torch.load(out / "ige.pt", weights_only=True)
    torch.save({**ige, "format": "learned_energy_ros.ige_lifter/1"}, out / "ige_fmt.pt")
    common = ["--data", "tiny", "--checkpoint", str(out / "ige.pt"), "--samples", "8", "--steps", "0", "--threads", "1"]
    assert evaluate.main(common + ["--baselines", str(out / "ige_fmt.pt")]) == 2
    err = capsys.readouterr().err
    assert "is not a baseline checkpoint" in err and "--checkpoint" in err
    assert evaluate.main(common + ["--baselines", "none", "--json", str(out / "none.json")]) == 0
    assert [r["method"] for r in json.loads((out / "none.json").read_text())["rows"]] == ["ige-0step"]
