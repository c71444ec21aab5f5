"""``learned-energy-ros eval-voxel``: IoU of IGE (at several step counts) and the baseline on any mesh directory."""
from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from learned_energy_ros.core.device import resolve_device
from learned_energy_ros.core.flops import count_flops, count_params
from learned_energy_ros.core.metrics import voxel_iou
from learned_energy_ros.vox.checkpoint import CheckpointError, load_model, resolve_checkpoint
from learned_energy_ros.vox.dataset import build_samples
from learned_energy_ros.vox.model import predict_batches

__all__ = ["main", "evaluate_model", "per_object", "measure_cost"]

log = logging.getLogger(__name__)
#: Fixed seed of the evaluation views (the "camera protocol").
EVAL_SEED = 2024


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="learned-energy-ros eval-voxel", description=__doc__)
    p.add_argument("--data", required=True, help="mesh directory (walked for OBJ/PLY)")
    p.add_argument("--checkpoint", default="default", help="IGE checkpoint: default or a path")
    p.add_argument("--baseline", default="baseline", help="baseline checkpoint: baseline, a path, or none")
    p.add_argument("--resolution", type=int, default=None, help="grid R (default: the checkpoint's)")
    p.add_argument("--views", type=int, default=6, help="seeded views per object")
    p.add_argument("--steps", default="0,1,2,4,8", help="IGE descent steps to evaluate")
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--json", help="write all numbers to this file")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=2)
    return p


def per_object(iou: np.ndarray, objects: np.ndarray, names: list[str]) -> dict[str, float]:
    """Mean IoU per object name."""
    return {names[o]: float(iou[objects == o].mean()) for o in np.unique(objects)}


def measure_cost(model, image_size: int, device, steps: int | None = None, repeats: int = 10) -> dict:
    """Params, FLOPs (torch's counter, inner autograd included) and median single-image latency."""
    x = torch.zeros(1, 3, image_size, image_size, device=device)
    with torch.no_grad():
        flops = count_flops(lambda: model(x, steps=steps))
        times = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            model(x, steps=steps)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    return {"params": count_params(model), "flops": flops, "latency_ms": 1000 * float(np.median(times[1:]))}


def evaluate_model(model, data: dict, device, steps: int | None, threshold: float) -> dict:
    """Mean-over-objects and per-object IoU of one model (final iterate after ``steps``)."""
    probs = predict_batches(model, data["images"], device, steps=steps)[-1]
    iou = np.asarray(voxel_iou(probs, data["occupancy"], threshold))
    objects = per_object(iou, data["object"], data["names"])
    return {"mean_iou": float(np.mean(list(objects.values()))), "per_object": objects}


def _load(name: str, resolution: int | None, device):
    if resolution is not None and name in ("default", "ige", "baseline"):
        kind = "ige" if name == "default" else name
        candidate = Path(resolve_checkpoint(name)).with_name(f"voxel_{kind}_{resolution}.pt")
        name = str(candidate) if candidate.is_file() else name
    model, view, info = load_model(name, device)
    if resolution is not None and model.cfg.resolution != resolution:
        raise CheckpointError(f"{name} is a {model.cfg.resolution}^3 model, not {resolution}^3")
    return model, view, info


def _print_table(rows: list[dict], names: list[str]) -> None:
    head = f"{'method':<16}{'mean IoU':>9}{'params':>10}{'MFLOPs':>9}{'ms':>8}  " + " ".join(n[:10] for n in names)
    print(head)
    for r in rows:
        cost = r.get("cost", {})
        print(f"{r['method']:<16}{r['mean_iou']:>9.3f}{cost.get('params', 0):>10}"
              f"{cost.get('flops', 0) / 1e6:>9.1f}{cost.get('latency_ms', 0):>8.1f}  "
              + " ".join(f"{r['per_object'][n]:>10.3f}" for n in names))


def main(argv: list[str] | None = None) -> int:
    """Evaluate and print a table (optionally ``--json``)."""
    args = _parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    ige, view, info = _load(args.checkpoint, args.resolution, device)
    view = replace(view, resolution=ige.cfg.resolution)
    data = build_samples(args.data, args.views, 0, view, seed=EVAL_SEED)
    rows = []
    for steps in [int(s) for s in args.steps.split(",") if s.strip()]:
        row = {"method": f"IGE {steps} steps", "steps": steps, **evaluate_model(ige, data, device, steps, args.threshold)}
        row["cost"] = measure_cost(ige, view.image_size, device, steps)
        rows.append(row)
    if args.baseline.lower() != "none":
        try:
            base, _, _ = _load(args.baseline, ige.cfg.resolution, device)
            row = {"method": "baseline", **evaluate_model(base, data, device, None, args.threshold)}
            row["cost"] = measure_cost(base, view.image_size, device)
            rows.append(row)
        except CheckpointError as err:
            log.warning("baseline skipped: %s", err)
    names = sorted({n for r in rows for n in r["per_object"]})
    print(f"{len(data['images'])} views of {len(names)} objects, {ige.cfg.resolution}^3 frustum grid, device {device}")
    _print_table(rows, names)
    if args.json:
        out = {"resolution": ige.cfg.resolution, "views": int(len(data["images"])), "device": str(device),
               "threshold": args.threshold, "training": info.get("training", {}), "rows": rows}
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0
