"""Train pose baselines on a mocap train/val split (thin driver over ``train_baseline``).

Example (the shipped checkpoints):
    python benchmarks/train_pose_baselines.py --data ../shared/data/cmu_mocap/train \
        --val ../shared/data/cmu_mocap/val --out learned_energy_ros/models \
        --methods martinez-norm-256x1 martinez-px-256x1 gan-prior --time-limit 240
Equivalent to ``learned-energy-ros train-lifter --method <name>`` once that dispatches here.
"""
from __future__ import annotations

import argparse
import sys

import torch

from learned_energy_ros.data.mocap import load_mocap_dir
from learned_energy_ros.pose.baselines import BaselineConfig, train_baseline


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="training mocap directory")
    p.add_argument("--val", required=True, help="validation mocap directory")
    p.add_argument("--out", required=True, help="checkpoint folder")
    p.add_argument("--methods", nargs="+", required=True)
    p.add_argument("--iterations", type=int, default=BaselineConfig.iterations)
    p.add_argument("--time-limit", type=float, default=BaselineConfig.time_limit_s, help="seconds per method")
    p.add_argument("--cameras", default="broad", choices=["broad", "narrow"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    train, val = load_mocap_dir(a.data), load_mocap_dir(a.val)
    cfg = dict(iterations=a.iterations, time_limit_s=a.time_limit, cameras=a.cameras, threads=a.threads, seed=a.seed)
    for method in a.methods:
        path = train_baseline(method, train, val, cfg, a.out)
        print(f"{method}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
