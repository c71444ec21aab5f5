"""The lifter on the ``standard-13`` protocol: every number of ``docs/benchmarks/pose.md`` "standard-13".

Rows on ``val`` (10 fps, 3 seeded cameras per frame, 13 body joints in with 2 px noise, scored on those 13):
IGE at each step count (told the default 2 px noise), the init-only ablation and the Martinez anchor, in four 2D
conditions, and IGE told the 8 px of the noisy condition; the same IGE with the full ``coco17`` input (face points present); ``unseen-camera`` over ``standard`` (broad) error ratio;
metric size and distance for people scaled to 1.50 / 1.70 / 1.90 m (default prior, and the right
``person_height_prior``); the rank correlation of the published energy with the per-person error.

    python benchmarks/pose_standard13.py --val ../shared/data/cmu_mocap/val \
        --checkpoint default --ablation learned_energy_ros/models/lifter_init_only.pt \
        --martinez learned_energy_ros/models/martinez_norm_1024x2_s13.pt --json docs/benchmarks/pose_standard13.json
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
from scipy.stats import spearmanr

from _pose_common import evaluate_rows, load, save_json  # noqa: E402

from learned_energy_ros.core.metrics import STANDARD13_JOINTS, mpjpe, standard13_metrics
from learned_energy_ros.pose.augment import BodyAugment
from learned_energy_ros.pose.dataset import standard13_eval_set
from learned_energy_ros.pose.eval_cli import protocol_inputs
from learned_energy_ros.pose.lifter import DEFAULT_KEYPOINT_NOISE_PX, load_lifter

CONDITIONS = ("clean", "missing", "outliers", "noisy")
STATURES = (1.5, 1.7, 1.9)


def per_person(lifter, batch, steps=None):
    """Predictions (B, 17, 3) and published energies (B,) of a batch, as ``Lifter.lift`` with its default
    ``keypoint_noise_px`` (energy: consistency at full trust + feasibility)."""
    model = lifter.model
    batch = batch.to(lifter.device)
    xy, sc = lifter._remap(batch.normalized, batch.scores, batch.input_skeleton)
    steps = lifter.num_steps if steps is None else steps
    noise = DEFAULT_KEYPOINT_NOISE_PX / (0.5 * (batch.K[:, 0, 0] + batch.K[:, 1, 1]))  # (B,) normalized units
    with torch.no_grad():
        can = model.canonical(xy, sc)
        pose0, size = model.initial(can, sc)
        ctx = model.context(can, sc, noise=noise)
        pose = model.descend(pose0, ctx, steps)[-1]
        ctx.trust = None  # the published energy is at full trust (``EnergyFunction.plausibility``)
        return model.to_metric(pose, can, size).cpu(), model.energy(pose, ctx).cpu()


def size_rows(lifter, clips, seed: int) -> list[dict]:
    """Absolute error and signed depth bias for people scaled to each stature, default and matching prior."""
    rows = []
    for stature in STATURES:
        batch = standard13_eval_set(clips, seed=seed, input_skeleton="coco17",
                                    augment=BodyAugment(mirror_prob=0.0, segment_std=0.0, stature=(stature, 1e-6)))
        pred, _ = per_person(lifter, batch)
        default = standard13_metrics(pred, batch.joints_cam)
        row = {"stature_m": stature, "default_prior": default}
        if lifter.trained_stature:  # Lifter.lift(height_prior=h) scales by h / trained stature
            row["matching_prior"] = standard13_metrics(pred * stature / lifter.trained_stature, batch.joints_cam)
        rows.append(row)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--val", required=True)
    p.add_argument("--checkpoint", default="default")
    p.add_argument("--ablation", default=None, help="init-only ablation checkpoint")
    p.add_argument("--martinez", nargs="*", default=[], help="Martinez checkpoints (LABEL=PATH allowed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", required=True)
    p.add_argument("--png-flops", help="the talk's MPJPE-vs-FLOPs figure from the clean rows")
    p.add_argument("--png-conditions", help="MPJPE per detector condition")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    clips = load(a.val)
    checkpoints = [f"ige={a.checkpoint}"] + ([f"init-only={a.ablation}"] if a.ablation else [])
    out = {"protocol": "standard-13", "seed": a.seed, "conditions": {}}
    for condition in CONDITIONS:
        res = evaluate_rows(clips, data=a.val, checkpoint=checkpoints, baselines=a.martinez, protocol="standard-13",
                            condition=condition, seed=a.seed, steps="0,1,2,4,8,16" if condition == "clean" else "0,4")
        out["conditions"][condition] = res["rows"]
        for r in res["rows"]:
            print(f"{condition:>9} {r['method']:<28} MPJPE {r['mpjpe']:6.1f} P-MPJPE {r['p_mpjpe']:5.1f} hips12 "
                  f"{r['mpjpe_hips12']:6.1f} abs {r['abs_error']:6.1f} bias {r['depth_bias_pct']:+5.1f}% "
                  f"params {r['params']:,} FLOPs {r['flops']:.3g}", flush=True)
    lifter = load_lifter(a.checkpoint, "cpu")
    # The noisy condition again, with the lifter told the noise (``keypoint_noise_px``: the node parameter)
    noise = protocol_inputs("standard-13", "noisy", 2.0)[1]
    noisy = standard13_eval_set(clips, views=3, seed=a.seed, input_skeleton="body13", noise=noise)
    out["noisy_told"] = {"keypoint_noise_px": noise.sigma_px,
                         **standard13_metrics(lifter.predict(noisy, keypoint_noise_px=noise.sigma_px), noisy.joints_cam)}
    print(f"    noisy ige told {noise.sigma_px:g} px: MPJPE {out['noisy_told']['mpjpe']:6.1f} "
          f"P-MPJPE {out['noisy_told']['p_mpjpe']:5.1f}", flush=True)
    full = standard13_eval_set(clips, seed=a.seed, input_skeleton="coco17", body_only=False)
    pred, energy = per_person(lifter, full)
    out["coco17_full"] = standard13_metrics(pred, full.joints_cam)
    body = standard13_eval_set(clips, seed=a.seed, input_skeleton="coco17")
    pred, energy = per_person(lifter, body)
    idx = [lifter.skeleton.index(n) for n in STANDARD13_JOINTS]
    person_err = mpjpe(pred[:, idx], body.joints_cam[:, idx]).numpy()  # (B,) mm
    out["energy_error_spearman"] = float(spearmanr(energy.numpy(), person_err).statistic)
    out["coco17_face_at_zero"] = standard13_metrics(pred, body.joints_cam)
    print(f"coco17 with face: {out['coco17_full']['mpjpe']:.1f} mm, face at score 0: "
          f"{out['coco17_face_at_zero']['mpjpe']:.1f} mm; energy-error Spearman rho {out['energy_error_spearman']:.3f}")
    # The same rank correlation where the 2D itself is wrong (what a plausibility score is for)
    out["energy_error_spearman_by_condition"] = {"clean": out["energy_error_spearman"]}
    for condition in ("outliers", "noisy"):
        bad = standard13_eval_set(clips, seed=a.seed, input_skeleton="coco17",
                                  noise=protocol_inputs("standard-13", condition, 2.0)[1])
        pred, energy = per_person(lifter, bad)
        rho = float(spearmanr(energy.numpy(), mpjpe(pred[:, idx], bad.joints_cam[:, idx]).numpy()).statistic)
        out["energy_error_spearman_by_condition"][condition] = rho
        print(f"energy-error Spearman rho with {condition} 2D: {rho:.3f}")
    ratio = {}
    for protocol in ("standard", "unseen-camera"):
        res = evaluate_rows(clips, data=a.val, checkpoint=[f"ige={a.checkpoint}"], baselines=[], protocol=protocol,
                            samples=1000, seed=a.seed, steps=str(lifter.num_steps))
        ratio[protocol] = res["rows"][0]
    out["camera_swap"] = ratio
    out["unseen_over_standard"] = ratio["unseen-camera"]["mpjpe"] / ratio["standard"]["mpjpe"]
    print(f"unseen-camera / standard MPJPE: {ratio['unseen-camera']['mpjpe']:.1f} / {ratio['standard']['mpjpe']:.1f} "
          f"= {out['unseen_over_standard']:.3f}")
    out["stature"] = size_rows(lifter, clips, a.seed)
    for r in out["stature"]:
        d = r["default_prior"]
        m = r.get("matching_prior", {})
        print(f"stature {r['stature_m']:.2f} m: abs {d['abs_error']:.0f} mm, depth bias {d['depth_bias_pct']:+.1f}% "
              f"(prior {r['stature_m']:.2f} m: abs {m.get('abs_error', float('nan')):.0f} mm, "
              f"bias {m.get('depth_bias_pct', float('nan')):+.1f}%)")
    save_json(out, a.json)
    if a.png_flops:
        from pose_flops_vs_mpjpe import plot as plot_flops
        plot_flops(out["conditions"]["clean"], a.png_flops, "val split, standard-13 protocol (13 body joints, 2 px), n=3018")
    if a.png_conditions:
        from pose_conditions import plot as plot_conditions
        common = set.intersection(*({r["method"] for r in rows} for rows in out["conditions"].values()))
        plot_conditions({c: {"rows": [r for r in rows if r["method"] in common]} for c, rows in out["conditions"].items()},
                        a.png_conditions, "val split, standard-13 cameras: detector conditions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
