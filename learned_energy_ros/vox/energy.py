"""Concatenation-projection energy: voxel grids scored by a small 2D CNN, no 3D convolutions.

The grid (B, R, R, R) indexed [i, j, k] (column, row, depth) is seen as an
image (B, R, R, R) of R depth channels over rows and columns; it is average
pooled to every image-feature scale, concatenated with the features there and
scored by a small CNN per scale. The energy is the sum over scales and pixels:
one scalar per sample.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["concat_project", "ConcatEnergy"]


def concat_project(occupancy: torch.Tensor, size: int) -> torch.Tensor:
    """Turn a frustum grid into a depth-channel image at ``size`` x ``size``.

    Args:
        occupancy: (B, R, R, R) values indexed [b, i, j, k].
        size: output spatial size (average pooled when smaller than R, nearest-upsampled when larger).

    Returns:
        (B, R, size, size) tensor indexed [b, k, j, i] (channels = depth bins, rows, columns).
    """
    assert occupancy.ndim == 4 and occupancy.shape[1] == occupancy.shape[2] == occupancy.shape[3], \
        f"expected (B, R, R, R), got {tuple(occupancy.shape)}"
    image = occupancy.permute(0, 3, 2, 1)  # (B, R_k, R_j, R_i)
    R = image.shape[-1]
    if size < R:
        return F.adaptive_avg_pool2d(image, size)
    if size > R:
        return F.interpolate(image, size=(size, size), mode="nearest")
    return image


class _ScaleEnergy(nn.Module):
    def __init__(self, cin: int, hidden: int):
        super().__init__()
        # Softplus, not ReLU: the descent differentiates through this network twice in training
        self.net = nn.Sequential(nn.Conv2d(cin, hidden, 3, padding=1), nn.Softplus(),
                                 nn.Conv2d(hidden, hidden, 3, padding=1), nn.Softplus(),
                                 nn.Conv2d(hidden, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(1).sum(1)  # (B,)


class ConcatEnergy(nn.Module):
    """E(occupancy, image features) -> (B,) energies.

    Args:
        resolution: voxel grid R (the number of depth channels).
        feature_channels: channels of each image-feature scale.
        num_scales: how many feature scales are scored.
        hidden: hidden channels of each per-scale CNN.
    """

    def __init__(self, resolution: int, feature_channels: int, num_scales: int = 3, hidden: int = 32):
        super().__init__()
        self.resolution = resolution
        self.scales = nn.ModuleList(_ScaleEnergy(resolution + feature_channels, hidden) for _ in range(num_scales))

    def forward(self, occupancy: torch.Tensor, features: list[torch.Tensor]) -> torch.Tensor:
        """Score occupancy probabilities (B, R, R, R) against features [(B, C, s, s), ...]; returns (B,)."""
        assert occupancy.shape[1] == self.resolution, f"grid R={occupancy.shape[1]} != energy R={self.resolution}"
        total = occupancy.new_zeros(occupancy.shape[0])
        for net, feat in zip(self.scales, features):
            v = concat_project(occupancy, feat.shape[-1])  # (B, R, s, s)
            total = total + net(torch.cat([v, feat], dim=1))
        return total
