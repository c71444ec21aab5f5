"""The inference body of ``Lifter.lift``: temporal context, multi-hypothesis descents, metric output."""
from __future__ import annotations

import numpy as np
import torch

from learned_energy_ros.pose.canonical import Canonical
from learned_energy_ros.pose.energy_grad import EnergyFunction
from learned_energy_ros.pose.lift_types import LiftError, LiftResult

__all__ = ["descend_hypotheses", "flip_depth"]

# Seed of the perturbed starts, so the same input always gives the same hypotheses.
_HYPOTHESIS_SEED = 12345


def flip_depth(pose: torch.Tensor, root: int = 0) -> torch.Tensor:
    """Mirror poses (..., J, 3) in depth about their root: the classic monocular front/back ambiguity."""
    z = pose[..., 2:3]
    return torch.cat([pose[..., :2], 2 * z[..., root : root + 1, :] - z], -1)


def _expand(can: Canonical, k: int) -> Canonical:
    rep = lambda t: t.repeat_interleave(k, 0)  # noqa: E731
    return Canonical(rays_c=rep(can.rays_c), R=rep(can.R), scale=rep(can.scale), mask=rep(can.mask))


def _previous(lifter, previous, N: int, device) -> torch.Tensor:
    prev = np.asarray(previous, dtype=np.float64)
    if prev.shape != (N, len(lifter.skeleton), 3):
        raise LiftError(f"previous must be (N, {len(lifter.skeleton)}, 3) = ({N}, ...), got {prev.shape}")
    return torch.as_tensor(prev, dtype=torch.float32, device=device)


def _ages(dt, N: int, device) -> torch.Tensor | None:
    if dt is None:
        return None
    ages = np.array(np.broadcast_to(np.asarray(dt, dtype=np.float64), (N,)))
    if not np.all(np.isfinite(ages) & (ages >= 0)):
        raise LiftError(f"previous_dt must be finite seconds >= 0, got {dt!r}")
    return torch.as_tensor(ages, dtype=torch.float32, device=device)


def _starts(pose0: torch.Tensor, K: int, sigma: float) -> torch.Tensor:
    """(N, K, 17, 3) start poses: the initial estimate, its depth mirror, then Gaussian perturbations."""
    starts = [pose0]
    if K > 1:
        starts.append(flip_depth(pose0))
    if K > 2:
        gen = torch.Generator(device="cpu").manual_seed(_HYPOTHESIS_SEED)
        noise = torch.randn((K - 2,) + tuple(pose0.shape), generator=gen).to(pose0.device) * sigma
        starts += [pose0 + n for n in noise]
    return torch.stack(starts, 1)


def descend_hypotheses(lifter, xy, sc, previous, steps: int, K: int, temporal_weight, return_trajectory: bool,
                       previous_dt=None, noise=None):
    """Run the unrolled descent from K starts per person and assemble a ``LiftResult``.

    With ``previous`` the temporal term joins the descent and its first start is warm (moved toward the previous
    articulation); the published ``energy`` is consistency + feasibility only, the plausibility of the pose.
    """
    model = lifter.model
    N = xy.shape[0]
    can = model.canonical(xy, sc)
    pose0, size = model.initial(can, sc)  # (N, 17, 3), (N,)
    ctx = model.context(can, sc, noise=noise)
    if previous is not None:
        ctx = model.with_previous(ctx, can, size, _previous(lifter, previous, N, xy.device),
                                  _ages(previous_dt, N, xy.device), 1.0 if temporal_weight is None else float(temporal_weight))
        pose0 = model.energy.temporal.warm_start(pose0, ctx)
    starts = _starts(pose0, K, model.config.hypothesis_sigma).flatten(0, 1)  # (N*K, 17, 3)
    ctx_k = ctx.expand(K)
    fn = EnergyFunction(model.energy, ctx_k)
    iterates = model.optimizer(starts, fn, steps)
    energy = fn.plausibility(iterates[-1]).view(N, K)  # closed form, shares the descent's prepared constants
    best = energy.argmin(1)  # (N,)
    can_k, size_k = _expand(can, K), size.repeat_interleave(K)
    final = model.to_metric(iterates[-1], can_k, size_k).view(N, K, -1, 3)
    pick = torch.arange(N, device=xy.device)
    joints = final[pick, best]
    traj = None
    if return_trajectory:
        traj = torch.stack([model.to_metric(p, can_k, size_k).view(N, K, -1, 3)[pick, best] for p in iterates])
    np32 = lambda t: t.detach().cpu().numpy().astype(np.float32)  # noqa: E731
    return LiftResult(
        joints=np32(joints), skeleton=lifter.skeleton, energy=np32(energy[pick, best]),
        trajectory=None if traj is None else np32(traj),
        hypotheses=np32(final) if K > 1 else None, hypothesis_energy=np32(energy) if K > 1 else None,
    )
