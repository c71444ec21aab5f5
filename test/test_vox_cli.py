"""train-voxel and eval-voxel on an arbitrary (tiny) mesh directory, with an unreadable file in it."""
import json

import numpy as np
import trimesh

from learned_energy_ros.vox import eval_cli as evaluate, train_cli as train


def _mesh_dir(tmp_path):
    root = tmp_path / "meshes"
    (root / "a").mkdir(parents=True)
    trimesh.creation.box(extents=(1, 0.5, 0.7)).export(root / "a" / "model.obj")
    cyl = trimesh.creation.cylinder(radius=0.3, height=1.0)
    cyl.visual.vertex_colors = np.tile([200, 30, 30, 255], (len(cyl.vertices), 1)).astype(np.uint8)
    cyl.export(root / "cyl.ply")
    (root / "broken.obj").write_text("this is not an obj\nf 1 2 9\n")
    return root


def test_train_and_eval_run_on_any_mesh_directory(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("LER_CACHE_DIR", str(tmp_path / "cache"))
    data = _mesh_dir(tmp_path)
    common = ["--data", str(data), "--resolution", "16", "--image-size", "32", "--width-mult", "0.25",
              "--views", "2", "--procedural", "2", "--iterations", "2", "--batch", "2", "--threads", "1",
              "--device", "cpu", "--out", str(tmp_path / "out")]
    assert train.main(common + ["--val", str(data), "--val-views", "1", "--steps", "2"]) == 0
    assert train.main(common + ["--model", "baseline", "--loss", "soft-iou"]) == 0
    assert "broken.obj" in caplog.text  # skipped with one log line, not a crash
    out = tmp_path / "eval.json"
    assert evaluate.main(["--data", str(data), "--checkpoint", str(tmp_path / "out" / "voxel_ige_16.pt"),
                          "--baseline", str(tmp_path / "out" / "voxel_baseline_16.pt"), "--views", "2",
                          "--threads", "1", "--device", "cpu", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert [r["method"] for r in result["rows"]] == [f"IGE {s} steps" for s in (0, 1, 2, 4, 8)] + ["baseline"]
    assert result["views"] == 4 and result["resolution"] == 16
    for row in result["rows"]:
        assert set(row["per_object"]) == {"a", "cyl"} and 0.0 <= row["mean_iou"] <= 1.0
        assert row["cost"]["params"] > 0 and row["cost"]["flops"] > 0 and row["cost"]["latency_ms"] > 0
    ige0, ige8 = result["rows"][0]["cost"]["flops"], result["rows"][4]["cost"]["flops"]
    assert ige8 > ige0  # descent steps are counted (inner autograd included)


def test_train_warm_start_keeps_weights_and_records_lineage(tmp_path, monkeypatch):
    import pytest
    import torch
    import yaml

    from learned_energy_ros.vox.checkpoint import CheckpointError, load_model

    monkeypatch.setenv("LER_CACHE_DIR", str(tmp_path / "cache"))
    common = ["--procedural", "3", "--batch", "2", "--threads", "1", "--device", "cpu"]
    src = tmp_path / "src"
    assert train.main(common + ["--resolution", "16", "--image-size", "32", "--width-mult", "0.25", "--steps", "2",
                                "--iterations", "2", "--out", str(src)]) == 0
    # default flags differ (32^3, width 1, 4 steps): the checkpoint's model args win; lr 0 keeps the weights
    dst = tmp_path / "dst"
    assert train.main(common + ["--init-from", str(src / "voxel_ige_16.pt"), "--iterations", "3", "--lr", "0",
                                "--out", str(dst)]) == 0
    before, _, _ = load_model(src / "voxel_ige_16.pt")
    after, vcfg, ckpt = load_model(dst / "voxel_ige_16.pt")
    assert vcfg.resolution == 16 and ckpt["model_args"]["steps"] == 2 and ckpt["model_args"]["width_mult"] == 0.25
    for (name, a), b in zip(before.named_parameters(), after.parameters()):  # (BatchNorm running stats do move)
        assert torch.equal(a, b), name
    meta = yaml.safe_load((dst / "voxel_ige_16.yaml").read_text())["training"]
    assert meta["init_from"]["checkpoint"] == "voxel_ige_16.pt"
    assert meta["init_from"]["iterations_before"] == 2 and meta["total_iterations"] == 5
    assert meta["init_from"]["previous_training"]["iterations"] == 2
    with pytest.raises(CheckpointError, match="baseline"):
        train.main(common + ["--init-from", str(src / "voxel_ige_16.pt"), "--model", "baseline", "--out", str(dst)])
