"""IGE voxel model: encoder once, initial logits, the core unrolled gradient descent on a learned energy."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from learned_energy_ros.core.unrolled import UnrolledGD
from learned_energy_ros.vox.encoder import Encoder
from learned_energy_ros.vox.energy import ConcatEnergy

__all__ = ["IGEConfig", "IGEVoxelModel", "bce_loss", "soft_iou_loss", "LOSSES", "image_to_tensor", "predict_batches"]


@dataclass
class IGEConfig:
    """Architecture of the IGE voxel model (stored in checkpoints as ``model_args``)."""

    resolution: int = 32  # R: output grid R^3; one code path for 32/64/128
    image_size: int = 64  # S: canonical input size; features at S/2, S/4, S/8
    width_mult: float = 1.0  # MobileNetV2 width multiplier
    features: int = 32  # channels of every U-Net feature scale
    energy_hidden: int = 32  # hidden channels of each per-scale energy CNN
    steps: int = 4  # unrolled descent steps in training (and the default at inference)
    init: str = "decoder"  # initial estimate: "decoder" (light 2D head with R depth channels) or "zeros"
    step_size: float = 1.0  # initial value of the learned per-step size


def image_to_tensor(images) -> torch.Tensor:
    """Map uint8 RGB images (B, S, S, 3) (numpy or torch) to float (B, 3, S, S) in [-1, 1]."""
    t = torch.as_tensor(images)
    assert t.ndim == 4 and t.shape[-1] == 3, f"expected (B, S, S, 3) images, got {tuple(t.shape)}"
    return t.permute(0, 3, 1, 2).float() / 127.5 - 1.0


class IGEVoxelModel(nn.Module):
    """Image -> voxel logits by descent on ``E(sigmoid(logits), features)`` (the core ``UnrolledGD``).

    ``forward`` returns every iterate (initial estimate first), so the loss can weight them all.
    """

    def __init__(self, cfg: IGEConfig):
        super().__init__()
        if cfg.init not in ("decoder", "zeros"):
            raise ValueError(f"init must be 'decoder' or 'zeros', got {cfg.init!r}")
        self.cfg = cfg
        # one learned size per trained step (later steps reuse the last), no clip, no decay. Registered first so
        # that parameters() keeps the order of the checkpoints (step sizes first), and with it Adam's state order.
        self.optimizer = UnrolledGD(cfg.step_size, clip=None, decay=None, per_step=cfg.steps)
        self.encoder = Encoder(cfg.width_mult, cfg.features)
        self.energy = ConcatEnergy(cfg.resolution, cfg.features, 3, cfg.energy_hidden)
        # initial estimate as an image of R depth channels from the finest features (no 3D convs)
        self.init_head = nn.Conv2d(cfg.features, cfg.resolution, 3, padding=1) if cfg.init == "decoder" else None
        self.register_load_state_dict_pre_hook(_rename_legacy_keys)

    def initial(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Return initial logits (B, R, R, R) indexed [b, i, j, k]."""
        B, R = features[0].shape[0], self.cfg.resolution
        if self.init_head is None:
            return features[0].new_zeros(B, R, R, R)
        img = F.interpolate(self.init_head(features[0]), size=(R, R), mode="bilinear", align_corners=False)
        return img.permute(0, 3, 2, 1)  # (B, R_k, R_j, R_i) -> (B, i, j, k)

    def descend(self, logits: torch.Tensor, features: list[torch.Tensor], steps: int,
                create_graph: bool) -> list[torch.Tensor]:
        """Run ``steps`` gradient steps on the logits (B, R, R, R); return all iterates including the start."""
        energy_fn = lambda x: self.energy(torch.sigmoid(x), features)  # noqa: E731  (B,): samples independent
        return self.optimizer(logits, energy_fn, steps, create_graph)

    def forward(self, images: torch.Tensor, steps: int | None = None) -> list[torch.Tensor]:
        """Return logits iterates [(B, R, R, R)] x (steps + 1) for images (B, 3, S, S)."""
        assert images.ndim == 4 and images.shape[1] == 3, f"expected (B, 3, S, S), got {tuple(images.shape)}"
        features = self.encoder(images)
        steps = self.cfg.steps if steps is None else steps
        return self.descend(self.initial(features), features, steps, create_graph=self.training)


def _rename_legacy_keys(module, state_dict, prefix, *_) -> None:
    """Load checkpoints written before the model used the core optimizer (``log_step`` -> ``optimizer.log_step``)."""
    if prefix + "log_step" in state_dict and prefix + "optimizer.log_step" not in state_dict:
        state_dict[prefix + "optimizer.log_step"] = state_dict.pop(prefix + "log_step")


def predict_batches(model, images: np.ndarray, device, steps: int | None = None, batch: int = 32) -> list[np.ndarray]:
    """Return per-iterate probabilities [(N, R, R, R)] of a model over uint8 images (N, S, S, 3)."""
    model.eval()
    outs = None
    for s in range(0, len(images), batch):
        with torch.no_grad():
            its = model(image_to_tensor(images[s:s + batch]).to(device), steps=steps)
        probs = [torch.sigmoid(x).cpu().numpy() for x in its]
        outs = probs if outs is None else [np.concatenate([a, b]) for a, b in zip(outs, probs)]
    return outs


def bce_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean voxel binary cross-entropy of logits (B, R, R, R) against {0, 1} targets."""
    return F.binary_cross_entropy_with_logits(logits, target.float())


def soft_iou_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - soft IoU per sample, averaged: IoU with probabilities in place of hard occupancy."""
    p = torch.sigmoid(logits).flatten(1)
    t = target.float().flatten(1)
    inter = (p * t).sum(1)
    union = (p + t - p * t).sum(1)
    return (1.0 - inter / union.clamp_min(1e-6)).mean()


LOSSES = {"bce": bce_loss, "soft-iou": soft_iou_loss}


def config_dict(cfg) -> dict:
    """Return a dataclass config as plain python (tuples become lists), safe for weights_only checkpoints."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}
