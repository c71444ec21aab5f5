"""train-voxel and eval-voxel on an arbitrary (tiny) mesh directory, with an unreadable file in it."""
import json

import numpy as np
import trimesh

from learned_energy_ros.vox import evaluate, train


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
