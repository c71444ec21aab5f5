"""Plots of the real-time benchmarks: latency CDF before/after, throughput vs persons and cameras.

Usage:
    python benchmarks/rt_plots.py --dir docs/benchmarks/rt --out docs/img
Reads the ``rt_pose.py`` JSON files of ``--dir`` (names ``<C>cam_<P>p_<label>.json``).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys

import numpy as np


def load(directory: str) -> dict:
    runs = {}
    for path in sorted(glob.glob(os.path.join(directory, "*cam_*p_*.json"))):
        with open(path) as f:
            runs[os.path.basename(path)[:-5]] = json.load(f)
    return runs


def cdf(ax, runs: dict, names: list[str]) -> None:
    for name in names:
        if name not in runs:
            continue
        lat = np.sort(runs[name].get("latencies_ms") or runs[name].get("latency_quantiles_ms", []))
        if lat.size:
            answered = runs[name]["answered"]
            ax.plot(lat, np.arange(1, lat.size + 1) / lat.size * min(answered, 1.0),
                    label=f"{name} ({100 * answered:.0f} % answered)")
    ax.set_xscale("log")
    ax.set_xlabel("stamp -> joints received (ms)")
    ax.set_ylabel("share of published frames answered within")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")


def throughput(ax, runs: dict, pattern: str, key: str, xlabel: str) -> None:
    rows = []
    for name, r in runs.items():
        m = re.fullmatch(pattern, name)
        if m:
            rows.append((int(m.group(1)), r["answered"], r["latency_ms"]["p99"]))
    rows.sort()
    if not rows:
        return
    x, answered, p99 = np.array(rows).T
    ax.plot(x, 100 * answered, "o-", label="answered (%)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("answered (% of 30 Hz x cameras)")
    ax.set_ylim(0, 105)
    twin = ax.twinx()
    twin.plot(x, p99, "s--", color="tab:red", label="p99 latency (ms)")
    twin.set_ylabel("p99 latency (ms)", color="tab:red")
    ax.set_title(key, fontsize=9)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default="docs/benchmarks/rt")
    parser.add_argument("--out", default="docs/img")
    args = parser.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    runs = load(args.dir)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    cdf(axes[0], runs, ["1cam_1p_before", "1cam_1p_after"])
    axes[0].set_title("1 camera x 30 Hz x 1 person", fontsize=9)
    cdf(axes[1], runs, ["1cam_10p_before", "1cam_10p_after"])
    axes[1].set_title("1 camera x 30 Hz x 10 persons", fontsize=9)
    cdf(axes[2], runs, ["4cam_10p_before", "4cam_10p_after_nodes", "4cam_10p_after_multi"])
    axes[2].set_title("4 cameras x 30 Hz x 10 persons", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "rt_latency_cdf.png"), dpi=90)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    throughput(axes[0], runs, r"1cam_(\d+)p_after", "1 camera x 30 Hz, after", "persons per frame")
    throughput(axes[1], runs, r"(\d+)cam_10p_after(?:_multi)?", "one node, 10 persons per camera, after",
               "cameras (one node, batched)")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "rt_throughput.png"), dpi=90)
    return 0


if __name__ == "__main__":
    sys.exit(main())
