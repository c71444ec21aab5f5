"""Where the ``unseen-camera`` error comes from: the lens, or how many pixels tall the person is.

Both protocols of ``eval-lifter`` (``standard`` = broad cameras, ``unseen-camera`` = lenses, fields of view and
distances outside them) on the same val frames, with exact 2D and with 2 px noise, split by the person's 2D height
in pixels (the spread of the observed joints' rows). The lifter is told each row's noise (``keypoint_noise_px``):

    python benchmarks/pose_camera_size.py --val ../shared/data/cmu_mocap/val \
        --json docs/benchmarks/pose_camera_size.json --png docs/img/pose_camera_size.png

A lifter whose camera handling generalizes scores the same in both protocols at equal pixel size; a ratio that
only appears with noise is the 2D's information (pixel noise on a small person), not the camera model.
"""
from __future__ import annotations

import argparse
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from _pose_common import load, save_json  # noqa: E402
from learned_energy_ros.core.metrics import mpjpe  # noqa: E402
from learned_energy_ros.core.virtual_camera import CameraRanges, DetectorNoise  # noqa: E402
from learned_energy_ros.pose.dataset import fixed_eval_set  # noqa: E402
from learned_energy_ros.pose.lifter import load_lifter  # noqa: E402

PROTOCOLS = {"standard": CameraRanges.broad, "unseen-camera": CameraRanges.unseen}
BINS = ((0, 25), (25, 50), (50, 100), (100, 200), (200, None))  # person 2D height, px


def person_height_px(batch) -> np.ndarray:
    """(B,) vertical spread of each sample's observed 2D joints in pixels (0 with fewer than two)."""
    kp, sc = batch.keypoints_px.numpy(), batch.scores.numpy()
    return np.array([np.ptp(k[s > 0][:, 1]) if (s > 0).sum() > 1 else 0.0 for k, s in zip(kp, sc)])


def evaluate(lifter, clips, samples: int, seed: int, steps: tuple) -> dict:
    """MPJPE per protocol, noise level and step count, overall and per pixel-height bin."""
    out = {}
    for proto, ranges in PROTOCOLS.items():
        for noise_px in (0.0, 2.0):
            batch = fixed_eval_set(clips, samples, ranges(), DetectorNoise(sigma_px=noise_px), seed=seed)
            height = person_height_px(batch)
            row = {"protocol": proto, "noise_px": noise_px, "samples": len(batch),
                   "median_height_px": float(np.median(height)), "steps": {}}
            for s in steps:
                err = mpjpe(lifter.predict(batch, steps=s, keypoint_noise_px=noise_px), batch.joints_cam).numpy()  # told
                bins = []
                for lo, hi in BINS:
                    m = (height >= lo) & (height < (np.inf if hi is None else hi))
                    bins.append({"lo": lo, "hi": hi, "n": int(m.sum()), "mpjpe": float(err[m].mean()) if m.any() else None})
                row["steps"][str(s)] = {"mpjpe": float(err.mean()), "bins": bins}
            out[f"{proto}@{noise_px:g}px"] = row
    return out


def report(res: dict, steps: tuple) -> str:
    lines = ["| protocol | 2D noise | median height px | " + " | ".join(f"MPJPE {s} steps" for s in steps) + " |",
             "|---|---|---|" + "---|" * len(steps)]
    for row in res.values():
        lines.append(f"| {row['protocol']} | {row['noise_px']:g} px | {row['median_height_px']:.0f} | "
                     + " | ".join(f"{row['steps'][str(s)]['mpjpe']:.1f}" for s in steps) + " |")
    s = str(steps[-1])
    lines += ["", f"By person height ({steps[-1]} steps; n per bin in brackets):", "",
              "| protocol | 2D noise | " + " | ".join(f"{lo}-{hi or ''} px" for lo, hi in BINS) + " |",
              "|---|---|" + "---|" * len(BINS)]
    for row in res.values():
        cells = [f"{b['mpjpe']:.1f} ({b['n']})" if b["n"] else "-" for b in row["steps"][s]["bins"]]
        lines.append(f"| {row['protocol']} | {row['noise_px']:g} px | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(res: dict, steps: tuple, path: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(len(BINS))
    for key, row in res.items():
        for i, s in enumerate(steps):
            style = "--" if i == 0 else "-"  # the first step count (the initial net) dashed
            ys = [b["mpjpe"] if b["n"] >= 10 else np.nan for b in row["steps"][str(s)]["bins"]]
            ax.plot(x, ys, style, marker="o", label=f"{key}, {s} steps")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{lo}-{hi or ''}" for lo, hi in BINS])
    ax.set_xlabel("person 2D height (px)")
    ax.set_ylabel("MPJPE (mm)")
    ax.set_yscale("log")
    ax.set_title("val MPJPE by person size in pixels (bins with >= 10 samples)", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--val", required=True)
    p.add_argument("--checkpoint", default="default")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", default="0,4")
    p.add_argument("--json", required=True)
    p.add_argument("--png", default=None)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    steps = tuple(int(s) for s in a.steps.split(","))
    lifter = load_lifter(a.checkpoint, "cpu")
    res = evaluate(lifter, load(a.val), a.samples, a.seed, steps)
    print(report(res, steps))
    save_json({"checkpoint": a.checkpoint, "seed": a.seed, "results": res}, a.json)
    if a.png:
        plot(res, steps, a.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
