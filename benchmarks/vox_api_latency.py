"""End-to-end ``Reconstructor.reconstruct`` latency (undistort + resample + model + points) on a 640x480 camera.

    .venv/bin/python benchmarks/vox_api_latency.py --checkpoint default --threads 2
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import torch

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.vox.reconstructor import load_reconstructor


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default="default")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rec = load_reconstructor(args.checkpoint, args.device)
    cam = Camera(np.array([[520.0, 0, 321.0], [0, 518.0, 242.0], [0, 0, 1]]), [-0.28, 0.08, 1e-4, -2e-4, 0.0],
                 "plumb_bob", 640, 480)
    image = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    times = []
    for _ in range(args.repeats + 1):
        start = time.perf_counter()
        result = rec.reconstruct(image, cam, roi=(160, 80, 320, 320))
        result.points()
        times.append(time.perf_counter() - start)
    times = sorted(times[1:])
    print(f"{args.checkpoint}: {rec.resolution}^3, median {1000 * times[len(times) // 2]:.1f} ms, "
          f"min {1000 * times[0]:.1f} ms, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          f"({args.threads} threads, {args.device})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
