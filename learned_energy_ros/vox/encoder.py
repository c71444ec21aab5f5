"""MobileNetV2-style image encoder with U-Net-style multi-scale features (own code, no torchvision)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["Encoder", "InvertedResidual", "make_divisible"]

# MobileNetV2 stages cut to the depth a 64-128 px input needs: (expansion t, channels c, repeats n, stride s).
STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 2, 2), (6, 64, 2, 2))


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor`` (as MobileNetV2 does), never below 90 %."""
    out = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return out + divisor if out < 0.9 * value else out


def _conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU6(inplace=True)) if act else nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise 3x3 -> linear projection (1x1), residual when shapes match."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int):
        super().__init__()
        hidden = cin * expansion
        layers = [_conv_bn(cin, hidden, 1)] if expansion != 1 else []
        layers += [_conv_bn(hidden, hidden, 3, stride, groups=hidden), _conv_bn(hidden, cout, 1, act=False)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


class Encoder(nn.Module):
    """Image (B, 3, S, S) -> U-Net features at S/2, S/4, S/8 (finest first), each ``features`` channels.

    Args:
        width_mult: MobileNetV2 width multiplier (channels scale).
        features: channels of every output scale.
    """

    def __init__(self, width_mult: float = 1.0, features: int = 32):
        super().__init__()
        c0 = make_divisible(32 * width_mult)
        self.stem = _conv_bn(3, c0, 3, 2)
        self.stages = nn.ModuleList()
        skips, cin = [], c0
        for t, c, n, s in STAGES:
            cout = make_divisible(c * width_mult)
            blocks = [InvertedResidual(cin if i == 0 else cout, cout, s if i == 0 else 1, t) for i in range(n)]
            self.stages.append(nn.Sequential(*blocks))
            skips.append(cout)
            cin = cout
        # stage outputs are at S/2, S/4, S/8, S/16; the decoder merges top-down into S/8, S/4, S/2
        self.lateral = nn.ModuleList(nn.Conv2d(c, features, 1) for c in skips)
        self.smooth = nn.ModuleList(_conv_bn(features, features, 3) for _ in skips[:-1])
        self.features = features

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        """Return [f_{S/2}, f_{S/4}, f_{S/8}], each (B, features, s, s)."""
        assert image.ndim == 4 and image.shape[1] == 3, f"expected (B, 3, S, S), got {tuple(image.shape)}"
        x = self.stem(image)
        outs = []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        top = self.lateral[-1](outs[-1])  # (B, F, S/16, S/16)
        feats = []
        for level in range(len(outs) - 2, -1, -1):
            top = F.interpolate(top, size=outs[level].shape[-2:], mode="nearest") + self.lateral[level](outs[level])
            top = self.smooth[level](top)
            feats.append(top)
        return feats[::-1]  # finest first
