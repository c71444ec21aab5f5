"""3D-R2N2-style baseline: the same image encoder + a feed-forward 3D transposed-convolution decoder."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from learned_energy_ros.vox.encoder import Encoder

__all__ = ["BaselineConfig", "BaselineVoxelModel"]


@dataclass
class BaselineConfig:
    """Architecture of the baseline (stored in checkpoints as ``model_args``)."""

    resolution: int = 32  # R (power of two, >= 8); each transposed conv doubles 4^3 -> R^3
    image_size: int = 64  # S: canonical input size
    width_mult: float = 1.0  # encoder width multiplier (same encoder as IGE)
    features: int = 32  # encoder feature channels
    latent: int = 16  # channels of the 4^3 latent grid (the fc into it dominates the size)


class BaselineVoxelModel(nn.Module):
    """Image (B, 3, S, S) -> logits (B, R, R, R); ``forward`` returns a one-element list like IGE."""

    def __init__(self, cfg: BaselineConfig):
        super().__init__()
        ups = int(round(math.log2(cfg.resolution / 4)))
        if cfg.resolution < 8 or 4 * 2 ** ups != cfg.resolution:
            raise ValueError(f"baseline resolution must be 4 * 2^n >= 8, got {cfg.resolution}")
        self.cfg = cfg
        self.encoder = Encoder(cfg.width_mult, cfg.features)
        self.fc = nn.Linear(cfg.features * 16, cfg.latent * 64)  # coarsest features pooled to 4x4 -> 4^3 latent
        layers, c = [], cfg.latent
        for _ in range(ups):
            cout = max(8, c // 2)
            layers += [nn.ConvTranspose3d(c, cout, 4, 2, 1), nn.BatchNorm3d(cout), nn.ReLU(inplace=True)]
            c = cout
        layers.append(nn.Conv3d(c, 1, 3, padding=1))
        self.decoder = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor, steps: int | None = None) -> list[torch.Tensor]:
        """Return [logits (B, R, R, R)] indexed [b, i, j, k]; ``steps`` is ignored (feed-forward)."""
        feats = self.encoder(images)[-1]  # (B, F, S/8, S/8)
        pooled = nn.functional.adaptive_avg_pool2d(feats, 4).flatten(1)  # (B, F*16)
        latent = torch.relu(self.fc(pooled)).view(-1, self.cfg.latent, 4, 4, 4)
        return [self.decoder(latent)[:, 0]]
