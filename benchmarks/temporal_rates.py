"""Temporal term at robot camera rates: tracked val sequences at 10-60 Hz, with and without dropped frames.

Each val clip (120 fps source) is played at a rate through ``PosePipeline`` (tracking, the real time between
frames from the stamps, warm start, temporal energy; distance filter off so the temporal term is measured
alone), seen by one fixed ``standard-13`` camera with 2 px detector noise, in three settings: single-frame
(``temporal_weight`` 0), the temporal term alone (1, distance filter off) and the node's defaults (temporal term
+ the One-Euro distance filter). Reported per condition: MPJPE (17 joints, pelvis-aligned), acceleration error
(mm/s^2, from the real frame times) of the whole skeleton and of the pose alone (pelvis-relative), mean signed
root-depth error (% of distance: a lag shows as a bias) and ms per frame.

    python benchmarks/temporal_rates.py --json docs/benchmarks/temporal_rates.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from learned_energy_ros.core.metrics import mpjpe
from learned_energy_ros.core.protocol_cameras import Standard13Cameras
from learned_energy_ros.core.skeleton import MOCAP_SKELETON, remap_joints
from learned_energy_ros.core.virtual_camera import DetectorNoise, observe
from learned_energy_ros.pose.lifter import load_lifter
from learned_energy_ros.pose.pipeline import KeypointFrame, PipelineConfig, PosePipeline

RATES = (10.0, 15.0, 30.0, 60.0)
#: name -> (temporal_weight, depth_cutoff Hz, depth_beta 1/s)
SETTINGS = {"single": (0.0, 0.0, 0.0), "temporal": (1.0, 0.0, 0.0), "defaults": (1.0, 1.0, 10.0)}


def frame_times(rng: np.random.Generator, length: int, fps: float, rate: float, drop: float) -> np.ndarray:
    """Source frame indices played at ``rate`` Hz, each frame dropped with probability ``drop``."""
    idx = np.arange(0, length, int(round(fps / rate)))
    return idx[rng.random(len(idx)) >= drop] if drop > 0 else idx


def acceleration_error_s(pred: np.ndarray, truth: np.ndarray, times: np.ndarray) -> float:
    """Mean per-joint error of the acceleration (mm/s^2) from three consecutive published frames at their times."""
    ok = np.isfinite(pred).all(axis=(1, 2))
    p, t, s = pred[ok], truth[ok], times[ok]
    if len(s) < 3:
        return float("nan")

    def accel(x):
        v1 = (x[1:-1] - x[:-2]) / (s[1:-1] - s[:-2])[:, None, None]
        v2 = (x[2:] - x[1:-1]) / (s[2:] - s[1:-1])[:, None, None]
        return (v2 - v1) / (0.5 * (s[2:] - s[:-2]))[:, None, None]

    return float(1e3 * np.linalg.norm(accel(p) - accel(t), axis=-1).mean())


def run_sequence(lifter, cam_joints: np.ndarray, times: np.ndarray, camera, setting: tuple, seed: int):
    """Lift a sequence (T, 27, 3 optical frame) frame by frame; return (pred h36m17 (T, 17, 3), ms per frame)."""
    weight, cutoff, beta = setting
    pipe = PosePipeline(lifter, PipelineConfig(temporal_weight=weight, depth_cutoff=cutoff, depth_beta=beta, min_score=0.1))
    coco, _ = remap_joints(cam_joints, np.ones(cam_joints.shape[:2]), MOCAP_SKELETON, "coco17")
    rng = np.random.default_rng(seed)  # the same noise for both settings
    out = np.full((len(coco), 17, 3), np.nan)
    seconds = 0.0
    for k in range(len(coco)):
        px, scores, _ = observe(coco[k][None], camera, DetectorNoise(sigma_px=2.0), rng)
        start = time.perf_counter()
        result = pipe.process(KeypointFrame(float(times[k]), camera, px, scores, np.zeros(1, np.int64)))
        seconds += time.perf_counter() - start
        if len(result.track_ids):
            out[k] = result.joints[0]
    return out, 1e3 * seconds / max(len(coco), 1)


def measure(pred: np.ndarray, truth: np.ndarray, times: np.ndarray, ms: float) -> dict:
    ok = np.isfinite(pred).all(axis=(1, 2))
    signed = (pred[ok, 0, 2] - truth[ok, 0, 2]) / truth[ok, 0, 2]
    rel = lambda x: x - x[:, :1]  # noqa: E731  the pose without its translation
    return {"mpjpe_mm": float(mpjpe(pred[ok], truth[ok]).mean()), "accel_err_mm_s2": acceleration_error_s(pred, truth, times),
            "accel_err_pose_mm_s2": acceleration_error_s(rel(pred), rel(truth), times),
            "depth_bias_pct": float(100 * signed.mean()), "published": float(ok.mean()), "ms_per_frame": ms,
            "frames": int(ok.sum())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument("--data", default=None, help="val motion capture folder (default ../shared/data/cmu_mocap/val)")
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--drop", type=float, default=0.2)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from learned_energy_ros.data.mocap import load_mocap_dir
    from learned_energy_ros.data.paths import shared_data

    root = args.data or (shared_data("cmu_mocap") / "val" if shared_data("cmu_mocap") else None)
    if root is None:
        print("no val motion capture found (../shared/data/cmu_mocap/val)", file=sys.stderr)
        return 2
    clips = [c for c in load_mocap_dir(root, fps=None, progress=False) if c.num_frames >= args.seconds * c.fps]
    clips = clips[:: max(1, len(clips) // args.clips)][: args.clips]
    lifter = load_lifter(args.checkpoint, device="cpu")
    rows = []
    for rate in RATES:
        for drop in (0.0, args.drop):
            per = {name: [] for name in SETTINGS}
            for i, clip in enumerate(clips):
                rng = np.random.default_rng(1000 * i + int(rate))
                world = clip.joints[: int(args.seconds * clip.fps)].astype(np.float64)
                idx = frame_times(rng, len(world), clip.fps, rate, drop)
                camera, R, t = Standard13Cameras().sample_for(rng, world[0])
                cam_joints = world[idx] @ R.T + t
                truth, _ = remap_joints(cam_joints, np.ones(cam_joints.shape[:2]), MOCAP_SKELETON, "h36m17")
                times = idx / clip.fps
                for name, setting in SETTINGS.items():
                    pred, ms = run_sequence(lifter, cam_joints, times, camera, setting, seed=i)
                    per[name].append(measure(pred, truth, times, ms))
            mean = {w: {k: float(np.nanmean([r[k] for r in rs])) for k in rs[0]} for w, rs in per.items()}
            rows.append({"rate_hz": rate, "drop": drop, **mean})
            print(f"{rate:>4g} Hz drop {drop:.0%}: " + " | ".join(
                f"{n} MPJPE {m['mpjpe_mm']:.1f} accel {m['accel_err_mm_s2']:.0f} pose-accel {m['accel_err_pose_mm_s2']:.0f} "
                f"bias {m['depth_bias_pct']:+.2f}% {m['ms_per_frame']:.2f} ms" for n, m in mean.items()), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "clips": [c.name for c in clips], "rows": rows}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
