"""Latency, peak memory, params and FLOPs per resolution (32/64/128) for IGE and the baseline.

Each (method, resolution) runs in a fresh subprocess so its peak RSS is its own.

    .venv/bin/python benchmarks/vox_cost.py --threads 2 --json docs/benchmarks/voxel_cost.json
    .venv/bin/python benchmarks/vox_cost.py --threads 2 --train-batch 16 --json docs/benchmarks/voxel_train_cost.json

Inference peak RSS is measured before the training step runs (the step's own peak is reported separately).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _train_step(model, dev, batch: int) -> dict:
    """Peak RSS and time of one training step (forward with create_graph + backward) at ``batch``."""
    import torch
    model.train()
    x = torch.zeros(batch, 3, 64, 64, device=dev)
    start = time.perf_counter()
    loss = sum(z.sigmoid().mean() for z in model(x))
    loss.backward()
    return {"train_batch": batch, "train_step_s": time.perf_counter() - start,
            "train_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure(method: str, resolution: int, steps: int, threads: int, device: str, train_batch: int = 0) -> dict:
    """Build the model (untrained weights: cost does not depend on them) and time single-image inference."""
    import torch

    from learned_energy_ros.core.device import resolve_device
    from learned_energy_ros.core.flops import count_flops, count_params
    from learned_energy_ros.vox.checkpoint import build_model
    torch.set_num_threads(threads)
    dev = resolve_device(device)
    args = {"resolution": resolution, **({"steps": steps} if method == "ige" else {})}
    model = build_model(method, args).to(dev).eval()
    x = torch.zeros(1, 3, 64, 64, device=dev)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with torch.no_grad():
        flops = count_flops(lambda: model(x))
        times = []
        for _ in range(6):
            start = time.perf_counter()
            model(x)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    times = sorted(times[1:])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    train = _train_step(model, dev, train_batch) if train_batch else {}
    return {**train, "method": method, "resolution": resolution, "steps": steps if method == "ige" else None,
            "params": count_params(model), "gflops": flops / 1e9, "latency_ms_median": 1000 * times[len(times) // 2],
            "latency_ms_min": 1000 * times[0], "peak_rss_mb": peak,
            "rss_before_inference_mb": rss0 / 1024, "device": str(dev), "threads": threads}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--resolutions", default="32,64,128")
    p.add_argument("--methods", default="ige,baseline")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--train-batch", type=int, default=0, help="also time one training step at this batch size")
    p.add_argument("--json")
    p.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # internal: method resolution, in the child
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.steps, args.threads, args.device,
                                 args.train_batch)))
        return 0
    rows = []
    for method in args.methods.split(","):
        for res in (int(r) for r in args.resolutions.split(",")):
            cmd = [sys.executable, __file__, "--one", method, str(res), "--steps", str(args.steps),
                   "--threads", str(args.threads), "--device", args.device, "--train-batch", str(args.train_batch)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                rows.append({"method": method, "resolution": res, "error": out.stderr.strip().splitlines()[-1]})
            else:
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
