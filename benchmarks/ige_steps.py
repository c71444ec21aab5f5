"""IGE vs its init-only ablation on the val split: metrics per step count under several detector conditions.

Usage: python benchmarks/ige_steps.py --val <mocap dir> [--checkpoint default] [--ablation PATH] [--n 1000] [--json FILE]
    [--unguarded]
"""
from __future__ import annotations

import argparse
import json

import torch

from learned_energy_ros.core.metrics import pose_metrics
from learned_energy_ros.core.virtual_camera import CameraRanges, DetectorNoise
from learned_energy_ros.data.mocap import load_mocap_dir
from learned_energy_ros.pose.dataset import fixed_eval_set
from learned_energy_ros.pose.lifter import Lifter, load_lifter
from learned_energy_ros.pose.model import build_model

CONDITIONS = {
    "gt+2px": (CameraRanges.broad, lambda: DetectorNoise(sigma_px=2.0)),
    "missing limb": (CameraRanges.broad, DetectorNoise.missing_limbs),
    "outliers 10%": (CameraRanges.broad, DetectorNoise.outliers),
    "8px noise": (CameraRanges.broad, DetectorNoise.noisy),
    "unseen camera +2px": (CameraRanges.unseen, lambda: DetectorNoise(sigma_px=2.0)),
}
STEPS = (0, 1, 2, 4, 8, 16)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--val", required=True)
    p.add_argument("--checkpoint", default="default")
    p.add_argument("--ablation", default=None, help="init-only checkpoint (evaluated at 0 steps)")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", default=None)
    p.add_argument("--unguarded", action="store_true", help="disable the step-horizon guard (raw descent)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    clips = load_mocap_dir(args.val, progress=False)
    ige = load_lifter(args.checkpoint, device="cpu")
    if args.unguarded:  # the same weights in a model built without the step guard
        model = build_model({"config": {**ige.config.to_dict(), "step_horizon": None}})
        model.load_state_dict(ige.model.state_dict())
        ige = Lifter(model, ige.device, ige.metadata)
    ablation = load_lifter(args.ablation, device="cpu") if args.ablation else None
    results = {}
    print("| condition | method | steps | MPJPE | P-MPJPE | N-MPJPE | abs error | root depth % (median) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (ranges, noise) in CONDITIONS.items():
        batch = fixed_eval_set(clips, args.n, ranges(), noise(), seed=args.seed)
        rows = [("init-only (ablation)", ablation, 0)] if ablation else []
        rows += [("IGE", ige, s) for s in STEPS]
        for method, lifter, steps in rows:
            m = pose_metrics(lifter.predict(batch, steps=steps), batch.joints_cam)
            results.setdefault(name, {}).setdefault(method, {})[steps] = m
            print(f"| {name} | {method} | {steps} | {m['mpjpe']:.1f} | {m['p_mpjpe']:.1f} | {m['n_mpjpe']:.1f} | "
                  f"{m['abs_error']:.1f} | {m['root_depth_pct']:.2f} |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
