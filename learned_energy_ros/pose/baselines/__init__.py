"""The lifting baselines of issue 3, trained and evaluated on the same data and cameras as IGE.

Methods (names accepted by ``train_baseline`` / ``train-lifter --method``):

* ``martinez-px-<W>x<B>`` / ``martinez-norm-<W>x<B>``: Martinez et al. 2017 residual MLP
  (``martinez-px`` = ``martinez-px-1024x2``), pixel or camera-normalized input.
* ``gan-prior``: WGAN-GP pose prior fitted to the 2D by multi-start Adam.
* ``reprojection``: no training; reprojection-only refinement of an initial estimate.

Every method maps a ``PoseBatch`` to absolute joints (B, 17, 3) in meters in the
camera optical frame via ``.predict(batch)``.
"""
from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path

import torch

from learned_energy_ros.core.device import resolve_device
from learned_energy_ros.core.metrics import STANDARD13_JOINTS
from learned_energy_ros.core.skeleton import TRAINING_SKELETON
from learned_energy_ros.pose.baselines.baseline_training import BaselineConfig, train_gan, train_martinez
from learned_energy_ros.pose.baselines.features import BaselineError
from learned_energy_ros.pose.baselines.gan_prior import GanArgs, GanPrior
from learned_energy_ros.pose.baselines.martinez import MartinezLifter, parse_method
from learned_energy_ros.pose.baselines.reprojection import ReprojectionFit

__all__ = ["train_baseline", "load_baseline", "default_init_name", "BaselineConfig", "BaselineError", "METHODS", "models_dir",
           "checkpoint_name"]

log = logging.getLogger(__name__)
METHODS = ("martinez-px-<W>x<B>", "martinez-norm-<W>x<B>", "gan-prior", "reprojection")
# float32 weights above this size are stored as float16 (checkpoints must stay small enough to commit).
_HALF_ABOVE_BYTES = 4 * 1024 * 1024


def models_dir() -> Path:
    """Return the folder of the shipped checkpoints."""
    return Path(__file__).resolve().parents[2] / "models"


def checkpoint_name(method: str) -> str:
    """Return the shipped file name of a method (``martinez-norm-256x1`` -> ``martinez_norm_256x1.pt``)."""
    if method.startswith("martinez"):
        a = parse_method(method)
        return f"martinez_{a.input_mode}_{a.width}x{a.blocks}.pt"
    return method.replace("-", "_") + ".pt"


class _Pool:
    """Samples pre-drawn once (each with its own random camera and noise), served as random minibatches.

    Drawing cameras is the slow part of training on 2 shared CPU cores; a large
    pool of independent cameras keeps the variety and is shared by every
    baseline trained in the same process with the same settings.
    """

    def __init__(self, sampler, n: int, seed: int) -> None:
        self.input_skeleton = sampler.input_skeleton
        chunks = [sampler.sample(min(4096, n - i)) for i in range(0, n, 4096)]
        self.batch = chunks[0] if len(chunks) == 1 else _concat(chunks)
        self.gen = torch.Generator().manual_seed(seed)

    def sample(self, batch_size: int):
        return self.batch.index(torch.randint(len(self.batch), (batch_size,), generator=self.gen))


def _concat(batches):
    from dataclasses import replace

    fields = ("keypoints_px", "normalized", "scores", "K", "image_size", "joints_cam")
    return replace(batches[0], **{f: torch.cat([getattr(b, f) for b in batches]) for f in fields})


_POOLS: dict = {}


def _samplers(train_clips, val_clips, cfg: BaselineConfig):
    from learned_energy_ros.core.virtual_camera import DetectorNoise
    from learned_energy_ros.pose.dataset import PoseSampler, fixed_eval_set, standard13_eval_set
    from learned_energy_ros.pose.ige_training import CAMERA_PRESETS, camera_ranges

    if cfg.cameras not in CAMERA_PRESETS:
        raise BaselineError(f"unknown camera preset {cfg.cameras!r}; use one of {sorted(CAMERA_PRESETS)}")
    noise = getattr(DetectorNoise, cfg.noise, None)
    if noise is None:
        raise BaselineError(f"unknown noise preset {cfg.noise!r}")
    ranges = camera_ranges(cfg.cameras)
    sampler = PoseSampler(train_clips, ranges, noise(), input_skeleton=cfg.input_skeleton, seed=cfg.seed,
                          target_fps=cfg.target_fps)
    if cfg.pool_samples > 0:
        key = (id(train_clips), cfg.cameras, cfg.noise, cfg.input_skeleton, cfg.seed, cfg.pool_samples)
        if key not in _POOLS:
            log.info("drawing a pool of %d training samples", cfg.pool_samples)
            _POOLS.clear()
            _POOLS[key] = _Pool(sampler, cfg.pool_samples, cfg.seed)
        sampler = _POOLS[key]
    if cfg.cameras == "standard13":  # model selection on the protocol's own val set, as the outside anchor did
        val = standard13_eval_set(val_clips, seed=cfg.seed + 1, input_skeleton=cfg.input_skeleton)
    else:
        val = fixed_eval_set(val_clips, cfg.val_samples, ranges, seed=cfg.seed + 1, input_skeleton=cfg.input_skeleton)
    return sampler, val


def _state_for_saving(module: torch.nn.Module) -> tuple[dict, str]:
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    nbytes = sum(v.numel() * v.element_size() for v in state.values())
    if nbytes <= _HALF_ABOVE_BYTES:
        return state, "float32"
    return {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}, "float16"


def train_baseline(method: str, train_clips, val_clips, config=None, out_dir=None) -> Path | None:
    """Train a baseline and write its checkpoint.

    Args:
        method: ``martinez-<px|norm>[-<W>x<B>]`` or ``gan-prior``.
        train_clips, val_clips: motion-capture clips (``MocapClip`` or ``SyntheticClip``).
        config: ``BaselineConfig``, a mapping of its fields, or None for defaults.
        out_dir: folder for ``<method>.pt`` (None: do not write).
    Returns:
        the checkpoint path (or None when ``out_dir`` is None).
    """
    cfg = config if isinstance(config, BaselineConfig) else BaselineConfig.from_dict(config)
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(max(1, cfg.threads))
    device = resolve_device(cfg.device)
    if method.startswith("martinez"):
        sampler, val = _samplers(train_clips, val_clips, cfg)
        args = parse_method(method)
        args.dropout = cfg.martinez_dropout
        args.loss, args.other_weight = cfg.martinez_loss, cfg.martinez_other_weight
        args.placement_weight = cfg.martinez_placement_weight
        if cfg.martinez_focus not in ("all", "standard13"):
            raise BaselineError(f"martinez_focus must be 'all' or 'standard13', got {cfg.martinez_focus!r}")
        args.focus_joints = STANDARD13_JOINTS if cfg.martinez_focus == "standard13" else ()
        args.input_skeleton, args.num_input_joints = sampler.input_skeleton, val.keypoints_px.shape[1]
        model = MartinezLifter(args)
        meta = train_martinez(model, sampler, val, cfg, device)
        method = model.method
    elif method == "gan-prior":
        model = GanPrior(GanArgs())
        meta = train_gan(model, train_clips, cfg, device)
    else:
        raise BaselineError(f"unknown baseline {method!r}; trainable methods: {METHODS[:3]}")
    if out_dir is None:
        return None
    state, dtype = _state_for_saving(model)
    ckpt = {
        "kind": "baseline", "method": method, "model_args": model.model_args(), "config": asdict(cfg),
        "state_dict": state, "weights_dtype": dtype,
        "skeletons": {"input": cfg.input_skeleton, "output": TRAINING_SKELETON},
        "metadata": {**meta, "train_clips": len(train_clips), "val_clips": len(val_clips), "torch": str(torch.__version__)},
    }
    path = Path(out_dir) / checkpoint_name(method)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)
    log.info("wrote %s (%.1f MB, weights %s)", path, path.stat().st_size / 1e6, dtype)
    return path


def default_init_name(folder=None) -> str:
    """Return the largest ``martinez_norm_*.pt`` in ``folder`` (default: the shipped models)."""
    shipped = sorted(Path(folder or models_dir()).glob("martinez_norm_*.pt"), key=lambda p: p.stat().st_size)
    if not shipped:
        raise BaselineError("reprojection needs an initial estimate: pass lifter= or ship a martinez_norm checkpoint")
    return str(shipped[-1])


def load_baseline(path_or_name, device="auto", lifter=None):
    """Load a baseline by shipped name (``martinez-norm-256x1``, ``gan-prior``, ``reprojection``) or path.

    Args:
        path_or_name: checkpoint path or method name; ``reprojection:<init>`` starts the
            reprojection fit from the named/given Martinez checkpoint.
        device: ``auto`` | ``cpu`` | ``cuda``.
        lifter: optional IGE lifter; ``reprojection`` then starts from its initial net
            (``lifter.predict(batch, steps=0)``), else from the shipped Martinez-norm.
    Returns:
        an object with ``.method`` and ``.predict(batch) -> (B, 17, 3)``.
    """
    dev = resolve_device(device)
    name = str(path_or_name)
    if name.startswith("reprojection:"):
        init = load_baseline(name.split(":", 1)[1], device)
        return ReprojectionFit(init.predict, init_name=init.method, modules=[init])
    if name == "reprojection":
        if lifter is not None:
            return ReprojectionFit(lambda b: lifter.predict(b, steps=0), init_name="ige-init",
                                   modules=[m for m in [getattr(lifter, "model", None)] if m is not None])
        init = load_baseline(default_init_name(), device)
        return ReprojectionFit(init.predict, init_name=init.method, modules=[init])
    path = Path(name)
    if not path.exists():
        path = models_dir() / checkpoint_name(name)
    if not path.exists():
        raise BaselineError(f"no baseline checkpoint {name!r} (looked for {path})")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if ckpt.get("kind") != "baseline":
        hint = " (it is an IGE lifter: give it with --checkpoint)" if str(ckpt.get("format", "")).startswith(
            "learned_energy_ros.ige_lifter") else ""
        raise BaselineError(f"{path} is not a baseline checkpoint{hint}")
    model = GanPrior(ckpt["model_args"]) if ckpt["method"] == "gan-prior" else MartinezLifter(ckpt["model_args"])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()})
    model.metadata = ckpt.get("metadata", {})
    return model.to(dev).eval()
