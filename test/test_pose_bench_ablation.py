"""Init-only ablation recipe (stage 1 shared with IGE, then its own extra stage) and the pose benchmarks' --merge."""
import importlib.util
from pathlib import Path

import pytest
import torch

from learned_energy_ros.pose.model import LifterConfig
from learned_energy_ros.pose.synthetic import synthetic_clips
from learned_energy_ros.pose.train_cli import run
from learned_energy_ros.pose.ige_training import TrainConfig

TINY = dict(init_hidden=16, init_blocks=1, energy_hidden=8, energy_outputs=2)


def _common():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "_pose_common.py"
    spec = importlib.util.spec_from_file_location("_pose_common", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _cfg(method: str, extra: int) -> TrainConfig:
    return TrainConfig(method=method, init_iters=4, energy_iters=2, init_only_extra_iters=extra, batch_size=8,
                       val_samples=8, train_steps=(1, 2), lr_final=0.1, lifter=LifterConfig(**TINY))


def _init_weights(path: Path) -> dict:
    w = torch.load(path, weights_only=True)["weights"]
    return {k: v for k, v in w.items() if k.startswith("init_net")}


def test_init_only_shares_stage_one_with_ige_then_trains_its_extra_stage(tmp_path):
    torch.set_num_threads(1)
    clips = synthetic_clips(1, 16)
    run(_cfg("ige", 0), clips, [], tmp_path / "ige")
    run(_cfg("init-only", 0), clips, [], tmp_path / "zero")
    meta = run(_cfg("init-only", 3), clips, [], tmp_path / "extra")
    ige, zero, extra = (_init_weights(tmp_path / d / "lifter.pt") for d in ("ige", "zero", "extra"))
    assert all(torch.equal(ige[k], zero[k]) for k in ige)  # stage 1 identical to IGE's (same seed, same schedule)
    assert any(not torch.equal(ige[k], extra[k]) for k in ige)  # the extra stage trained the initial net further
    assert meta["method"] == "init-only" and meta["progress"]["stage"] == "done"
    # last.pt is rewritten at the end of the extra stage, with its seconds, so a --resume to more extra
    # iterations continues from there and the metadata keeps the whole training time
    last = torch.load(tmp_path / "extra" / "last.pt", weights_only=True)
    progress = last["metadata"]["progress"]
    assert progress["stage"] == "init-extra" and progress["iter"] == 3
    assert all(torch.equal(extra[k], last["weights"][k]) for k in extra)
    assert progress["seconds"]["init"] == pytest.approx(meta["train_seconds"], abs=1e-3)
    ck = torch.load(tmp_path / "extra" / "lifter.pt", weights_only=True)
    assert ck["config"]["lifter"]["default_steps"] == 0


def _result(samples=100, rows=("a", "b")):
    return {"protocol": "standard", "condition": "clean", "noise_px": 2.0, "samples": samples, "seed": 0,
            "rows": [{"method": m, "mpjpe": float(i)} for i, m in enumerate(rows)]}


def test_merge_keeps_only_rows_not_re_evaluated_and_marks_them():
    common = _common()
    new = common.merge_result(_result(rows=("a", "c")), _result(rows=("a", "b")))
    assert [r["method"] for r in new["rows"]] == ["a", "c", "b"]
    assert [r.get("earlier_run", False) for r in new["rows"]] == [False, False, True]


def test_merge_refuses_results_on_different_sets():
    with pytest.raises(SystemExit, match="sets differ"):
        _common().merge_result(_result(samples=100), _result(samples=300), "x.json")
