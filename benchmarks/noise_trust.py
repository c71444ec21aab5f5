"""Calibrate and measure the consistency trust ``1 / (1 + (sigma / (scale * noise_trust))^2)`` of the lifter.

The descent follows the 2D less where the keypoint noise (``keypoint_noise_px``, told to the lifter) is large next
to the person's 2D size. ``noise_trust`` is chosen on ``train`` (never on ``val``) over a grid; each row is the
lifter's MPJPE over the 13 protocol joints (``standard-13``) or the 17 joints (``standard``, ``unseen-camera``) at
its default steps, with the init-only ablation beside it:

* ``standard-13`` clean (2 px, told 2 px), ``standard-13`` 8 px (told 2 px: a caller who does not know; told 8 px),
* ``standard`` and ``unseen-camera`` (2 px, 1000 samples; the latter has many people under 50 px tall).

    python benchmarks/noise_trust.py --data ../shared/data/cmu_mocap/train --grid 0,0.04,0.06,0.07,0.08,0.1 \
        --json docs/benchmarks/noise_trust_train.json
    python benchmarks/noise_trust.py --data ../shared/data/cmu_mocap/val --grid 0,0.07 --json docs/benchmarks/noise_trust_val.json
"""
from __future__ import annotations

import argparse
import sys

import torch

from _pose_common import load, save_json  # noqa: E402

from learned_energy_ros.core.metrics import mpjpe, standard13_metrics
from learned_energy_ros.pose.dataset import fixed_eval_set, standard13_eval_set
from learned_energy_ros.pose.eval_cli import protocol_inputs
from learned_energy_ros.pose.lifter import load_lifter


def sets(clips, seed: int):
    """(name, batch, told noise px, metric) of every row."""
    s13 = lambda p, t: standard13_metrics(p, t)["mpjpe"]  # noqa: E731
    all17 = lambda p, t: float(mpjpe(p, t).mean())  # noqa: E731
    clean = standard13_eval_set(clips, seed=seed, input_skeleton="body13")
    noisy = standard13_eval_set(clips, seed=seed, input_skeleton="body13",
                                noise=protocol_inputs("standard-13", "noisy", 2.0)[1])
    out = [("standard-13 2 px", clean, 2.0, s13), ("standard-13 8 px, told 2 px", noisy, 2.0, s13),
           ("standard-13 8 px, told 8 px", noisy, 8.0, s13)]
    for protocol in ("standard", "unseen-camera"):
        cams, noise = protocol_inputs(protocol, "clean", 2.0)
        out.append((f"{protocol} 2 px", fixed_eval_set(clips, 1000, cams, noise, seed=seed), 2.0, all17))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="mocap folder (train to calibrate, val to report)")
    p.add_argument("--checkpoint", default="default")
    p.add_argument("--ablation", default="learned_energy_ros/models/lifter_init_only.pt")
    p.add_argument("--grid", default="0,0.04,0.06,0.07,0.08,0.1", help="noise_trust values (0: full trust)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", required=True)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    clips = load(a.data)
    lifter, ablation = load_lifter(a.checkpoint, "cpu"), load_lifter(a.ablation, "cpu")
    grid = [float(v) for v in a.grid.split(",")]
    shipped = lifter.config.noise_trust
    rows = []
    for name, batch, told, metric in sets(clips, a.seed):
        row = {"set": name, "told_px": told, "init_only": metric(ablation.predict(batch, steps=0), batch.joints_cam)}
        for value in grid:
            lifter.config.noise_trust = value
            row[f"{value:g}"] = metric(lifter.predict(batch, keypoint_noise_px=told), batch.joints_cam)
        lifter.config.noise_trust = shipped
        rows.append(row)
        print(f"{name:<30} init-only {row['init_only']:6.2f} | "
              + " | ".join(f"{v:g}: {row[f'{v:g}']:6.2f}" for v in grid), flush=True)
    save_json({"data": a.data, "seed": a.seed, "shipped_noise_trust": shipped, "grid": grid, "rows": rows}, a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
