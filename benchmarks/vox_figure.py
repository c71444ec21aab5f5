"""Figure of a few val objects: image | IGE | baseline | ground truth (frustum grids, seeded eval views).

    .venv/bin/python benchmarks/vox_figure.py --data ../shared/data/objects/val --out docs/img/voxel_val.png
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

from learned_energy_ros.core.metrics import voxel_iou
from learned_energy_ros.vox.checkpoint import load_model
from learned_energy_ros.vox.dataset import build_samples
from learned_energy_ros.vox.eval_cli import EVAL_SEED
from learned_energy_ros.vox.model import predict_batches
from learned_energy_ros.vox.object_scene import save_comparison


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--ige", default="default")
    p.add_argument("--baseline", default="baseline")
    p.add_argument("--objects", default="004_sugar_box,015_peach,025_mug,073-g_lego_duplo")
    p.add_argument("--views", type=int, default=6, help="must match eval-voxel's to reuse its cache")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    ige, view, _ = load_model(args.ige)
    base, _, _ = load_model(args.baseline)
    data = build_samples(args.data, args.views, 0, view, seed=EVAL_SEED)
    wanted = args.objects.split(",")
    picks = [int(np.flatnonzero(data["object"] == data["names"].index(n))[0]) for n in wanted if n in data["names"]]
    images = data["images"][picks]
    p_ige = predict_batches(ige, images, torch.device("cpu"))[-1]
    p_base = predict_batches(base, images, torch.device("cpu"))[-1]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, idx in enumerate(picks):
            truth = data["occupancy"][idx]
            panels = {f"IGE (IoU {float(voxel_iou(p_ige[n], truth)):.2f})": p_ige[n],
                      f"baseline (IoU {float(voxel_iou(p_base[n], truth)):.2f})": p_base[n],
                      "ground truth": truth}
            path = save_comparison(Path(tmp) / f"{n}.png", images[n], panels)
            rows.append(cv2.imread(str(path)))
        width = max(r.shape[1] for r in rows)
        rows = [cv2.copyMakeBorder(r, 0, 0, 0, width - r.shape[1], cv2.BORDER_CONSTANT, value=(255, 255, 255)) for r in rows]
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(args.out, cv2.vconcat(rows))
    print(f"wrote {args.out} ({', '.join(data['names'][data['object'][i]] for i in picks)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
