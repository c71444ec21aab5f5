"""``learned-energy-ros train-voxel``: train the IGE voxel model or its baseline on mesh renders."""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from learned_energy_ros.core.device import resolve_device
from learned_energy_ros.core.metrics import voxel_iou
from learned_energy_ros.vox.checkpoint import CheckpointError, build_model, load_model, save_checkpoint
from learned_energy_ros.vox.dataset import ViewConfig, build_samples
from learned_energy_ros.vox.model import LOSSES, image_to_tensor, predict_batches

__all__ = ["main", "train", "warm_start"]

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="learned-energy-ros train-voxel", description=__doc__)
    p.add_argument("--data", help="training mesh directory (walked for OBJ/PLY); omit for procedural only")
    p.add_argument("--val", help="validation mesh directory")
    p.add_argument("--resolution", type=int, default=32)
    p.add_argument("--out", required=True, help="output directory for the checkpoint (+ yaml)")
    p.add_argument("--model", choices=("ige", "baseline"), default="ige")
    p.add_argument("--procedural", type=int, default=600, help="number of procedural shapes added to training")
    p.add_argument("--loss", choices=sorted(LOSSES), default="bce")
    p.add_argument("--views", type=int, default=24, help="rendered views per training mesh")
    p.add_argument("--val-views", type=int, default=6)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=4, help="unrolled descent steps (IGE)")
    p.add_argument("--width-mult", type=float, default=1.0)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--iterations", type=int, default=1500)
    p.add_argument("--minutes", type=float, default=25.0, help="wall-clock budget; stops early when reached")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--init-from", help="warm start: load this checkpoint's weights and model args (same --model kind); "
                                       "its resolution/image size/view config replace the flags")
    return p


def warm_start(checkpoint: str, kind: str) -> tuple[torch.nn.Module, ViewConfig, dict]:
    """Load ``checkpoint`` to continue training it.

    Args:
        checkpoint: path (or shipped name) of a voxel checkpoint of kind ``kind``.
        kind: ``"ige"`` or ``"baseline"`` (the ``--model`` being trained).

    Returns:
        (model on cpu, its ViewConfig, lineage dict: source name, its training metadata and total iterations).
    """
    model, vcfg, ckpt = load_model(checkpoint, "cpu")
    if ckpt["kind"] != kind:
        raise CheckpointError(f"--init-from {checkpoint} holds a {ckpt['kind']!r} model, not --model {kind!r}")
    prior = dict(ckpt.get("training", {}))
    total = int(prior.get("total_iterations", prior.get("iterations", 0)))
    # only the file name: committed yaml files carry no machine paths
    lineage = {"checkpoint": Path(checkpoint).name, "iterations_before": total, "previous_training": prior}
    return model, vcfg, lineage


def _batch(data: dict, idx: np.ndarray, rng: np.random.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
    img = data["images"][idx].copy()  # (B, S, S, 3)
    occ = data["occupancy"][idx].copy()  # (B, R, R, R) [i, j, k]
    flip = rng.random(len(idx)) < 0.5  # the canonical frustum is left-right symmetric
    img[flip] = img[flip][:, :, ::-1]
    occ[flip] = occ[flip][:, ::-1]
    return image_to_tensor(img).to(device), torch.as_tensor(occ).to(device)


def train(model, data: dict, val: dict | None, args, device) -> dict:
    """Optimise ``model`` on rendered samples; return training metadata (best val IoU, time, ...)."""
    rng = np.random.default_rng(args.seed)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.iterations)
    loss_fn = LOSSES[args.loss]
    start, best, best_state, it = time.time(), -1.0, None, 0
    if val is not None and getattr(args, "init_from", None):  # a warm start must not end worse than it began
        best = float(np.mean(voxel_iou(predict_batches(model, val["images"], device)[-1], val["occupancy"])))
        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        log.info("warm start: val IoU %.3f before training", best)
    bar = tqdm(range(args.iterations), desc=f"train {args.model}", unit="it")
    for it in bar:
        model.train()
        x, y = _batch(data, rng.integers(0, len(data["images"]), args.batch), rng, device)
        iterates = model(x)
        # every iterate is supervised, later ones more (the descent must improve on the initial estimate)
        weights = torch.arange(1, len(iterates) + 1, dtype=torch.float32) / (len(iterates) * (len(iterates) + 1) / 2)
        loss = sum(w * loss_fn(z, y) for w, z in zip(weights.tolist(), iterates))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.4f}")
        last = it == args.iterations - 1 or time.time() - start > args.minutes * 60
        if val is not None and (it % 100 == 99 or last):
            iou = float(np.mean(voxel_iou(predict_batches(model, val["images"], device)[-1], val["occupancy"])))
            log.info("iteration %d: loss %.4f, val IoU %.3f", it + 1, loss.item(), iou)
            if iou > best:
                best, best_state = iou, {k: v.detach().clone() for k, v in model.state_dict().items()}
        if last:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return {"iterations": it + 1, "best_val_iou": best, "minutes": (time.time() - start) / 60, "loss": args.loss,
            "train_samples": int(len(data["images"])), "batch": args.batch, "lr": args.lr}


def main(argv: list[str] | None = None) -> int:
    """Train and write ``<out>/voxel_<model>_<R>.pt``."""
    args = _parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = resolve_device(args.device)
    lineage = None
    if args.init_from:
        model, vcfg, lineage = warm_start(args.init_from, args.model)
        log.info("warm start from %s (%d iterations before)", args.init_from, lineage["iterations_before"])
        args.resolution, args.image_size = vcfg.resolution, vcfg.image_size
    else:
        vcfg = ViewConfig(image_size=args.image_size, resolution=args.resolution)
    data = build_samples(args.data, args.views, args.procedural, vcfg, seed=args.seed + 1)
    val = build_samples(args.val, args.val_views, 0, vcfg, seed=12345) if args.val else None
    if lineage is None:
        margs = {"resolution": args.resolution, "image_size": args.image_size, "width_mult": args.width_mult}
        if args.model == "ige":
            margs["steps"] = args.steps
        model = build_model(args.model, margs)
    model = model.to(device)
    meta = train(model, data, val, args, device)
    if lineage is not None:
        meta["init_from"] = lineage
        meta["total_iterations"] = lineage["iterations_before"] + meta["iterations"]
    meta["command"] = "learned-energy-ros train-voxel " + " ".join(argv if argv is not None else sys.argv[1:])
    meta["device"] = str(device)
    path = save_checkpoint(Path(args.out) / f"voxel_{args.model}_{args.resolution}.pt", args.model, model.cpu(),
                           vcfg, meta)
    print(f"wrote {path} (best val IoU {meta['best_val_iou']:.3f}, {meta['iterations']} iterations, "
          f"{meta['minutes']:.1f} min)")
    return 0
