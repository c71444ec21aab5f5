"""Reprojection-only fitting: least squares on the 2D error with no learned prior.

Starts from the same initial estimate as IGE (the IGE lifter's initial net,
i.e. ``lifter.predict(batch, steps=0)``, when a lifter is given; otherwise the
camera-normalized Martinez output) and runs a fixed number of Adam steps on
every joint's 3D position against the score-masked squared reprojection error
in undistorted normalized coordinates. Nothing keeps the skeleton plausible:
joints slide along their rays to fit noise, which is why a prior is needed.
"""
from __future__ import annotations

from typing import Callable

import torch

from learned_energy_ros.core.skeleton import TRAINING_SKELETON, joint_mapping
from learned_energy_ros.pose.baselines.features import anchor_and_size, check_batch, visible

_MIN_DEPTH = 0.05  # m; keeps the projection defined while joints move


def observed_pairs(input_skeleton: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (output joint indices, input joint indices) of joints present in both layouts."""
    mapping = joint_mapping(input_skeleton, TRAINING_SKELETON)  # for each output joint: input index or -1
    out_idx = [j for j, i in enumerate(mapping) if i >= 0]
    in_idx = [int(mapping[j]) for j in out_idx]
    return torch.tensor(out_idx, dtype=torch.long), torch.tensor(in_idx, dtype=torch.long)


def reprojection_energy(joints: torch.Tensor, batch, out_idx, in_idx, size: torch.Tensor) -> torch.Tensor:
    """Score-weighted mean squared reprojection error per sample (B,), in person-size units².

    Args:
        joints: (B, 17, 3) camera-frame hypotheses.
        size: (B,) person 2D size (normalized units) that makes the energy scale-free.
    """
    pts = joints[:, out_idx]  # (B, M, 3)
    proj = pts[..., :2] / pts[..., 2:].clamp_min(_MIN_DEPTH)  # (B, M, 2)
    obs = torch.nan_to_num(batch.normalized[:, in_idx])  # (B, M, 2)
    w = visible(batch.scores[:, in_idx]) * batch.scores[:, in_idx]  # (B, M)
    sq = ((proj - obs) ** 2).sum(dim=-1) / size[:, None] ** 2
    return (w * sq).sum(dim=1) / w.sum(dim=1).clamp_min(1e-9)


class ReprojectionFit:
    """Refine an initial 3D estimate by minimising the reprojection error only.

    Args:
        init: callable mapping a ``PoseBatch`` to initial joints (B, 17, 3).
        steps: number of Adam steps.
        lr: Adam step size in meters.
        init_name: label of the initial estimate (for reports).
        modules: modules whose parameters count towards this method's size.
    """

    method = "reprojection"

    def __init__(self, init: Callable, steps: int = 50, lr: float = 0.01, init_name: str = "", modules=()) -> None:
        self.init = init
        self.steps = int(steps)
        self.lr = float(lr)
        self.init_name = init_name
        self.modules = tuple(modules)

    def predict(self, batch) -> torch.Tensor:
        """Return fitted joints (B, 17, 3), meters, camera optical frame."""
        check_batch(batch)
        with torch.no_grad():
            start = self.init(batch).detach()  # (B, 17, 3)
            batch = batch.to(start.device)  # the init method's device (cuda when it runs there)
            _, size = anchor_and_size(batch.normalized, batch.scores, batch.input_skeleton)
        out_idx, in_idx = observed_pairs(batch.input_skeleton)
        joints = start.clone().requires_grad_(True)
        opt = torch.optim.Adam([joints], lr=self.lr)
        with torch.enable_grad():
            for _ in range(self.steps):
                opt.zero_grad()
                energy = reprojection_energy(joints, batch, out_idx, in_idx, size).sum()
                energy.backward()
                opt.step()
        return joints.detach()
