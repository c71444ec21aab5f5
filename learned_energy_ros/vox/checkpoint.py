"""Save/load voxel checkpoints: weights + model_args + configs + training metadata (weights_only-safe)."""
from __future__ import annotations

from pathlib import Path

import torch
import yaml

from learned_energy_ros.data.paths import package_root
from learned_energy_ros.vox.baseline import BaselineConfig, BaselineVoxelModel
from learned_energy_ros.vox.dataset import ViewConfig
from learned_energy_ros.vox.model import IGEConfig, IGEVoxelModel, config_dict

__all__ = ["save_checkpoint", "load_model", "resolve_checkpoint", "build_model", "CheckpointError", "DEFAULT_CHECKPOINTS"]

MODELS = {"ige": (IGEConfig, IGEVoxelModel), "baseline": (BaselineConfig, BaselineVoxelModel)}
#: Shipped checkpoints under learned_energy_ros/models/, by name.
DEFAULT_CHECKPOINTS = {"default": "voxel_ige_32.pt", "ige": "voxel_ige_32.pt", "ige-bce": "voxel_ige_bce_32.pt",
                       "baseline": "voxel_baseline_32.pt"}


class CheckpointError(ValueError):
    """Raised for a missing or malformed voxel checkpoint."""


def build_model(kind: str, args: dict) -> torch.nn.Module:
    """Instantiate an ``"ige"`` or ``"baseline"`` model from its ``model_args``."""
    if kind not in MODELS:
        raise CheckpointError(f"unknown voxel model kind {kind!r}; known: {sorted(MODELS)}")
    cfg_cls, model_cls = MODELS[kind]
    return model_cls(cfg_cls(**args))


def resolve_checkpoint(name: str | Path) -> Path:
    """Map ``default``/``ige``/``baseline`` to the shipped files; other values are paths."""
    if str(name) in DEFAULT_CHECKPOINTS:
        path = package_root() / "learned_energy_ros" / "models" / DEFAULT_CHECKPOINTS[str(name)]
    else:
        path = Path(name).expanduser()
    if not path.is_file():
        raise CheckpointError(f"voxel checkpoint {path} not found")
    return path


def save_checkpoint(path: str | Path, kind: str, model: torch.nn.Module, view_cfg: ViewConfig, meta: dict) -> Path:
    """Write ``path`` (.pt) and a human-readable ``.yaml`` of everything but the weights."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = {"kind": kind, "model_args": config_dict(model.cfg), "view_config": config_dict(view_cfg), "training": meta}
    torch.save({**info, "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}, path)
    path.with_suffix(".yaml").write_text(yaml.safe_dump(info, sort_keys=False))
    return path


def load_model(checkpoint: str | Path = "default", device: str | torch.device = "cpu"):
    """Load a voxel checkpoint.

    Args:
        checkpoint: ``default``/``ige``/``baseline`` or a path.
        device: torch device.

    Returns:
        (model in eval mode, ViewConfig, raw checkpoint dict without weights).
    """
    path = resolve_checkpoint(checkpoint)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        model = build_model(ckpt["kind"], ckpt["model_args"])
        model.load_state_dict(ckpt.pop("state_dict"))
    except (KeyError, RuntimeError, TypeError) as err:
        raise CheckpointError(f"{path}: not a voxel checkpoint ({err})") from None
    vc = {k: tuple(v) if isinstance(v, list) else v for k, v in ckpt["view_config"].items()}
    return model.to(device).eval(), ViewConfig(**vc), ckpt
