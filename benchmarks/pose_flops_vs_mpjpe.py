"""The talk's figure: MPJPE vs FLOPs per person (marker size = parameters), IGE steps vs Martinez sizes.

    python benchmarks/pose_flops_vs_mpjpe.py --val ../shared/data/cmu_mocap/val \
        --checkpoint default --martinez learned_energy_ros/models/martinez_norm_256x1.pt ... \
        --json docs/benchmarks/pose_flops.json --png docs/img/pose_flops_vs_mpjpe.png

``--merge <earlier JSON>`` keeps the earlier rows whose methods are not re-evaluated (their checkpoints may be gone;
they are marked ``earlier_run``); it refuses when the two runs used different ``--samples``/``--seed``.
"""
from __future__ import annotations

import argparse
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from _pose_common import evaluate_rows, load, load_json, markdown_table, merge_result, save_json  # noqa: E402


def plot(rows: list[dict], path: str, title: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    biggest = max(r["params"] for r in rows)
    groups = {}
    for r in rows:
        if r["steps"] is not None:  # "<label>-<n>step"
            key = r["method"].rsplit("-", 1)[0]
        elif r["method"].startswith("martinez"):  # "martinez-<mode>-<W>x<B>"
            key = r["method"].rsplit("-", 1)[0]
        else:
            key = r["method"]
        groups.setdefault(key, []).append(r)
    for name, rs in groups.items():
        rs = sorted(rs, key=lambda r: r["flops"])
        x, y = [r["flops"] for r in rs], [r["mpjpe"] for r in rs]
        sizes = [30 + 600 * r["params"] / biggest for r in rs]
        ax.plot(x, y, "-", alpha=0.4)
        ax.scatter(x, y, s=sizes, alpha=0.7, label=name)
        tags = {}  # identical points (e.g. guarded extra steps) share one label
        for r in rs:
            tag = f"{r['steps']}" if r["steps"] is not None else r["method"].rsplit("-", 1)[-1]
            tag += " *" if r.get("earlier_run") else ""
            tags.setdefault((r["flops"], round(r["mpjpe"], 1)), []).append(tag)
        for (x0, y0), tag in tags.items():
            label = "/".join(tag) + (" st" if rs[0]["steps"] is not None else "")
            ax.annotate(label, (x0, y0), fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("FLOPs per person (torch flop counter)")
    ax.set_ylabel("MPJPE (mm)")
    if any(r.get("earlier_run") for r in rows):
        title += "; * = kept from an earlier run (--merge)"
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--val", required=True)
    p.add_argument("--checkpoint", action="append", default=None, help="IGE checkpoint(s), LABEL=PATH allowed")
    p.add_argument("--martinez", nargs="+", default=[], help="Martinez checkpoints")
    p.add_argument("--protocol", default="standard", help="eval-lifter protocol (standard, standard-13, ...)")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", required=True)
    p.add_argument("--png", required=True)
    p.add_argument("--merge", default=None, help="earlier result JSON whose other rows are kept")
    a = p.parse_args(argv)
    earlier = load_json(a.merge) if a.merge else None  # read first: --json may be the same file
    res = evaluate_rows(load(a.val), data=a.val, checkpoint=a.checkpoint or ["default"], baselines=a.martinez,
                        samples=a.samples, seed=a.seed, protocol=a.protocol)
    if earlier is not None:
        res = merge_result(res, earlier, a.merge)
    save_json(res, a.json)
    where = "standard-13 protocol (13 body joints)" if a.protocol == "standard-13" else f"{a.protocol} cameras"
    plot(res["rows"], a.png, f"val split, {where}, GT 2D + {res['noise_px']:g} px noise, n={res['samples']}")
    print(markdown_table(res["rows"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
