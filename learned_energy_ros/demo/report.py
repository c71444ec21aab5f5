"""Score the demo's received skeletons against ground truth, per phase, and format the table."""
from __future__ import annotations

import numpy as np

from learned_energy_ros.core.metrics import acceleration_error, pose_metrics

__all__ = ["phase_metrics", "run_metrics", "format_table"]


def phase_metrics(pred: np.ndarray, true: np.ndarray) -> dict:
    """Metrics of one phase.

    Args:
        pred: (T, J, 3) received skeletons in the optical frame (NaN rows: no output for that frame).
        true: (T, J, 3) ground truth.
    Returns:
        dict with ``frames``, ``answered`` (fraction of frames with a skeleton), mean ``mpjpe``,
        ``p_mpjpe``, ``abs_error`` (mm) over answered frames and ``accel_error`` (mm/frame²) over
        runs of 3+ consecutive answered frames.
    """
    assert pred.shape == true.shape and pred.ndim == 3, (pred.shape, true.shape)
    ok = np.all(np.isfinite(pred), axis=(1, 2))  # (T,)
    out = {"frames": int(len(ok)), "answered": float(ok.mean()) if len(ok) else 0.0}
    if ok.sum() == 0:
        return out | {"mpjpe": float("nan"), "p_mpjpe": float("nan"), "abs_error": float("nan"),
                      "accel_error": float("nan")}
    m = pose_metrics(pred[ok], true[ok])
    out |= {"mpjpe": m["mpjpe"], "p_mpjpe": m["p_mpjpe"], "abs_error": m["abs_error"],
            "root_depth_pct": m["root_depth_pct"]}
    errors, weights = [], []
    for run in _runs(ok):
        if len(run) >= 3:
            errors.append(acceleration_error(pred[run], true[run]))
            weights.append(len(run) - 2)
    out["accel_error"] = float(np.average(errors, weights=weights)) if errors else float("nan")
    return out


def _runs(mask: np.ndarray) -> list:
    """Index arrays of the maximal runs of True in ``mask``."""
    runs, start = [], None
    for i, flag in enumerate(list(mask) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append(np.arange(start, i))
            start = None
    return runs


def run_metrics(pred: np.ndarray, true: np.ndarray, swap_frame: int) -> dict:
    """Metrics of one pass over the scene: ``all``, ``before_swap`` and ``after_swap``."""
    return {
        "all": phase_metrics(pred, true),
        "before_swap": phase_metrics(pred[:swap_frame], true[:swap_frame]),
        "after_swap": phase_metrics(pred[swap_frame:], true[swap_frame:]),
    }


def format_table(results: dict) -> str:
    """Format ``{pass name: run_metrics}`` as a plain-text table (mm)."""
    head = f"{'pass':<22}{'phase':<13}{'answered':>9}{'MPJPE':>8}{'P-MPJPE':>9}{'abs err':>9}{'accel':>8}"
    lines = [head, "-" * len(head)]
    for name, phases in results.items():
        for phase, m in phases.items():
            lines.append(f"{name:<22}{phase:<13}{100 * m['answered']:>8.0f}%{m['mpjpe']:>8.1f}"
                         f"{m['p_mpjpe']:>9.1f}{m['abs_error']:>9.1f}{m['accel_error']:>8.1f}")
    return "\n".join(lines)
