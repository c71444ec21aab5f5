"""``learned-energy-ros train-lifter``: train the IGE lifter (or its init-only ablation, or a baseline)."""
from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path

import torch
import yaml

from learned_energy_ros.core.device import resolve_device
from learned_energy_ros.core.virtual_camera import DetectorNoise
from learned_energy_ros.pose.dataset import PoseSampler, fixed_eval_set, standard13_eval_set
from learned_energy_ros.pose.ige_training import (TrainConfig, body_augment, camera_ranges, checkpoint_dict,
                                                  descent_loss, init_loss, seed_everything, timer, train_stage,
                                                  window_loss)
from learned_energy_ros.pose.model import IGEPoseModel
from learned_energy_ros.pose.windows import WindowSampler

log = logging.getLogger(__name__)

IGE_METHODS = ("ige", "init-only")
EVAL_STEPS = (0, 1, 2, 4, 8, 16)


#: Stages ``--restart-stage`` can run again from their first iteration, and which method has which.
RESTART_STAGES = ("init-extra", "energy", "temporal")
_STAGES_OF = {"ige": ("energy", "temporal"), "init-only": ("init-extra",)}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="learned-energy-ros train-lifter", description=__doc__)
    p.add_argument("--data", required=True, help="directory of training motion capture files (BVH)")
    p.add_argument("--val", help="directory of validation motion capture files")
    p.add_argument("--out", required=True, help="output directory (checkpoint + resolved config)")
    p.add_argument("--config", help="YAML with TrainConfig fields (nested 'lifter:' for the model)")
    p.add_argument("--method", default=None, help="ige | init-only | a baseline name")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.pt")
    p.add_argument("--restart-stage", choices=RESTART_STAGES, default=None,
                   help="with --resume: run this stage from its first iteration on the weights of <out>/last.pt "
                        "(e.g. IGE's energy on an ablation's initial net, or stage 3 again)")
    p.add_argument("--init-iters", type=int, default=None)
    p.add_argument("--energy-iters", type=int, default=None)
    p.add_argument("--init-extra-iters", type=int, default=None, help="init-only: extra initial-net iterations")
    p.add_argument("--cameras", default=None, help="virtual camera preset: broad | narrow | unseen (overrides the YAML)")
    return p


def resolve_config(args) -> TrainConfig:
    """Merge the YAML config and command-line overrides."""
    data = yaml.safe_load(Path(args.config).read_text()) if args.config else {}
    cfg = TrainConfig.from_dict(data or {})
    for name, value in (("method", args.method), ("seed", args.seed), ("init_iters", args.init_iters),
                        ("energy_iters", args.energy_iters), ("init_only_extra_iters", args.init_extra_iters),
                        ("cameras", args.cameras)):
        if value is not None:
            setattr(cfg, name, value)
    camera_ranges(cfg.cameras)  # fail early on an unknown preset
    return cfg


def evaluate_steps(model: IGEPoseModel, batch, steps=EVAL_STEPS) -> dict:
    """Pose metrics of ``model`` on ``batch`` at each step count."""
    from learned_energy_ros.core.metrics import pose_metrics

    out = {}
    model.eval()
    for s in steps:
        with torch.no_grad():
            pred = model(batch.normalized, batch.scores, steps=s)
        out[s] = pose_metrics(pred, batch.joints_cam)
    return out


def _load_clips(path, fps: float | None = 30.0):
    from learned_energy_ros.data.mocap import load_mocap_dir

    return load_mocap_dir(path, fps=fps, progress=True)


def run(cfg: TrainConfig, train_clips, val_clips, out: Path, resume: bool = False, restart_stage: str | None = None) -> dict:
    """Train per ``cfg``; write ``<out>/lifter.pt`` and ``<out>/config.yaml``; return the metadata.

    ``restart_stage`` (with ``resume``): run that stage from iteration 0 on the resumed weights (``energy`` and
    ``temporal`` with a fresh Adam); the seconds already spent are kept, so the metadata holds the whole training time.
    """
    if restart_stage is not None and not (resume and (out / "last.pt").exists()):
        raise SystemExit(f"--restart-stage needs --resume and {out / 'last.pt'}")
    if restart_stage is not None and restart_stage not in _STAGES_OF[cfg.method]:
        raise SystemExit(f"--restart-stage {restart_stage} is not a stage of method {cfg.method!r} "
                         f"(its stages: {', '.join(_STAGES_OF[cfg.method])})")
    torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.method == "init-only":
        cfg.lifter.default_steps = 0
    model = IGEPoseModel(cfg.lifter).to(device)
    state = {"stage": "init", "iter": 0, "seconds": {"init": 0.0, "energy": 0.0}}
    last = out / "last.pt"
    init_opt = torch.optim.Adam(model.init_net.parameters(), lr=cfg.lr_init)
    energy_opt = _energy_optimizer(model, cfg)
    temporal_opt = torch.optim.Adam(list(model.energy.parameters()) + list(model.optimizer.parameters()), lr=cfg.lr_temporal)
    optimizers = {"init": init_opt, "energy": energy_opt, "temporal": temporal_opt}
    if resume and last.exists():
        ck = torch.load(last, map_location=device, weights_only=True)
        model.load_state_dict(ck["weights"])
        # energy / temporal restarts get a fresh Adam; init-extra keeps the initial net's (it continues that net)
        fresh = {"energy": ("energy", "temporal"), "temporal": ("temporal",)}.get(restart_stage, ())
        for name, opt in optimizers.items():
            if name not in fresh:
                _load_optimizer(name, opt, ck["optimizer"].get(name))
        state = ck["metadata"]["progress"]
        if restart_stage is not None:
            state.update(stage=restart_stage, iter=0)
        log.info("resuming at stage %s iteration %d", state["stage"], state["iter"])
    noise = replace(DetectorNoise.training(), body_only_prob=cfg.body_only_prob)
    sampler = PoseSampler(train_clips, camera_ranges(cfg.cameras), noise, cfg.lifter.input_skeleton,
                          seed=cfg.seed + 7919 * state["iter"], target_fps=cfg.target_fps, augment=body_augment(cfg))

    def save_last(it: int, stage: str) -> None:
        state.update(stage=stage, iter=it)
        ck = checkpoint_dict(model, cfg, {"progress": state}, optimizers)
        torch.save(ck, last)

    if state["stage"] == "init":
        t0 = timer()
        train_stage(model, sampler, init_opt, cfg.init_iters, lambda b, it: init_loss(model, b, cfg), "init net",
                    cfg.batch_size, start=state["iter"], on_checkpoint=lambda it: save_last(it, "init"), device=device,
                    lr_final=cfg.lr_final)
        state["seconds"]["init"] += timer() - t0
        save_last(0, "init-extra" if cfg.method == "init-only" else "energy")
    if cfg.method == "init-only" and state["stage"] == "init-extra":
        # The ablation's stand-in for the energy stage: more init iterations, its own lr schedule (restarts like stage 2)
        t0 = timer()
        train_stage(model, sampler, init_opt, cfg.init_only_extra_iters, lambda b, it: init_loss(model, b, cfg),
                    "init net (extra)", cfg.batch_size, start=state["iter"],
                    on_checkpoint=lambda it: save_last(it, "init-extra"), device=device, lr_final=cfg.lr_final)
        state["seconds"]["init"] += timer() - t0
        save_last(cfg.init_only_extra_iters, "init-extra")  # with this stage's seconds: a later --resume keeps them
    if cfg.method == "ige" and state["stage"] == "energy":
        model.init_net.requires_grad_(cfg.init_lr_in_energy_stage > 0)
        gen = torch.Generator().manual_seed(cfg.seed)
        lo, hi = cfg.train_steps

        size_weight = cfg.size_loss_weight if cfg.init_lr_in_energy_stage > 0 else 0.0

        def loss_fn(batch, it):
            steps = int(torch.randint(lo, hi + 1, (1,), generator=gen))
            return descent_loss(model, batch, steps, size_weight)

        t0 = timer()
        train_stage(model, sampler, energy_opt, cfg.energy_iters, loss_fn, "energy", cfg.batch_size,
                    start=state["iter"], on_checkpoint=lambda it: save_last(it, "energy"), device=device,
                    lr_final=cfg.lr_final)
        state["seconds"]["energy"] += timer() - t0
        save_last(cfg.energy_iters, "energy")  # a later --resume with more energy_iters continues from here
    if cfg.method == "ige" and cfg.temporal_iters > 0 and state["stage"] in ("energy", "temporal"):
        _temporal_stage(model, cfg, train_clips, noise, state, save_last, optimizers, device)
    return _finish(model, cfg, val_clips, out, state)


def _temporal_stage(model, cfg: TrainConfig, train_clips, noise, state: dict, save_last, optimizers: dict, device) -> None:
    """Stage 3: energy, optimizer and temporal term on windows of consecutive frames (initial net frozen)."""
    if state["stage"] == "energy":  # the temporal parameters never saw history before: start them from defaults
        model.energy.temporal.reset_parameters()
        state["iter"] = 0
    model.init_net.requires_grad_(False)
    windows = WindowSampler(train_clips, camera_ranges(cfg.cameras), noise, cfg.lifter.input_skeleton,
                            seed=cfg.seed + 104729 + 7919 * state["iter"], augment=body_augment(cfg),
                            window=cfg.temporal_window, rates=cfg.temporal_rates, drop_prob=cfg.temporal_drop)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    lo, hi = cfg.train_steps

    def loss_fn(windowed, it):
        steps = int(torch.randint(lo, hi + 1, (1,), generator=gen))
        return window_loss(model, windowed.batch, windowed.dt, steps)

    t0 = timer()
    train_stage(model, windows, optimizers["temporal"], cfg.temporal_iters, loss_fn, "temporal",
                cfg.batch_size, start=state["iter"] if state["stage"] == "temporal" else 0,
                on_checkpoint=lambda it: save_last(it, "temporal"), device=device, lr_final=cfg.lr_final)
    state["seconds"]["temporal"] = state["seconds"].get("temporal", 0.0) + timer() - t0
    save_last(cfg.temporal_iters, "temporal")


def _load_optimizer(name: str, opt: torch.optim.Optimizer, saved: dict | None) -> None:
    """Restore an optimizer; one that never stepped may come from a model with fewer parameters: start it afresh."""
    if saved is None:
        return
    try:
        opt.load_state_dict(saved)
    except ValueError as err:
        if saved.get("state"):
            raise
        log.info("%s optimizer starts afresh (%s)", name, err)


def _energy_optimizer(model: IGEPoseModel, cfg: TrainConfig) -> torch.optim.Optimizer:
    groups = [{"params": list(model.energy.parameters()) + list(model.optimizer.parameters()), "lr": cfg.lr_energy}]
    if cfg.init_lr_in_energy_stage > 0:
        groups.append({"params": list(model.init_net.parameters()), "lr": cfg.init_lr_in_energy_stage})
    return torch.optim.Adam(groups)


def val_batch(cfg: TrainConfig, val_clips):
    """The final val check of a run: ``standard-13`` for that preset, else the preset's seeded 2 px set."""
    if "standard13" in cfg.cameras:
        return standard13_eval_set(val_clips, seed=cfg.seed + 1, input_skeleton=cfg.lifter.input_skeleton)
    return fixed_eval_set(val_clips, cfg.val_samples, camera_ranges(cfg.cameras), DetectorNoise(sigma_px=2.0),
                          seed=cfg.seed + 1, input_skeleton=cfg.lifter.input_skeleton)


def _finish(model: IGEPoseModel, cfg: TrainConfig, val_clips, out: Path, state: dict) -> dict:
    meta = {"method": cfg.method, "progress": dict(state, stage="done"), "train_seconds": sum(state["seconds"].values()),
            "step_size": model.optimizer.step_size.item(), "torch": str(torch.__version__)}
    if val_clips:
        batch = val_batch(cfg, val_clips).to(next(model.parameters()).device)
        meta["val_2px"] = {str(k): v for k, v in evaluate_steps(model, batch).items()}
        for k, v in meta["val_2px"].items():
            log.info("val (2 px) steps=%s: %s", k, {n: round(x, 2) for n, x in v.items()})
    model.cpu()
    torch.save(checkpoint_dict(model, cfg, meta), out / "lifter.pt")
    (out / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    log.info("wrote %s", out / "lifter.pt")
    return meta


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``learned-energy-ros train-lifter``."""
    args = _parser().parse_args(argv)
    cfg = resolve_config(args)
    out = Path(args.out)
    train_clips = _load_clips(args.data, fps=None if cfg.target_fps is None or cfg.target_fps > 30 else 30.0)
    val_clips = _load_clips(args.val) if args.val else []
    if cfg.method not in IGE_METHODS:
        try:
            from learned_energy_ros.pose.baselines import train_baseline
        except ImportError as err:
            raise SystemExit(f"method {cfg.method!r} needs learned_energy_ros.pose.baselines.train_baseline: {err}")
        raw = yaml.safe_load(Path(args.config).read_text()) if args.config else {}
        train_baseline(cfg.method, train_clips, val_clips, {**(raw or {}), **cfg.to_dict()}, out)  # keeps a 'baseline:' section
        return 0
    meta = run(cfg, train_clips, val_clips, out, resume=args.resume, restart_stage=args.restart_stage)
    print(f"trained {cfg.method} in {meta['train_seconds']:.0f} s -> {out / 'lifter.pt'}")
    return 0
