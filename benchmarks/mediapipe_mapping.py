"""How much the lifter loses when its 2D input is BlazePose (``mediapipe33``) instead of mocap joint centres.

    python benchmarks/mediapipe_mapping.py --data ../shared/data/cmu_mocap/val [--json out.json]

BlazePose's hip landmarks are not motion-capture hip-joint centres (the femoral heads):
like COCO annotators it marks the hips on the body's outline, outward and higher. The
2D input is synthesised from ``val`` with the hips moved in each person's pelvis frame
(``lateral`` outward, ``up`` along pelvis -> thorax, plus per-person scatter); the truth
stays the mocap skeleton. Same seeded cameras (``standard-13`` ranges) and 2 px noise
for every row. The "real" line estimates the lateral offset from real BlazePose detections.
"""
from __future__ import annotations

import argparse
import json

import numpy as np

# (lateral m, up m): the grid, and the model we call realistic (see docs/benchmarks/real.md).
GRID = ((0.0, 0.0), (0.03, 0.0), (0.06, 0.0), (0.0, 0.05), (0.03, 0.03), (0.05, 0.04), (0.08, 0.06))
REALISTIC = (0.05, 0.04)
SCATTER_M = 0.015  # per-person standard deviation of the offset
MIN_JOINTS = 6  # samples with fewer visible joints are not lifted (pose_lifter's min_joints default)


def evaluate(clips, lifter, layout: str, lateral: float, up: float, samples: int, seed: int) -> dict:
    from learned_energy_ros.core.metrics import pose_metrics
    from learned_energy_ros.core.skeleton import joint_mapping
    from learned_energy_ros.core.virtual_camera import CameraRanges, DetectorNoise
    from learned_energy_ros.pose.dataset import PoseSampler
    from learned_energy_ros.pose.hip_offsets import shift_hips

    def sampler():
        return PoseSampler(clips, CameraRanges.broad(), DetectorNoise(sigma_px=2.0), input_skeleton=layout, seed=seed)

    truth, seen = sampler(), sampler()
    seen.frames = shift_hips(seen.frames, lateral, up, SCATTER_M if lateral or up else 0.0,
                             np.random.default_rng(seed + 1)).astype(np.float32)
    idx = np.linspace(0, len(truth) - 1, samples).round().astype(np.int64)
    batch, true = seen.observe_frames(idx), truth.observe_frames(idx)
    used = joint_mapping(layout, "coco17")  # the joints the lifter reads
    lifted = (batch.scores[:, used] > lifter.config.min_score).sum(-1) >= MIN_JOINTS  # as the node's min_joints
    pred = lifter.predict(batch.index(lifted))
    return {**pose_metrics(pred, true.joints_cam[lifted]), "dropped": int((~lifted).sum())}


def real_lateral_estimate() -> dict | None:
    """2D hip/shoulder width of frontal people in the real images vs the training subjects' 3D ratio."""
    try:
        from learned_energy_ros.detect.real_stage import RealLifter, lift_real_images, real_inputs
    except ImportError:
        return None
    from learned_energy_ros.core.skeleton import get_skeleton
    from learned_energy_ros.detect.plausibility import TRAINING_RATIO_RANGES

    sk = get_skeleton("mediapipe33")
    idx = [sk.index(n) for n in ("left_hip", "right_hip", "left_shoulder", "right_shoulder")]
    ratios = []
    for frame in lift_real_images([i for i in real_inputs(vtest_frames=0)], RealLifter()):
        for kp, sc in zip(frame.detections.keypoints, frame.detections.scores):
            if min(sc[idx]) > 0.5:
                hip, shoulder = (np.linalg.norm(kp[idx[0]] - kp[idx[1]]), np.linalg.norm(kp[idx[2]] - kp[idx[3]]))
                if shoulder > 0.15 * (kp[:, 1].max() - kp[:, 1].min()):  # frontal enough
                    ratios.append(float(hip / shoulder))
    train = np.mean(TRAINING_RATIO_RANGES["hip_width"]) / np.mean(TRAINING_RATIO_RANGES["shoulder_width"])
    return {"real_hip_over_shoulder_2d": [round(r, 3) for r in ratios], "training_hip_over_shoulder_3d": round(train, 3)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data/cmu_mocap/val")
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json")
    p.add_argument("--no-real", action="store_true", help="skip the estimate from real images")
    args = p.parse_args(argv)
    import torch

    from learned_energy_ros.data.mocap import load_mocap_dir
    from learned_energy_ros.pose.lifter import load_lifter

    torch.set_num_threads(2)
    clips, lifter = load_mocap_dir(args.data), load_lifter("default", device="cpu")
    rows = [{"layout": "coco17", "lateral_m": 0.0, "up_m": 0.0,
             **evaluate(clips, lifter, "coco17", 0.0, 0.0, args.samples, args.seed)}]
    for lateral, up in GRID:
        rows.append({"layout": "mediapipe33", "lateral_m": lateral, "up_m": up,
                     **evaluate(clips, lifter, "mediapipe33", lateral, up, args.samples, args.seed)})
    print(f"{'input':<12}{'lateral cm':>11}{'up cm':>7}{'MPJPE':>8}{'P-MPJPE':>9}{'abs err':>9}{'depth %':>8}  "
          f"(mm; {args.samples} val samples less {rows[0]['dropped']} with < {MIN_JOINTS} joints)")
    for r in rows:
        tag = "  <- realistic" if (r["lateral_m"], r["up_m"]) == REALISTIC else ""
        print(f"{r['layout']:<12}{100 * r['lateral_m']:>11.0f}{100 * r['up_m']:>7.0f}{r['mpjpe']:>8.1f}"
              f"{r['p_mpjpe']:>9.1f}{r['abs_error']:>9.1f}{r['root_depth_pct']:>8.1f}{tag}")
    real = None if args.no_real else real_lateral_estimate()
    if real:
        print(f"real images: 2D hip/shoulder width {real['real_hip_over_shoulder_2d']} vs training 3D "
              f"{real['training_hip_over_shoulder_3d']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "real": real, "samples": args.samples, "seed": args.seed,
                       "scatter_m": SCATTER_M, "realistic": REALISTIC}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
