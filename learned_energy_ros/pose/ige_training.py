"""Training loops of the IGE lifter: pretrain the initial net, then shape the energy for unrolled descent."""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import torch
from tqdm import tqdm

from learned_energy_ros.core.virtual_camera import CameraRanges
from learned_energy_ros.core.skeleton import TRAINING_SKELETON, get_skeleton
from learned_energy_ros.pose.batch import PoseBatch
from learned_energy_ros.pose.canonical import to_canonical
from learned_energy_ros.pose.model import IGEPoseModel, LifterConfig

__all__ = ["TrainConfig", "CAMERA_PRESETS", "camera_ranges", "Targets", "targets", "init_loss", "descent_loss",
           "window_loss", "train_stage", "checkpoint_dict"]

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Everything a training run needs besides the data (written beside the checkpoint)."""

    method: str = "ige"  # "ige" (init then energy) or "init-only" (the ablation: init net alone)
    seed: int = 0
    batch_size: int = 256  # small nets, CPU: bigger batches only cost time
    init_iters: int = 3000  # stage 1: initial net alone
    energy_iters: int = 1500  # stage 2: energy + optimizer, initial net frozen or slowed
    lr_init: float = 2e-3
    lr_energy: float = 2e-3
    lr_final: float = 1.0  # learning-rate multiplier reached at the end of each stage (exponential decay; 1 = constant)
    # > 0: the initial net trains through the descent at this lr (plus its size loss); 0 = frozen while the energy trains
    init_lr_in_energy_stage: float = 0.0
    train_steps: tuple = (1, 6)  # random unrolled step count per batch (covers inference defaults)
    size_loss_weight: float = 1.0  # weight of |log size error| against pose error (person-size units)
    init_only_extra_iters: int = 6000  # init-only ablation: extra init iterations ~ the energy stage's wall time
    target_fps: float | None = 30.0  # mocap frames kept per second (None: every frame of the source)
    mirror_prob: float = 0.0  # left-right mirrored training poses (BodyAugment)
    segment_std: float = 0.0  # std of the log length factor per body segment (BodyAugment)
    stature: list | None = None  # [mean, std] stature (m) training poses are scaled to; None keeps the subjects'
    body_only_prob: float = 0.0  # per-person probability that face / torso points are missing in training 2D
    temporal_iters: int = 0  # stage 3: energy + temporal term on windows of consecutive frames (0 = skip)
    temporal_window: int = 4  # frames per window (the first has no history, so single frames keep training)
    temporal_rates: tuple = (10.0, 15.0, 30.0, 60.0)  # camera rates (Hz) the windows are drawn at
    temporal_drop: float = 0.2  # probability that each later frame of a window is dropped
    lr_temporal: float = 5e-4  # fine-tuning: the energy is already trained
    val_samples: int = 1024
    threads: int = 1  # torch CPU threads (the machines are shared)
    device: str = "auto"
    cameras: str = "broad"  # virtual camera preset for training and the final val check: broad | narrow | unseen | standard13
    lifter: LifterConfig = field(default_factory=LifterConfig)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Build from a (YAML) mapping, ignoring unknown keys; ``lifter`` may be a nested mapping."""
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in names}
        if isinstance(kw.get("lifter"), dict):
            kw["lifter"] = LifterConfig.from_dict(kw["lifter"])
        for key in ("train_steps", "temporal_rates"):
            if key in kw:
                kw[key] = tuple(kw[key])
        cfg = cls(**kw)
        camera_ranges(cfg.cameras)  # fail early on an unknown preset
        return cfg

    def to_dict(self) -> dict:
        d = asdict(self)
        d["train_steps"] = list(self.train_steps)
        d["temporal_rates"] = list(self.temporal_rates)
        return d


CAMERA_PRESETS = ("broad", "narrow", "unseen", "standard13", "broad+standard13")


def camera_ranges(name: str):
    """``CameraRanges`` preset named by ``TrainConfig.cameras``.

    Args:
        name: one of ``CAMERA_PRESETS``.

    Returns:
        The preset's ``CameraRanges`` (``Standard13Cameras`` for ``standard13``).
    """
    if name not in CAMERA_PRESETS:
        raise ValueError(f"unknown camera preset {name!r}; expected one of {CAMERA_PRESETS}")
    from learned_energy_ros.core.protocol_cameras import MixedCameras, Standard13Cameras

    if name == "standard13":
        return Standard13Cameras()
    if name == "broad+standard13":  # half the cameras of each: the protocol's views and the broad lens variety
        return MixedCameras((CameraRanges.broad(), Standard13Cameras()))
    return getattr(CameraRanges, name)()


def body_augment(cfg: "TrainConfig"):
    """The ``BodyAugment`` a config asks for, or None when every augmentation is off."""
    from learned_energy_ros.pose.augment import BodyAugment

    if cfg.mirror_prob <= 0 and cfg.segment_std <= 0 and cfg.stature is None:
        return None
    return BodyAugment(cfg.mirror_prob, cfg.segment_std, tuple(cfg.stature) if cfg.stature is not None else None)


@dataclass
class Targets:
    """Ground truth of a batch in the model's canonical frame."""

    pose: torch.Tensor  # (B, 17, 3) person-size units
    log_size: torch.Tensor  # (B,) log metric size (m)


def targets(model: IGEPoseModel, batch: PoseBatch, can) -> Targets:
    """Express ``batch.joints_cam`` in the canonical frame of ``can``."""
    pose, depth = to_canonical(batch.joints_cam, can.R, can.scale, root=get_skeleton(TRAINING_SKELETON).root_index)
    return Targets(pose=pose, log_size=torch.log((depth * can.scale).clamp_min(1e-6)))


# Samples with fewer observed joints than this are too ambiguous to teach anything (their canonical size is noise).
MIN_OBSERVED = 6
# Per-sample error cap (person-size units): a rare degenerate view must not dominate a batch.
MAX_SAMPLE_ERR = 3.0


def _joint_err(pose: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    err = (pose - target).norm(dim=-1).mean(-1)  # (B,)
    err = torch.where(torch.isfinite(err), err.clamp(max=MAX_SAMPLE_ERR), torch.full_like(err, MAX_SAMPLE_ERR))
    if valid is None:
        return err.mean()
    return torch.where(valid > 0, err, torch.zeros_like(err)).sum() / valid.sum().clamp_min(1)


def init_loss(model: IGEPoseModel, batch: PoseBatch, cfg: TrainConfig) -> tuple[torch.Tensor, dict]:
    """Loss of the initial net: mean joint error (person units) + weighted |log size error|."""
    can = model.canonical(batch.normalized, batch.scores)
    tgt = targets(model, batch, can)
    pose, size = model.initial(can, batch.scores)
    valid = (can.mask.sum(-1) >= MIN_OBSERVED).to(pose.dtype)
    size_err = _size_err(size, tgt, valid)
    pose_err = _joint_err(pose, tgt.pose, valid)
    return pose_err + cfg.size_loss_weight * size_err, {"pose": pose_err.item(), "size": size_err.item()}


def _size_err(size: torch.Tensor, tgt: Targets, valid: torch.Tensor) -> torch.Tensor:
    """Mean |log metric size error| over the valid samples (capped per sample)."""
    err = torch.where(valid > 0, (torch.log(size) - tgt.log_size).abs().clamp(max=MAX_SAMPLE_ERR), torch.zeros_like(size))
    return err.sum() / valid.sum().clamp_min(1)


def descent_loss(model: IGEPoseModel, batch: PoseBatch, steps: int, size_weight: float = 0.0) -> tuple[torch.Tensor, dict]:
    """Outer loss: joint error of every iterate 1..steps, weighted by its index (later steps count more).

    ``size_weight`` > 0 adds the initial net's |log size error| (when the initial net trains with the energy, its
    size head would otherwise get no signal while the layers it shares with the pose drift).
    """
    can = model.canonical(batch.normalized, batch.scores)
    tgt = targets(model, batch, can)
    pose0, size = model.initial(can, batch.scores)
    iterates = model.descend(pose0, model.context(can, batch.scores), steps, create_graph=True)
    weights = torch.arange(1, steps + 1, dtype=pose0.dtype)
    weights = weights / weights.sum()
    valid = (can.mask.sum(-1) >= MIN_OBSERVED).to(pose0.dtype)
    errs = torch.stack([_joint_err(p, tgt.pose, valid) for p in iterates[1:]])
    loss = (weights * errs).sum()
    if size_weight > 0:
        loss = loss + size_weight * _size_err(size, tgt, valid)
    return loss, {"first": _joint_err(pose0, tgt.pose, valid).item(), "last": errs[-1].item()}


def window_loss(model: IGEPoseModel, batch: PoseBatch, dt: torch.Tensor, steps: int) -> tuple[torch.Tensor, dict]:
    """Outer loss over windows (W, T) of consecutive frames, run in order as a tracker would.

    Frame 0 of a window has no history; each later frame gets the model's own previous output (detached, as at
    inference), its real ``dt``, the temporal term and the warm start. Every iterate of every frame counts.
    """
    W, T = dt.shape
    weights = torch.arange(1, steps + 1, dtype=torch.float32)
    weights = weights / weights.sum()
    losses, previous, first, last = [], None, 0.0, 0.0
    for t in range(T):
        frame = batch.index(torch.arange(t, W * T, T, device=batch.scores.device))  # frame t of every window
        can = model.canonical(frame.normalized, frame.scores)
        tgt = targets(model, frame, can)
        pose0, size = model.initial(can, frame.scores)
        ctx = model.context(can, frame.scores)
        if previous is not None:
            ctx = model.with_previous(ctx, can, size, previous, dt[:, t].to(size.device))
            pose0 = model.energy.temporal.warm_start(pose0, ctx)
        iterates = model.descend(pose0, ctx, steps, create_graph=True)
        valid = (can.mask.sum(-1) >= MIN_OBSERVED).to(pose0.dtype)
        errs = torch.stack([_joint_err(p, tgt.pose, valid) for p in iterates[1:]])
        losses.append((weights.to(errs.device) * errs).sum())
        previous = model.to_metric(iterates[-1], can, size).detach()
        if t == T - 1:
            first, last = _joint_err(pose0, tgt.pose, valid).item(), errs[-1].item()
    return torch.stack(losses).mean(), {"start": first, "last": last}


def train_stage(model: IGEPoseModel, sampler, opt, iters: int, loss_fn, desc: str, batch_size: int, start: int = 0,
                on_checkpoint=None, every: int = 500, device="cpu", lr_final: float = 1.0) -> None:
    """Run ``iters`` Adam iterations of ``loss_fn(batch, it) -> (loss, info)`` with a progress bar.

    The learning rate of every group decays exponentially from its ``initial_lr`` to ``lr_final`` times it at ``iters``.
    """
    bar = tqdm(range(start, iters), desc=desc, initial=start, total=iters, mininterval=2.0)
    ema = None
    for group in opt.param_groups:
        group.setdefault("initial_lr", group["lr"])
    for it in bar:
        for group in opt.param_groups:
            group["lr"] = group["initial_lr"] * lr_final ** (it / max(iters, 1))
        batch = sampler.sample(batch_size).to(device)
        loss, info = loss_fn(batch, it)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        value = loss.item()
        ema = value if ema is None else 0.98 * ema + 0.02 * value
        bar.set_postfix(loss=f"{ema:.4f}", **{k: f"{v:.3f}" for k, v in info.items()})
        if on_checkpoint is not None and (it + 1) % every == 0:
            on_checkpoint(it + 1)


def checkpoint_dict(model: IGEPoseModel, cfg: TrainConfig, metadata: dict, optimizer=None) -> dict:
    """Checkpoint content: weights + model_args + config + skeletons + metadata (plain types and tensors only)."""
    ckpt = {
        "format": "learned_energy_ros.ige_lifter/1",
        "weights": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "model_args": model.model_args(),
        "config": cfg.to_dict(),
        "skeletons": {
            "input": cfg.lifter.input_skeleton, "input_joints": list(get_skeleton(cfg.lifter.input_skeleton).joints),
            "output": TRAINING_SKELETON, "output_joints": list(get_skeleton(TRAINING_SKELETON).joints),
        },
        "metadata": metadata,
    }
    if optimizer is not None:  # a dict of optimizers (resumable runs)
        ckpt["optimizer"] = {k: o.state_dict() for k, o in optimizer.items()}
    return ckpt


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)


def timer() -> float:
    return time.perf_counter()
