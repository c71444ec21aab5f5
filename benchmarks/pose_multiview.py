"""Several calibrated cameras, one skeleton: the multi-view table, the wrong-extrinsics rows and the latency.

    python benchmarks/pose_multiview.py --val ../shared/data/cmu_mocap/val --samples 500 \
        --json docs/benchmarks/multiview.json --png docs/img/multiview.png

For 2 cameras (~90 deg apart) and 4 cameras (around the person) under every condition of
``pose.multiview_eval.VIEW_CONDITIONS`` it scores the single-camera lifter, the fused lifter and RANSAC + DLT
triangulation (``eval-lifter --views N --view-condition C`` prints one cell of it), then times the fusion
node's core (``FusionPipeline.process``: association + fused lift) on 4 cameras x 10 people.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from _pose_common import load, save_json  # noqa: E402
from learned_energy_ros.core.camera import Camera  # noqa: E402
from learned_energy_ros.core.skeleton import MOCAP_SKELETON, remap_joints  # noqa: E402
from learned_energy_ros.pose.dataset import stack_frames  # noqa: E402
from learned_energy_ros.pose.fusion import FusionPipeline  # noqa: E402
from learned_energy_ros.pose.lifter import load_lifter  # noqa: E402
from learned_energy_ros.pose.multiview import MultiViewConfig  # noqa: E402
from learned_energy_ros.pose.multiview_eval import VIEW_CONDITIONS, evaluate_multiview, multiview_eval_set  # noqa: E402
from learned_energy_ros.pose.pipeline import KeypointFrame, PipelineConfig  # noqa: E402
from learned_energy_ros.pose.rig import CameraPose  # noqa: E402

METHODS = ("single (mean over cameras)", "best single view (oracle, per sample)", "triangulation (RANSAC + DLT)",
           "fused (IGE, summed energies)")


def latency(lifter, clips, persons: int = 10, cameras: int = 4, frames: int = 60, seed: int = 0,
            config: MultiViewConfig | None = None) -> dict:
    """Time ``FusionPipeline.process`` on ``cameras`` x ``persons`` (val motion, a 6 x 6 m room, 2 px noise)."""
    rng = np.random.default_rng(seed)
    world = stack_frames(clips, 30.0)
    starts = rng.integers(0, len(world) - frames, size=persons)
    spots = np.stack(np.meshgrid(np.linspace(-2.4, 2.4, 4), np.linspace(-2.4, 2.4, 3)), -1).reshape(-1, 2)[:persons]
    cam = Camera.pinhole(640.0, 640.0, 640.0, 360.0, 1280, 720, "cam")  # ~90 deg wide
    poses = {f"cam{k}": CameraPose.look_at([6.0 * np.cos(a), 6.0 * np.sin(a), 2.5], [0, 0, 0.9])
             for k, a in enumerate(np.radians(45 + 90 * np.arange(cameras)))}
    pipe = FusionPipeline(lifter, PipelineConfig(), lambda name, _f: poses[name], "world", config)
    times, fused = [], []
    for t in range(frames):
        people = world[starts + t].astype(np.float64)
        people[..., :2] += spots[:, None] - people[:, :1, :2]
        coco = np.stack([remap_joints(p, np.ones(27), MOCAP_SKELETON, "coco17")[0] for p in people])
        batch = []
        for name, pose in poses.items():
            px = cam.project(pose.to_camera(coco)) + rng.normal(size=coco.shape[:2] + (2,)) * 2.0
            inside = cam.in_image(px) & (pose.to_camera(coco)[..., 2] > 0.1)
            batch.append((name, KeypointFrame(t / 30.0, cam, px, np.where(inside, 0.9, 0.0), np.arange(persons))))
        start = time.perf_counter()
        result = pipe.process(batch)
        times.append(1000 * (time.perf_counter() - start))
        fused.append(int(np.count_nonzero(result.views >= 2)))
    warm = np.asarray(times[5:])
    return {"cameras": cameras, "persons": persons, "frames": frames, "median_ms": float(np.median(warm)),
            "p95_ms": float(np.percentile(warm, 95)), "max_ms": float(warm.max()),
            "mean_fused_persons": float(np.mean(fused)), "loadavg": os.getloadavg()}


def plot(table: dict, path: str) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    for ax, views in zip(axes, ("2", "4")):
        width = 0.8 / len(METHODS)
        for i, m in enumerate(METHODS):
            vals = [table[views][c]["rows"][m]["mpjpe"] for c in VIEW_CONDITIONS]
            ax.bar(np.arange(len(VIEW_CONDITIONS)) + i * width, vals, width, label=m)
        ax.set_xticks(np.arange(len(VIEW_CONDITIONS)) + width * (len(METHODS) - 1) / 2)
        ax.set_xticklabels(VIEW_CONDITIONS, rotation=20, fontsize=8, ha="right")
        ax.set_title(f"{views} cameras (val, standard-13 lenses around the person)", fontsize=9)
        ax.set_ylabel("MPJPE (mm, 13 joints)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--val", required=True)
    p.add_argument("--checkpoint", default="default")
    p.add_argument("--samples", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--views", default="2,4")
    p.add_argument("--conditions", default=",".join(VIEW_CONDITIONS))
    p.add_argument("--json")
    p.add_argument("--png")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    clips = load(args.val)
    lifter = load_lifter(args.checkpoint, "cpu")
    table = {}
    for views in (int(v) for v in args.views.split(",")):
        table[str(views)] = {}
        for cond in args.conditions.split(","):
            start = time.perf_counter()
            res = evaluate_multiview(lifter, multiview_eval_set(clips, views, args.samples, args.seed, cond))
            res["wall_s"] = time.perf_counter() - start
            table[str(views)][cond] = res
            rows = "  ".join(f"{m.split(' (')[0]} {r['mpjpe']:.1f}/{r['root_abs']:.0f}" for m, r in res["rows"].items())
            print(f"{views} views {cond:<17} {rows}  named {res['diagnostics']['named']}", flush=True)
    lat = {"every_view_start": latency(lifter, clips),
           "best_view_start": latency(lifter, clips, config=MultiViewConfig(every_view_start=False))}
    for k, v in lat.items():
        print(f"latency 4 cameras x 10 persons ({k}): median {v['median_ms']:.1f} ms, p95 {v['p95_ms']:.1f} ms")
    fast = {}
    for views in (2, 4):  # the faster setting's accuracy, clean
        res = evaluate_multiview(lifter, multiview_eval_set(clips, views, args.samples, args.seed, "clean"),
                                 MultiViewConfig(every_view_start=False))
        fast[str(views)] = res["rows"]["fused (IGE, summed energies)"]
        print(f"best_view_start, {views} views clean: MPJPE {fast[str(views)]['mpjpe']:.1f}")
    out = {"samples": args.samples, "seed": args.seed, "table": table, "latency": lat, "best_view_start": fast,
           "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "torch": torch.__version__,
                       "platform": platform.platform(), "torch_threads": 1}}
    if args.json:
        save_json(out, args.json)
    if args.png and {"2", "4"} <= set(table) and all(c in table["2"] for c in VIEW_CONDITIONS):
        plot(table, args.png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
