"""Camera swap: models trained on a narrow lab camera set, evaluated in-domain and on unseen intrinsics/distortion.

    python benchmarks/pose_camera_swap.py --val ../shared/data/cmu_mocap/val \
        --checkpoint ige-narrow=/tmp/narrow/lifter.pt \
        --baselines /tmp/narrow/martinez_px_512x2.pt /tmp/narrow/martinez_norm_512x2.pt \
        --json docs/benchmarks/pose_camera_swap.json --png docs/img/pose_camera_swap.png

Add rows to an earlier result without re-running its methods (their checkpoints may be gone): evaluate only the
new ones and pass ``--merge <earlier JSON>``; earlier rows whose method name is not re-evaluated are kept.
Rows are compared on the same seeded sets only when both runs used the same ``--samples`` (the script checks it).
"""
from __future__ import annotations

import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from _pose_common import evaluate_rows, load, markdown_table, save_json  # noqa: E402

PROTOCOLS = ("narrow", "standard", "unseen-camera")


def plot(results: dict, path: str) -> None:
    methods = [r["method"] for r in results[PROTOCOLS[0]]["rows"]]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(PROTOCOLS)
    for i, proto in enumerate(PROTOCOLS):
        vals = [r["mpjpe"] for r in results[proto]["rows"]]
        ax.bar(np.arange(len(methods)) + i * width, vals, width, label=proto)
    ax.set_xticks(np.arange(len(methods)) + width * (len(PROTOCOLS) - 1) / 2)
    ax.set_xticklabels(methods, rotation=20, fontsize=8, ha="right")
    ax.set_ylabel("MPJPE (mm)")
    ax.set_title("val MPJPE per camera protocol ('-narrow' rows trained on lab cameras, the rest on broad)", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def merge(results: dict, earlier_path: str) -> dict:
    """Append the rows of an earlier result JSON whose methods ``results`` does not hold (same protocol sets only)."""
    earlier = json.loads(open(earlier_path).read())
    for proto in PROTOCOLS:
        new, old = results[proto], earlier[proto]
        if (new["samples"], new["seed"]) != (old["samples"], old["seed"]):
            raise SystemExit(f"--merge: {proto} sets differ (samples/seed {new['samples']}/{new['seed']} vs "
                             f"{old['samples']}/{old['seed']})")
        have = {r["method"] for r in new["rows"]}
        new["rows"] += [r for r in old["rows"] if r["method"] not in have]
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--val", required=True)
    p.add_argument("--checkpoint", action="append", default=None, help="IGE checkpoint(s) (LABEL=PATH); 'none' to skip")
    p.add_argument("--steps", default="4", help="IGE step counts")
    p.add_argument("--baselines", nargs="+", default=[])
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--json", required=True)
    p.add_argument("--png", required=True)
    p.add_argument("--merge", default=None, help="earlier result JSON whose other rows are kept")
    a = p.parse_args(argv)
    clips = load(a.val)
    results = {}
    for proto in PROTOCOLS:
        results[proto] = evaluate_rows(clips, data=a.val, checkpoint=a.checkpoint or ["none"], baselines=a.baselines,
                                       steps=a.steps, samples=a.samples, protocol=proto)
    if a.merge:
        results = merge(results, a.merge)
    for proto in PROTOCOLS:
        print(f"\n### protocol {proto}\n" + markdown_table(results[proto]["rows"]))
    base = {r["method"]: r["mpjpe"] for r in results["narrow"]["rows"]}
    for r in results["unseen-camera"]["rows"]:
        print(f"{r['method']}: unseen / narrow MPJPE = {r['mpjpe'] / base[r['method']]:.2f}")
    save_json(results, a.json)
    plot(results, a.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
