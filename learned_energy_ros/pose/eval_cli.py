"""``learned-energy-ros eval-lifter``: IGE at several step counts and every baseline on one seeded protocol.

All methods see the same ``PoseBatch`` (``fixed_eval_set``: frames spread evenly
over the clips, one seeded virtual camera and detector noise per sample) and are
scored with the same metrics on absolute camera-frame joints.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from learned_energy_ros.core.flops import count_params, flops_per_sample
from learned_energy_ros.core.metrics import pose_metrics, standard13_metrics
from learned_energy_ros.pose.baselines.features import BaselineError
from learned_energy_ros.pose.multiview_eval import VIEW_CONDITIONS

log = logging.getLogger(__name__)

IGE_STEPS = (0, 1, 2, 4, 8, 16)
PROTOCOLS = ("standard", "unseen-camera", "narrow", "standard-13")
CONDITIONS = ("clean", "missing", "outliers", "noisy")
_CHUNK = 256  # samples per forward call (bounds memory of the fitting baselines)
_FLOP_SAMPLES = 4  # samples measured under the flop counter


@dataclass
class Method:
    """One row of the table: a name, a batch -> (B, 17, 3) function and the modules holding its parameters."""

    name: str
    predict: Callable
    modules: list = field(default_factory=list)
    steps: int | None = None


def protocol_inputs(protocol: str, condition: str, noise_px: float):
    """Return (camera source, DetectorNoise) of a protocol and 2D condition."""
    from learned_energy_ros.core.protocol_cameras import Standard13Cameras
    from learned_energy_ros.core.virtual_camera import CameraRanges, DetectorNoise

    ranges = {"standard": CameraRanges.broad, "unseen-camera": CameraRanges.unseen, "narrow": CameraRanges.narrow,
              "standard-13": Standard13Cameras}
    if protocol not in ranges or condition not in CONDITIONS:
        raise ValueError(f"protocol must be one of {PROTOCOLS} and condition one of {CONDITIONS}")
    scores = (1.0, 1.0) if protocol == "standard-13" else DetectorNoise.score_range  # the protocol's 2D has no scores
    noise = {
        "clean": DetectorNoise(sigma_px=noise_px, score_range=scores),
        "missing": DetectorNoise(sigma_px=noise_px, limb_dropout_prob=1.0, score_range=scores),
        "outliers": DetectorNoise(sigma_px=noise_px, outlier_prob=0.1, score_range=scores),
        "noisy": DetectorNoise(sigma_px=max(8.0, 4 * noise_px), score_range=scores),
    }[condition]
    return ranges[protocol](), noise


def _predict_chunked(method: Method, batch) -> torch.Tensor:
    parts = [method.predict(batch.index(torch.arange(i, min(i + _CHUNK, len(batch)))))
             for i in range(0, len(batch), _CHUNK)]
    return torch.cat(parts).detach().cpu()


def evaluate_methods(methods: list[Method], batch, metrics=pose_metrics) -> list[dict]:
    """Score every method on ``batch``.

    Args:
        metrics: ``(pred, target) -> dict`` (``pose_metrics``, or ``standard13_metrics`` for that protocol).
    Returns:
        rows with ``method``, ``params``, ``flops`` (per person), ``ms_per_person`` and the ``metrics`` keys.
    """
    rows = []
    small = batch.index(torch.arange(min(_FLOP_SAMPLES, len(batch))))
    for m in methods:
        start = time.perf_counter()
        pred = _predict_chunked(m, batch)
        wall = time.perf_counter() - start
        row = {"method": m.name, "steps": m.steps, "params": count_params(*m.modules),
               "flops": flops_per_sample(m.predict, small), "ms_per_person": 1000 * wall / len(batch)}
        row.update(metrics(pred, batch.joints_cam.cpu()))
        log.info("%s: MPJPE %.1f mm", m.name, row["mpjpe"])
        rows.append(row)
    return rows


def ige_methods(checkpoint: str, device: str, steps=IGE_STEPS, label: str = "ige") -> tuple[list[Method], object]:
    """Return IGE rows at each step count and the lifter.

    An ``init-only`` ablation (by checkpoint metadata or by ``label``) gets step 0 only: its
    energy was never trained, so only its initial net is meaningful.
    """
    from learned_energy_ros.pose.lifter import load_lifter

    lifter = load_lifter(checkpoint, device)
    if lifter.metadata.get("method") == "init-only" or label == "init-only":
        steps, label = (0,), "init-only"
    # The ablation's size is its initial net (its untrained energy is never run).
    modules = [getattr(lifter.model, "init_net", lifter.model)] if label == "init-only" else [lifter.model]
    rows = [Method(f"{label}-{s}step", (lambda b, s=s: lifter.predict(b, steps=s)), modules, s) for s in steps]
    return rows, lifter


def baseline_methods(specs: list[str], device: str, lifter=None) -> list[Method]:
    """Resolve ``--baselines`` items: checkpoint files, folders of them, or shipped names."""
    from learned_energy_ros.pose.baselines import default_init_name, load_baseline, models_dir

    names: list[str] = []
    labels: dict[str, str] = {}
    for spec in specs:
        if spec == "none":  # as --checkpoint none: no baselines
            continue
        if "=" in spec:  # LABEL=PATH names a row explicitly
            label, spec = spec.split("=", 1)
            labels[spec] = label
        path = Path(spec)
        if spec == "shipped":
            path = models_dir()
        if path.is_dir():
            names += [str(p) for p in sorted(path.glob("martinez_*.pt")) + sorted(path.glob("gan_prior.pt"))]
            has_init = lifter is not None or any(path.glob("martinez_norm_*.pt"))
            if has_init:
                names.append("reprojection" if lifter is not None else f"reprojection:{default_init_name(path)}")
        else:
            names.append(spec)
    out = []
    for name in dict.fromkeys(names):
        model = load_baseline(name, device, lifter=lifter)
        fit = name.startswith("reprojection")
        modules = list(model.modules) if fit else [model]
        label = labels.get(name) or (f"reprojection({model.init_name})" if fit else model.method)
        out.append(Method(label, model.predict, modules))
    return out


def format_table(rows: list[dict]) -> str:
    """Render rows as a fixed-width text table."""
    extra = rows and "mpjpe_hips12" in rows[0]  # standard-13: hip-aligned limb error and signed depth bias
    head = f"{'method':<28}{'params':>10}{'FLOPs/pers':>12}{'ms/pers':>9}{'MPJPE':>8}{'P-MPJPE':>9}{'N-MPJPE':>9}{'abs':>8}{'depth%':>8}"
    head += f"{'hips12':>8}{'bias%':>7}" if extra else ""
    lines = [head, "-" * len(head)]
    for r in rows:
        line = (f"{r['method']:<28}{r['params']:>10,}{r['flops']:>12.3g}{r['ms_per_person']:>9.2f}{r['mpjpe']:>8.1f}"
                f"{r['p_mpjpe']:>9.1f}{r['n_mpjpe']:>9.1f}{r['abs_error']:>8.1f}{r['root_depth_pct']:>8.1f}")
        lines.append(line + (f"{r['mpjpe_hips12']:>8.1f}{r['depth_bias_pct']:>7.1f}" if extra else ""))
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="learned-energy-ros eval-lifter", description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="directory of raw motion capture files (BVH / ASF+AMC)")
    p.add_argument("--checkpoint", action="append", default=None,
                   help="IGE checkpoint ('default', a path, or LABEL=PATH; repeatable; 'none' to skip)")
    p.add_argument("--baselines", nargs="*", default=["shipped"],
                   help="checkpoint files (LABEL=PATH allowed), folders of them, names (martinez-norm-256x1, gan-prior, "
                        "reprojection, reprojection:<martinez>), 'shipped' or 'none'")
    p.add_argument("--protocol", default="standard", choices=PROTOCOLS)
    p.add_argument("--condition", default="clean", choices=CONDITIONS)
    p.add_argument("--noise", type=float, default=2.0, help="2D Gaussian noise std in pixels")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", default=",".join(map(str, IGE_STEPS)), help="IGE step counts, comma separated")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", help="write the results to this JSON file")
    p.add_argument("--views", type=int, default=0,
                   help="N >= 1: the multi-view table instead (N standard-13 cameras around each val frame: single "
                        "views, the fused lifter, RANSAC triangulation; docs/benchmarks/multiview.md)")
    p.add_argument("--view-condition", default="clean", choices=VIEW_CONDITIONS,
                   help="with --views: 2D or calibration condition (bad-rotation / bad-shift: camera 1's extrinsic "
                        "is 5 deg / 0.2 m off)")
    return p


def make_args(**overrides) -> argparse.Namespace:
    """Return eval-lifter arguments with defaults, overridden by keyword (for benchmark scripts)."""
    args = _parser().parse_args(["--data", str(overrides.pop("data", "."))])
    for key, value in overrides.items():
        if not hasattr(args, key):
            raise ValueError(f"unknown eval-lifter option {key!r}")
        setattr(args, key, value)
    return args


def run(args, clips) -> dict:
    """Evaluate with parsed ``args`` on ``clips`` and return the JSON-able result."""
    from learned_energy_ros.pose.dataset import fixed_eval_set, standard13_eval_set

    ranges, noise = protocol_inputs(args.protocol, args.condition, args.noise)
    metrics = pose_metrics
    if args.protocol == "standard-13":  # every val frame at 10 fps, 3 cameras each, 13 body joints in and scored
        batch = standard13_eval_set(clips, views=3, seed=args.seed, input_skeleton="body13", noise=noise)
        metrics = standard13_metrics
    else:
        batch = fixed_eval_set(clips, args.samples, ranges, noise, seed=args.seed)
    steps = tuple(int(s) for s in args.steps.split(",") if s.strip())
    methods, lifter = [], None
    for spec in args.checkpoint or ["default"]:
        if spec == "none":
            continue
        label, _, path = spec.rpartition("=")
        rows, loaded = ige_methods(path, args.device, steps, label or "ige")
        methods += rows
        lifter = lifter or loaded
    methods += baseline_methods(args.baselines, args.device, lifter)
    rows = evaluate_methods(methods, batch, metrics)
    return {"data": Path(args.data).name, "protocol": args.protocol, "condition": args.condition,
            "noise_px": args.noise, "samples": len(batch), "seed": args.seed, "rows": rows}


def run_views(args, clips) -> dict:
    """The multi-view table of ``--views N`` (``pose.multiview_eval``) as a JSON-able result."""
    from learned_energy_ros.pose.lifter import load_lifter
    from learned_energy_ros.pose.multiview_eval import evaluate_multiview, multiview_eval_set

    spec = (args.checkpoint or ["default"])[0]
    lifter = load_lifter(spec.rpartition("=")[2], args.device)
    data = multiview_eval_set(clips, args.views, args.samples, args.seed, args.view_condition, args.noise)
    return {"data": Path(args.data).name, "seed": args.seed, "noise_px": args.noise,
            **evaluate_multiview(lifter, data)}


def format_views(result: dict) -> str:
    """Render a ``run_views`` result as a text table with the per-camera diagnostics."""
    head = f"{'method':<40}{'MPJPE':>8}{'P-MPJPE':>9}{'root abs':>10}"
    lines = [head, "-" * len(head)]
    for name, r in result["rows"].items():
        lines.append(f"{name:<40}{r['mpjpe']:>8.1f}{r['p_mpjpe']:>9.1f}{r['root_abs']:>10.1f}")
    d = result["diagnostics"]
    lines.append(f"per-camera excess consistency energy: {[round(x, 3) for x in d['mean_excess']]}; "
                 f"named as disagreeing: {d['named'] or 'none'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``learned-energy-ros eval-lifter``."""
    from learned_energy_ros.data.mocap import load_mocap_dir

    args = _parser().parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    clips = load_mocap_dir(args.data)
    if args.views:
        result = run_views(args, clips)
        print(f"views={result['views']} condition={result['condition']} samples={result['samples']} "
              f"seed={result['seed']} data={args.data}")
        print(format_views(result))
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
        return 0
    try:
        result = run(args, clips)
    except BaselineError as err:  # a bad --baselines item: say which, no traceback
        print(f"eval-lifter: {err}", file=sys.stderr)
        return 2
    print(f"protocol={result['protocol']} condition={result['condition']} noise={result['noise_px']} px "
          f"samples={result['samples']} seed={result['seed']} data={args.data}")
    print(format_table(result["rows"]))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0
