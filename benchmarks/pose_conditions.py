"""Detector conditions: clean + 2 px, missing limbs, confident outliers, 8 px noise; every method, same cameras.

    python benchmarks/pose_conditions.py --val ../shared/data/cmu_mocap/val --checkpoint default \
        --baselines shipped --json docs/benchmarks/pose_conditions.json --png docs/img/pose_conditions.png

``--merge <earlier JSON>`` keeps, per condition, the earlier rows whose methods are not re-evaluated (marked
``earlier_run``); it refuses when the two runs used different ``--samples`` (the seeded sets would differ).
"""
from __future__ import annotations

import argparse
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from _pose_common import evaluate_rows, load, load_json, markdown_table, merge_result, save_json  # noqa: E402

CONDITIONS = ("clean", "missing", "outliers", "noisy")


def plot(results: dict, path: str, title: str = "val split, broad cameras: detector conditions") -> None:
    methods = [r["method"] + (" *" if r.get("earlier_run") else "") for r in results[CONDITIONS[0]]["rows"]]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / len(CONDITIONS)
    for i, cond in enumerate(CONDITIONS):
        ax.bar(np.arange(len(methods)) + i * width, [r["mpjpe"] for r in results[cond]["rows"]], width, label=cond)
    ax.set_xticks(np.arange(len(methods)) + width * (len(CONDITIONS) - 1) / 2)
    ax.set_xticklabels(methods, rotation=25, fontsize=7, ha="right")
    ax.set_ylabel("MPJPE (mm)")
    kept = any(r.get("earlier_run") for r in results[CONDITIONS[0]]["rows"])
    note = "; * = kept from an earlier run (--merge)" if kept else ""
    ax.set_title(title + note, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--val", required=True)
    p.add_argument("--checkpoint", action="append", default=None, help="IGE checkpoint(s) (LABEL=PATH)")
    p.add_argument("--steps", default="0,4")
    p.add_argument("--baselines", nargs="+", default=["shipped"])
    p.add_argument("--samples", type=int, default=500)
    p.add_argument("--json", required=True)
    p.add_argument("--png", required=True)
    p.add_argument("--merge", default=None, help="earlier result JSON whose other rows are kept")
    a = p.parse_args(argv)
    earlier = load_json(a.merge) if a.merge else None  # read first: --json may be the same file
    if earlier is not None and set(earlier) != set(CONDITIONS):
        raise SystemExit(f"--merge: {a.merge} holds conditions {sorted(earlier)}, expected {list(CONDITIONS)}")
    clips = load(a.val)
    results = {}
    for cond in CONDITIONS:
        results[cond] = evaluate_rows(clips, data=a.val, checkpoint=a.checkpoint or ["default"],
                                      baselines=a.baselines, steps=a.steps, samples=a.samples, condition=cond)
        if earlier is not None:
            results[cond] = merge_result(results[cond], earlier[cond], f"{a.merge} [{cond}]")
        print(f"\n### condition {cond}\n" + markdown_table(results[cond]["rows"]))
    save_json(results, a.json)
    plot(results, a.png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
