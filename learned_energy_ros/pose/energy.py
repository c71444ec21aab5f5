"""The learned pose energies (paper names): consistency, feasibility, temporal.

All terms act on a canonical pose ``P`` (B, 17, 3) in person-size units (see
``pose.canonical``), so the same gradients serve a person at 2 m and at 15 m.
Networks use softplus only: the optimizer differentiates through their gradients.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from learned_energy_ros.core.skeleton import TRAINING_SKELETON, get_skeleton, joint_mapping
from learned_energy_ros.pose.canonical import project_canonical

__all__ = ["EnergyContext", "ConsistencyEnergy", "FeasibilityEnergy", "TemporalEnergy", "PoseEnergy", "SoftplusMLP", "pairwise_sq"]


@dataclass
class EnergyContext:
    """Per-sample constants of one descent.

    Attributes:
        obs: (B, Jo, 2) observed canonical 2D (person-size units), 0 where masked.
        mask: (B, Jo) float, 1 = observed.
        scores: (B, Jo) detector scores (0 where masked).
        scale: (B,) 2D person size (perspective strength of the canonical projection).
        previous: (B, 17, 3) previous canonical pose of the track, or None.
        temporal_weight: (B,) user weight of the temporal term (0 = no history).
        dt: (B,) seconds between ``previous`` and this frame (None: ``TemporalEnergy.DEFAULT_DT``).
        trust: (B,) weight of the consistency term, or None (1): how far the observed 2D can be trusted given its
            pixel noise and the person's size in pixels (``IGEPoseModel.context``).
    """

    obs: torch.Tensor
    mask: torch.Tensor
    scores: torch.Tensor
    scale: torch.Tensor
    previous: torch.Tensor | None = None
    temporal_weight: torch.Tensor | None = None
    dt: torch.Tensor | None = None
    trust: torch.Tensor | None = None

    def expand(self, k: int) -> "EnergyContext":
        """Repeat every sample ``k`` times (for multi-hypothesis descents; sample-major order)."""
        rep = lambda t: None if t is None else t.repeat_interleave(k, 0)  # noqa: E731
        return EnergyContext(rep(self.obs), rep(self.mask), rep(self.scores), rep(self.scale), rep(self.previous),
                             rep(self.temporal_weight), rep(self.dt), rep(self.trust))


class SoftplusMLP(nn.Module):
    """``in -> hidden (softplus) -> outputs (softplus)``, summed: a smooth, non-negative scalar per sample."""

    def __init__(self, n_in: int, hidden: int, outputs: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(n_in, hidden)
        self.out = nn.Linear(hidden, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softplus(self.out(F.softplus(self.hidden(x)))).sum(-1)


def pairwise_sq(points: torch.Tensor, iu: torch.Tensor) -> torch.Tensor:
    """Squared distances (B, P) of the point pairs ``iu`` (2, P) of ``points`` (B, N, D)."""
    diff = points[:, iu[0]] - points[:, iu[1]]
    return (diff * diff).sum(-1)


def _triu(n: int) -> torch.Tensor:
    return torch.triu_indices(n, n, offset=1)


class ConsistencyEnergy(nn.Module):
    """How well the projected hypothesis explains the observed 2D.

    A softplus MLP on the pairwise squared distances of concat(projected hypothesis, observed joints) — pairs
    that involve a missing observation are zeroed and the MLP is told which joints are missing — plus a robust,
    score-weighted reprojection term on the joints both layouts share (Cauchy kernel with a learned width, so a
    confident outlier costs a bounded amount). The sum is scaled by the context's ``trust`` when it has one.

    Args:
        input_skeleton: 2D layout of the observations.
        hidden, outputs: MLP sizes.
    """

    def __init__(self, input_skeleton: str = "coco17", hidden: int = 64, outputs: int = 8) -> None:
        super().__init__()
        n_pose, n_obs = len(get_skeleton(TRAINING_SKELETON)), len(get_skeleton(input_skeleton))
        self.n_pose = n_pose
        self.register_buffer("iu", _triu(n_pose + n_obs), persistent=False)
        match = joint_mapping(TRAINING_SKELETON, input_skeleton)  # (Jo,) pose index of each observed joint
        self.register_buffer("obs_idx", torch.as_tensor(np.flatnonzero(match >= 0)), persistent=False)
        self.register_buffer("pose_idx", torch.as_tensor(match[match >= 0]), persistent=False)
        self.mlp = SoftplusMLP(self.iu.shape[1] + 2 * n_obs, hidden, outputs)
        n_match = int(self.obs_idx.numel())
        self.raw_joint_weight = nn.Parameter(torch.zeros(n_match))  # softplus(0) = 0.69 per joint
        self.raw_score_power = nn.Parameter(torch.tensor(0.5))
        self.raw_width = nn.Parameter(torch.tensor(-1.5))  # Cauchy width ~0.2 person units

    def forward(self, pose: torch.Tensor, ctx: EnergyContext) -> torch.Tensor:
        proj = project_canonical(pose, ctx.scale)  # (B, 17, 2)
        points = torch.cat([proj, ctx.obs * ctx.mask[..., None]], 1)  # (B, 17 + Jo, 2)
        present = torch.cat([torch.ones_like(proj[..., 0]), ctx.mask], 1)  # (B, N)
        pair_mask = present[:, self.iu[0]] * present[:, self.iu[1]]  # (B, P)
        feats = torch.cat([pairwise_sq(points, self.iu) * pair_mask, ctx.mask, ctx.scores * ctx.mask], -1)
        learned = self.mlp(feats)  # (B,)
        r2 = ((proj[:, self.pose_idx] - ctx.obs[:, self.obs_idx]) ** 2).sum(-1)  # (B, M)
        width2 = F.softplus(self.raw_width) ** 2
        w = F.softplus(self.raw_joint_weight) * ctx.scores[:, self.obs_idx].clamp_min(1e-6) ** F.softplus(self.raw_score_power)
        robust = (ctx.mask[:, self.obs_idx] * w * width2 * torch.log1p(r2 / width2)).sum(-1)
        return learned + robust if ctx.trust is None else ctx.trust * (learned + robust)


class FeasibilityEnergy(nn.Module):
    """How human the 3D pose looks: softplus MLP on its pairwise squared distances / squared skeleton scale."""

    def __init__(self, hidden: int = 64, outputs: int = 8) -> None:
        super().__init__()
        skel = get_skeleton(TRAINING_SKELETON)
        self.register_buffer("iu", _triu(len(skel)), persistent=False)
        self.register_buffer("bones", torch.as_tensor(skel.bone_indices.T.copy()), persistent=False)
        self.mlp = SoftplusMLP(self.iu.shape[1], hidden, outputs)

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        scale2 = pairwise_sq(pose, self.bones).mean(-1, keepdim=True).clamp_min(1e-6)  # (B, 1) mean squared bone
        return self.mlp(pairwise_sq(pose, self.iu) / scale2)


class TemporalEnergy(nn.Module):
    """How much the articulation changed since the track's previous pose, fading with the time between frames.

    ``w exp(-dt / tau) |(P - sg(P_root)) - (Q - Q_root)|^2`` for the previous pose ``Q`` (person-size units, ``sg`` =
    no gradient through the root): it smooths the articulation and never pulls the root, which would lag the
    distance (and, with 17 joints pulling one root, make the descent overshoot). The weight ``w``, the
    time constant ``tau`` and the warm start (the descent starts from the initial net's pose moved a learned share
    ``s exp(-dt / tau)`` of the way to the previous articulation: older history moves it less) are trained on
    consecutive frames at 10-60 Hz with dropped frames. Zero without history.
    """

    #: Seconds assumed between frames when a caller gives no time stamps (30 Hz).
    DEFAULT_DT = 1.0 / 30.0
    #: Raw warm-start logit of checkpoints saved before the warm start existed: sigmoid(-20) ~ 0 (no warm start).
    WARM_OFF = -20.0

    def __init__(self, weight: float = 1.0, tau: float = 0.2, warm: float = 0.0) -> None:
        super().__init__()
        self.raw_weight = nn.Parameter(torch.log(torch.expm1(torch.tensor(weight))))
        self.raw_tau = nn.Parameter(torch.log(torch.expm1(torch.tensor(tau))))
        self.raw_warm = nn.Parameter(torch.tensor(float(warm)))  # sigmoid: share of the way to the previous pose
        self._register_load_state_dict_pre_hook(self._fill_missing)

    def reset_parameters(self, weight: float = 1.0, tau: float = 0.2, warm: float = 0.0) -> None:
        """Set weight, time constant and warm-start logit back to their defaults (before training on windows)."""
        with torch.no_grad():
            self.raw_weight.fill_(float(torch.log(torch.expm1(torch.tensor(weight)))))
            self.raw_tau.fill_(float(torch.log(torch.expm1(torch.tensor(tau)))))
            self.raw_warm.fill_(float(warm))

    def _fill_missing(self, state_dict, prefix, *_args) -> None:
        """Checkpoints from before ``tau`` and the warm start load with the behaviour they were trained with."""
        state_dict.setdefault(prefix + "raw_tau", torch.tensor(1e6))  # exp(-dt / 1e6) = 1: no fading
        state_dict.setdefault(prefix + "raw_warm", torch.tensor(self.WARM_OFF))

    def decay(self, ctx: EnergyContext) -> torch.Tensor:
        """(B,) ``exp(-dt / tau)``: how much the previous pose still says about this frame."""
        dt = ctx.dt if ctx.dt is not None else torch.full_like(ctx.temporal_weight, self.DEFAULT_DT)
        return torch.exp(-dt / F.softplus(self.raw_tau))

    def fade(self, ctx: EnergyContext) -> torch.Tensor:
        """(B,) effective weight ``w exp(-dt / tau) * temporal_weight`` of each sample."""
        return F.softplus(self.raw_weight) * self.decay(ctx) * ctx.temporal_weight

    @staticmethod
    def articulation_change(pose: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        """(B, 17, 3) root-relative difference of ``pose`` and ``previous`` (pelvis = joint 0; the root is a constant)."""
        prev = torch.nan_to_num(previous)
        return (pose - pose[:, :1].detach()) - (prev - prev[:, :1])

    def warm_start(self, pose0: torch.Tensor, ctx: EnergyContext) -> torch.Tensor:
        """Start pose (B, 17, 3): ``pose0`` moved toward the previous articulation (kept where there is none)."""
        if ctx.previous is None or ctx.temporal_weight is None:
            return pose0
        on = (ctx.temporal_weight > 0).to(pose0.dtype)  # no history (or temporal term off): no warm start
        share = torch.sigmoid(self.raw_warm) * self.decay(ctx) * on  # (B,)
        return pose0 - share[:, None, None] * self.articulation_change(pose0, ctx.previous)

    def forward(self, pose: torch.Tensor, ctx: EnergyContext) -> torch.Tensor:
        if ctx.previous is None or ctx.temporal_weight is None:
            return pose.new_zeros(pose.shape[0])
        return self.fade(ctx) * (self.articulation_change(pose, ctx.previous) ** 2).sum((-1, -2))


def _invalidate_after_load(module: "PoseEnergy", _incompatible_keys) -> None:
    module.invalidate_cache()


class PoseEnergy(nn.Module):
    """Total energy: consistency + feasibility + temporal (each returned by ``terms``).

    ``closed_form_cache`` holds the weight-derived constants of ``pose.energy_grad`` (inference); it is cleared
    whenever the weights may change: ``load_state_dict``, a train/eval mode switch, ``invalidate_cache()``
    (``energy_grad`` also keys it on the optimizer steps taken and on the weights' device and dtype).
    """

    def __init__(self, input_skeleton: str = "coco17", hidden: int = 64, outputs: int = 8) -> None:
        super().__init__()
        self.consistency = ConsistencyEnergy(input_skeleton, hidden, outputs)
        self.feasibility = FeasibilityEnergy(hidden, outputs)
        self.temporal = TemporalEnergy()
        self.closed_form_cache: tuple | None = None
        self.register_load_state_dict_post_hook(_invalidate_after_load)

    def invalidate_cache(self) -> None:
        """Drop the cached closed-form constants (call after editing weights in place by hand)."""
        self.closed_form_cache = None

    def train(self, mode: bool = True) -> "PoseEnergy":
        self.invalidate_cache()  # entering or leaving training: weights were or are about to be updated
        return super().train(mode)

    def terms(self, pose: torch.Tensor, ctx: EnergyContext) -> dict[str, torch.Tensor]:
        """Return each term (B,) for ``pose`` (B, 17, 3)."""
        return {"consistency": self.consistency(pose, ctx), "feasibility": self.feasibility(pose),
                "temporal": self.temporal(pose, ctx)}

    def forward(self, pose: torch.Tensor, ctx: EnergyContext) -> torch.Tensor:
        return sum(self.terms(pose, ctx).values())
