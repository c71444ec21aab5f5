"""Temporal smoothing benchmark: MPJPE, acceleration error and jitter with and without smoothing.

Runs ``PosePipeline`` (the code the ``pose_lifter`` node and ``process-bag``
run: tracking, warm start from the previous 3D, temporal energy) on motion
sequences seen by a fixed virtual camera with detector-like noise.

    python benchmarks/tracking_smoothing.py                    # CMU val clips when ../shared exists
    python benchmarks/tracking_smoothing.py --procedural       # generated motion, no data needed
    python benchmarks/tracking_smoothing.py --json out.json --settings 0,0,0 1,0,0 1,1,10 1,1,0

A setting is ``temporal_weight,depth_cutoff,depth_beta`` (the node parameters
of the same names; 0 turns each off).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.metrics import acceleration_error, jitter, mpjpe
from learned_energy_ros.core.skeleton import MOCAP_SKELETON, remap_joints
from learned_energy_ros.core.virtual_camera import DetectorNoise, observe
from learned_energy_ros.pose.lifter import load_lifter
from learned_energy_ros.pose.pipeline import KeypointFrame, PipelineConfig, PosePipeline

CAMERA = Camera.pinhole(600.0, 600.0, 319.5, 239.5, 640, 480, "camera_optical_frame")


def sequences(args) -> list[tuple[str, np.ndarray, float]]:
    """Return ``(name, joints (T, 27, 3) world z-up, fps)`` clips."""
    if not args.procedural:
        from learned_energy_ros.data.paths import shared_data
        root = shared_data("cmu_mocap")
        if root is not None:
            from learned_energy_ros.data.mocap import load_mocap_dir
            clips = load_mocap_dir(root / "val", fps=args.fps, progress=False)
            clips = [c for c in clips if c.num_frames >= args.frames][: args.clips]
            if clips:
                return [(c.name, c.joints[: args.frames], args.fps) for c in clips]
        print("no mocap data found: using procedural motion", file=sys.stderr)
    from learned_energy_ros.demo.person_motion import procedural_motion
    return [(f"procedural_{s}", procedural_motion(args.frames, args.fps, seed=s).joints, args.fps)
            for s in range(args.clips)]


def to_camera(world: np.ndarray, distance: float) -> np.ndarray:
    """World z-up (T, J, 3) -> optical frame with the clip's mean pelvis ``distance`` m in front."""
    centre = world[:, 0].mean(0)
    p = world - [centre[0], centre[1], 0.0]
    return np.stack([p[..., 0], -(p[..., 2] - 1.0), p[..., 1] + distance], -1)


def run_clip(lifter, joints_cam: np.ndarray, setting: tuple, noise: DetectorNoise, seed: int, fps: float):
    """Lift one clip frame by frame; return predicted h36m17 joints (T, 17, 3) (NaN where not published)."""
    weight, cutoff, beta = setting
    pipe = PosePipeline(lifter, PipelineConfig(temporal_weight=weight, depth_cutoff=cutoff, depth_beta=beta,
                                               min_score=0.1, track_timeout=1.0))
    coco, _ = remap_joints(joints_cam, np.ones(joints_cam.shape[:2]), MOCAP_SKELETON, "coco17")
    rng = np.random.default_rng(seed)  # same noise for every weight
    out = np.full((len(coco), 17, 3), np.nan)
    seconds = 0.0
    for t in range(len(coco)):
        px, scores, _ = observe(coco[t][None], CAMERA, noise, rng)
        start = time.perf_counter()
        result = pipe.process(KeypointFrame(t / fps, CAMERA, px, scores, np.zeros(1, np.int64)))
        seconds += time.perf_counter() - start
        if len(result.track_ids):
            out[t] = result.joints[0]
    return out, 1e3 * seconds / len(coco)


def evaluate(pred: np.ndarray, truth: np.ndarray, latency_ms: float) -> dict:
    ok = np.isfinite(pred).all(axis=(1, 2))
    rel = lambda x: x - x[:, :1]  # noqa: E731 (root-relative: the pose without its translation)
    return {"mpjpe_mm": float(mpjpe(pred[ok], truth[ok]).mean()), "accel_err_mm": acceleration_error(pred, truth),
            "accel_err_pose_mm": acceleration_error(rel(pred), rel(truth)),
            "accel_err_root_mm": acceleration_error(pred[:, :1], truth[:, :1]),
            "root_err_mm": float(1e3 * np.linalg.norm(pred[ok, 0] - truth[ok, 0], axis=-1).mean()),
            "jitter_mm": jitter(pred), "jitter_truth_mm": jitter(truth), "published": float(ok.mean()),
            "ms_per_frame": latency_ms}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument("--settings", nargs="+", default=["0,0,0", "1,0,0", "0,1,10", "1,1,10"],
                        help="temporal_weight,depth_cutoff,depth_beta triples (0 = off)")
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--distance", type=float, default=4.0)
    parser.add_argument("--sigma", type=float, default=3.0, help="detector pixel noise std")
    parser.add_argument("--procedural", action="store_true", help="generated motion instead of mocap")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    lifter = load_lifter(args.checkpoint, device="cpu")
    noise = DetectorNoise(sigma_px=args.sigma, dropout_prob=0.05)
    settings = [tuple(float(v) for v in text.split(",")) for text in args.settings]
    if any(len(t) != 3 for t in settings):
        parser.error("each setting is temporal_weight,depth_cutoff,depth_beta")
    rows = {t: [] for t in settings}
    clips = sequences(args)
    for i, (name, world, fps) in enumerate(clips):
        cam = to_camera(world, args.distance)
        truth, _ = remap_joints(cam, np.ones(cam.shape[:2]), MOCAP_SKELETON, "h36m17")
        for w in settings:
            pred, ms = run_clip(lifter, cam, w, noise, i, fps)
            rows[w].append(evaluate(pred, truth, ms))
    table = {w: {k: float(np.mean([r[k] for r in rs])) for k in rs[0]} for w, rs in rows.items()}
    print(f"{len(clips)} clips x {args.frames} frames @ {args.fps:g} fps, sigma {args.sigma} px, 5% dropped joints, "
          f"{args.distance} m, checkpoint {args.checkpoint}")
    cols = ("mpjpe_mm", "root_err_mm", "accel_err_mm", "accel_err_pose_mm", "accel_err_root_mm", "jitter_mm",
            "jitter_truth_mm", "ms_per_frame")
    print(f"{'weight,cutoff,beta':>18} " + " ".join(f"{c:>17}" for c in cols))
    for w, m in table.items():
        print(f"{','.join(f'{v:g}' for v in w):>18} " + " ".join(f"{m[c]:>17.2f}" for c in cols))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "clips": [c[0] for c in clips], "results": {",".join(f"{v:g}" for v in w): m for w, m in table.items()}}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
