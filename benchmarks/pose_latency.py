"""Latency of ``Lifter.lift`` (one person, batches of 8 and 64) per step count, CPU and CUDA when present.

Usage: python benchmarks/pose_latency.py [--checkpoint default] [--threads 1] [--repeats 200]
Reports the median wall time per call (ms), including undistortion, canonicalization and the descent.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.skeleton import get_skeleton
from learned_energy_ros.core.virtual_camera import world_to_camera
from learned_energy_ros.pose.lifter import load_lifter
from learned_energy_ros.pose.synthetic import random_poses


def _inputs(n: int, cam: Camera):
    world = random_poses(n, np.random.default_rng(0))
    world[..., :2] -= world[:, :1, :2]
    idx = [get_skeleton("mocap27").index(j) for j in get_skeleton("coco17").joints]
    pts = world_to_camera(world[:, idx], np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]), np.array([0, 1.2, 5.0]))
    return cam.project(pts), np.ones((n, len(idx)))


def _median_ms(fn, repeats: int) -> tuple[float, float]:
    """Median wall and process-CPU milliseconds per call (CPU time is what a shared, oversubscribed machine still measures fairly)."""
    for _ in range(10):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return float(np.median(wall) * 1000), float(np.median(cpu) * 1000)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--checkpoint", default="default")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=200)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cam = Camera(K=np.array([[900.0, 0, 640], [0, 900.0, 360], [0, 0, 1]]), D=np.array([-0.2, 0.05, 0, 0, 0]),
                 distortion_model="plumb_bob", width=1280, height=720)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, threads {args.threads}; camera with plumb_bob distortion")
    print("| device | batch | steps | median wall ms / call | median CPU ms / call |")
    print("|---|---|---|---|---|")
    for dev in devices:
        lifter = load_lifter(args.checkpoint, device=dev)
        for n in (1, 8, 64):
            kp, sc = _inputs(n, cam)
            for steps in sorted({0, 1, 2, 4, lifter.num_steps, 8}):
                wall, cpu = _median_ms(lambda: lifter.lift(kp, sc, cam, steps=steps), args.repeats)
                mark = " (default)" if steps == lifter.num_steps else ""
                print(f"| {dev} | {n} | {steps}{mark} | {wall:.2f} | {cpu:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
