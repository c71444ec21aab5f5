"""Shared helpers of the pose benchmark scripts (evaluation runs, JSON + markdown output)."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from learned_energy_ros.data.mocap import load_mocap_dir
from learned_energy_ros.pose import eval_cli as evaluate


def evaluate_rows(clips, **options) -> dict:
    """Run eval-lifter's protocol on ``clips`` with keyword options (see ``evaluate.make_args``)."""
    torch.set_num_threads(options.pop("threads", 1))
    return evaluate.run(evaluate.make_args(**options), clips)


def load(path: str):
    """Load a mocap directory without a progress bar."""
    return load_mocap_dir(path, progress=False)


def markdown_table(rows: list[dict], extra: tuple = ()) -> str:
    """Render result rows as a markdown table."""
    cols = ["method", *extra, "params", "flops", "ms_per_person", "mpjpe", "p_mpjpe", "n_mpjpe", "abs_error", "root_depth_pct"]
    head = ["method", *extra, "params", "FLOPs/person", "ms/person (CPU)", "MPJPE", "P-MPJPE", "N-MPJPE", "abs. error", "root depth % (median)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c, "")
            if c == "params":
                cells.append(f"{int(v):,}")
            elif c == "flops":
                cells.append(f"{v:.3g}")
            elif isinstance(v, float):
                cells.append(f"{v:.1f}" if c != "ms_per_person" else f"{v:.2f}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def save_json(data, path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=2))


def merge_result(new: dict, earlier: dict, where: str = "") -> dict:
    """Append to ``new['rows']`` the rows of ``earlier`` whose method ``new`` does not hold.

    Args:
        new: a fresh ``evaluate_rows`` result.
        earlier: an earlier result of the same protocol (e.g. rows whose checkpoints are gone).
        where: what the two results are (for the error message).

    Returns:
        ``new`` with the kept earlier rows appended, each marked ``"earlier_run": True``.

    Raises:
        SystemExit: when the two results were not computed on the same seeded set (samples/seed/condition differ).
    """
    keys = ("samples", "seed", "protocol", "condition", "noise_px")
    a, b = tuple(new.get(k) for k in keys), tuple(earlier.get(k) for k in keys)
    if a != b:
        raise SystemExit(f"--merge {where}: sets differ ({dict(zip(keys, a))} vs {dict(zip(keys, b))})")
    have = {r["method"] for r in new["rows"]}
    new["rows"] += [dict(r, earlier_run=True) for r in earlier["rows"] if r["method"] not in have]
    return new


def load_json(path: str):
    """Read a result JSON."""
    return json.loads(Path(path).read_text())
