"""The IGE pose model: canonicalize -> initial net -> unrolled descent on the learned energy -> metric 3D."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from learned_energy_ros.core.skeleton import TRAINING_SKELETON, get_skeleton
from learned_energy_ros.core.unrolled import CONFIGURED_GUARD, StepGuard, UnrolledGD, UnrolledMomentum
from learned_energy_ros.pose.canonical import Canonical, canonicalize, to_camera
from learned_energy_ros.pose.energy import EnergyContext, PoseEnergy
from learned_energy_ros.pose.energy_grad import EnergyFunction

__all__ = ["LifterConfig", "InitNet", "IGEPoseModel", "build_model"]


@dataclass
class LifterConfig:
    """Architecture + inference settings of the IGE lifter (stored in every checkpoint)."""

    input_skeleton: str = "coco17"  # 2D layout the model was trained on (others are remapped by name)
    min_score: float = 0.1  # scores at or below this are missing joints
    init_hidden: int = 192  # initial net width: small on purpose, the energy refines it
    init_blocks: int = 2  # residual blocks in the initial net
    energy_hidden: int = 64  # hidden units of each energy MLP (paper: ~64)
    energy_outputs: int = 8  # non-negative outputs summed per energy MLP
    optimizer: str = "gd"  # "gd" or "momentum"
    step_size: float = 0.05  # initial learned step size
    clip: float = 2.0  # initial learned gradient-norm clip (person-size units)
    decay: float = 0.85  # initial per-step step-size decay: late steps stay small so more steps cannot diverge
    momentum: float = 0.5  # initial momentum (momentum optimizer only)
    default_steps: int = 4  # inference steps when the caller gives none
    # Inference guard: steps past this count are frozen (step_tail 0) or shrink geometrically (tail in (0, 1)),
    # so asking for more steps than validated is never worse. -1 = default_steps, None = unguarded.
    step_horizon: int | None = -1
    step_tail: float = 0.0
    hypothesis_sigma: float = 0.15  # std (person-size units) of the perturbed starts of extra hypotheses
    size_prior: float = 0.5  # metric person size (m) the log-size head is centred on
    # Consistency trust 1 / (1 + (sigma / (scale * noise_trust))^2) for a 2D noise sigma (normalized image units)
    # on a person of 2D size ``scale``: the energies were trained with 2 px noise on people many times that size,
    # so on a person a few pixels across (or with a noisier detector) the 2D says less and the descent follows it less.
    # Calibrated on ``train`` (benchmarks/noise_trust.py); 0 = always trust (the 2D noise is then ignored).
    noise_trust: float = 0.07

    @classmethod
    def from_dict(cls, data: dict) -> "LifterConfig":
        """Build from a mapping, ignoring unknown keys."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_dict(self) -> dict:
        return asdict(self)


class _Block(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(F.softplus(self.a(F.softplus(x))))


class InitNet(nn.Module):
    """Feed-forward initial estimate: canonical 2D + mask + scores -> canonical 3D pose and log metric size."""

    def __init__(self, n_obs: int, hidden: int, blocks: int, n_pose: int = 17) -> None:
        super().__init__()
        self.n_pose = n_pose
        self.inp = nn.Linear(4 * n_obs, hidden)
        self.blocks = nn.Sequential(*[_Block(hidden) for _ in range(blocks)])
        self.out = nn.Linear(hidden, 3 * n_pose + 1)

    def forward(self, can: Canonical, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(pose (B, 17, 3) person-size units, log_size (B,) relative to the size prior)``."""
        m = can.mask.to(can.rays_c.dtype)
        x = torch.cat([can.rays_c.flatten(1), m, scores * m], -1)  # rays_c is already 0 where masked
        y = self.out(F.softplus(self.blocks(self.inp(x))))
        return y[:, :-1].view(-1, self.n_pose, 3), y[:, -1]


class IGEPoseModel(nn.Module):
    """Initial net + learned energy + unrolled optimizer.

    Args:
        config: architecture and inference settings.
    """

    def __init__(self, config: LifterConfig) -> None:
        super().__init__()
        self.config = config
        n_obs = len(get_skeleton(config.input_skeleton))
        self.n_pose = len(get_skeleton(TRAINING_SKELETON))
        self.init_net = InitNet(n_obs, config.init_hidden, config.init_blocks, self.n_pose)
        self.energy = PoseEnergy(config.input_skeleton, config.energy_hidden, config.energy_outputs)
        horizon = config.default_steps if config.step_horizon == -1 else config.step_horizon
        guard = None if horizon is None else StepGuard(int(horizon), float(config.step_tail))
        if config.optimizer == "momentum":
            self.optimizer = UnrolledMomentum(config.step_size, config.clip, config.decay, config.momentum, guard=guard)
        elif config.optimizer == "gd":
            self.optimizer = UnrolledGD(config.step_size, config.clip, config.decay, guard=guard)
        else:
            raise ValueError(f"unknown optimizer {config.optimizer!r} (gd or momentum)")

    def canonical(self, normalized: torch.Tensor, scores: torch.Tensor) -> Canonical:
        """Canonicalize normalized 2D (B, Jo, 2) with scores (B, Jo)."""
        return canonicalize(normalized, scores, self.config.min_score, self.config.input_skeleton)

    def context(self, can: Canonical, scores: torch.Tensor, previous=None, temporal_weight=None,
                noise: torch.Tensor | float | None = None) -> EnergyContext:
        """Build the energy context of a canonical batch.

        ``noise``: the 2D keypoint noise (scalar or (B,), std in normalized image units, i.e. pixels / focal
        length); it sets the consistency ``trust`` of each person from their 2D size. None: full trust.
        """
        m = can.mask.to(can.rays_c.dtype)
        return EnergyContext(obs=can.rays_c, mask=m, scores=scores * m, scale=can.scale, previous=previous,
                             temporal_weight=temporal_weight, trust=self.trust(can, noise))

    def trust(self, can: Canonical, noise: torch.Tensor | float | None) -> torch.Tensor | None:
        """(B,) consistency weight ``1 / (1 + (noise / (scale * noise_trust))^2)``, or None (full trust)."""
        if noise is None or self.config.noise_trust <= 0:
            return None
        noise = torch.as_tensor(noise, dtype=can.scale.dtype, device=can.scale.device)
        return 1.0 / (1.0 + (noise / (can.scale * self.config.noise_trust)) ** 2)

    def with_previous(self, ctx: EnergyContext, can: Canonical, size: torch.Tensor, previous: torch.Tensor,
                      dt: torch.Tensor | None = None, weight: float | torch.Tensor = 1.0) -> EnergyContext:
        """Add each track's previous pose to a context: the temporal term and the warm start then use it.

        Args:
            ctx: context of the current frame.
            can, size: the current frame's canonical batch and metric size (B,) (m).
            previous: (B, 17, 3) previous estimate (meters, optical frame); rows with a NaN have no history.
            dt: (B,) seconds since that estimate (None: ``TemporalEnergy.DEFAULT_DT``).
            weight: user weight of the temporal term (scalar or (B,)).
        """
        has = torch.isfinite(previous).all(-1).all(-1)  # (B,)
        X = torch.where(has[:, None, None], previous, torch.zeros_like(previous)) @ can.R.transpose(1, 2)
        depth = size / can.scale
        X = X - torch.stack([torch.zeros_like(depth), torch.zeros_like(depth), depth], -1)[:, None]
        ctx.previous = X / size[:, None, None]  # (B, 17, 3) in the current frame's canonical units
        ctx.temporal_weight = has.to(size.dtype) * torch.as_tensor(weight, dtype=size.dtype, device=size.device)
        ctx.dt = None if dt is None else torch.as_tensor(dt, dtype=size.dtype, device=size.device).expand_as(size)
        return ctx

    def initial(self, can: Canonical, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Initial canonical pose (B, 17, 3) and metric size (B,) (m)."""
        pose, log_size = self.init_net(can, scores)
        return pose, self.config.size_prior * torch.exp(log_size)

    def descend(self, pose0: torch.Tensor, ctx: EnergyContext, steps: int, create_graph: bool = False,
                guard=CONFIGURED_GUARD) -> list[torch.Tensor]:
        """Run ``steps`` unrolled updates; returns every iterate (steps + 1) of (B, 17, 3).

        ``guard``: a ``StepGuard`` or None (unguarded) for this call; default the one built from the config.
        """
        return self.optimizer(pose0, EnergyFunction(self.energy, ctx), steps, create_graph, guard)

    def to_metric(self, pose: torch.Tensor, can: Canonical, size: torch.Tensor) -> torch.Tensor:
        """Canonical pose (B, 17, 3) + metric size (B,) -> camera-frame joints (B, 17, 3) in meters."""
        depth = size / can.scale
        return to_camera(pose, can.R, depth, can.scale)

    def forward(self, normalized: torch.Tensor, scores: torch.Tensor, steps: int | None = None,
                noise: torch.Tensor | float | None = None) -> torch.Tensor:
        """Lift normalized 2D (B, Jo, 2) + scores (B, Jo) to metric joints (B, 17, 3) (inference path).

        ``noise``: 2D noise std in normalized units (scalar or (B,)), see ``context``; None: full trust.
        """
        steps = self.config.default_steps if steps is None else steps
        can = self.canonical(normalized, scores)
        pose0, size = self.initial(can, scores)
        pose = self.descend(pose0, self.context(can, scores, noise=noise), steps)[-1]
        return self.to_metric(pose, can, size)

    def model_args(self) -> dict:
        """Plain-python constructor arguments (what a checkpoint stores)."""
        return {"config": self.config.to_dict()}


def build_model(model_args: dict) -> IGEPoseModel:
    """Rebuild a model from the ``model_args`` stored in a checkpoint."""
    return IGEPoseModel(LifterConfig.from_dict(model_args.get("config", {})))

