"""Unrolled, differentiable gradient descent on a learned energy (after jackd/ige ``unopt.py``).

One generic optimizer serves every domain (the pose lifter, the voxel model).
It holds its own learned hyper-parameters, each a switch: the step size (one
decayed size, or one size per trained step), a gradient clip, momentum (a
subclass). ``forward`` runs ``steps`` updates from ``y0`` and returns every
iterate, so an outer loss can weight all of them. With ``create_graph=True``
the inner gradients are themselves differentiable (training); without it the
iterates are detached between steps and the hyper-parameters are plain floats
(inference, cheap).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MAX_STEPS", "UnrolledOptimizer", "UnrolledGD", "UnrolledMomentum", "StepGuard", "CONFIGURED_GUARD",
           "energy_grad", "clip_per_sample"]

EnergyFn = Callable[[torch.Tensor], torch.Tensor]

#: Most unrolled steps any model runs per call, pose or voxel: more is a setting error, refused where it is set.
MAX_STEPS = 64


class _ConfiguredGuard:
    def __repr__(self) -> str:
        return "CONFIGURED_GUARD"


CONFIGURED_GUARD = _ConfiguredGuard()  # ``forward(guard=...)`` default: the guard given to the constructor


def _inv_softplus(x: float) -> float:
    return float(torch.log(torch.expm1(torch.tensor(float(x)))))


def energy_grad(energy_fn: EnergyFn, y: torch.Tensor, create_graph: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(energy (B,), dE/dy like y)``; the batch energies are independent, so grad of the sum is per-sample.

    When no graph is needed and ``energy_fn`` offers ``value_and_grad`` (a closed-form gradient), that is used.
    """
    if not create_graph and hasattr(energy_fn, "value_and_grad"):
        with torch.no_grad():
            return energy_fn.value_and_grad(y.detach())
    with torch.enable_grad():
        if not y.requires_grad:
            y = y.detach().requires_grad_(True)
        energy = energy_fn(y)
        (grad,) = torch.autograd.grad(energy.sum(), y, create_graph=create_graph)
    return energy, grad


def clip_per_sample(grad: torch.Tensor, max_norm: torch.Tensor | float) -> torch.Tensor:
    """Scale each sample's gradient (B, ...) down to at most ``max_norm`` (a tensor in training, a float at inference).

    ``torch.nn.utils.clip_grad_norm_`` clips one global norm over parameters; this clips every sample of a batch
    on its own, so one person's (or object's) large gradient does not shrink the others' steps.
    """
    norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12)  # (B,)
    return grad * (max_norm / norm).clamp(max=1.0).view(-1, *([1] * (grad.dim() - 1)))


@dataclass(frozen=True)
class StepGuard:
    """Inference-only guard: steps at index >= ``horizon`` scale the step size by ``tail ** (k - horizon + 1)``.

    A learned optimizer is only trained for so many steps; past them the learned energy's minimum is slightly
    off the truth, so running on must not drift away from it. ``tail`` 0 stops at the horizon; ``tail`` in
    (0, 1) shrinks later steps geometrically.
    """

    horizon: int
    tail: float = 0.0

    def factor(self, k: int) -> float:
        """Multiplier of the step size at step ``k`` (0-based)."""
        return float(self.tail) ** max(0, k - self.horizon + 1)


class UnrolledOptimizer(nn.Module):
    """Base class: ``initial_state`` / ``step`` / ``forward`` returning every iterate.

    Args:
        step_size: initial learned step size (of every step).
        clip: initial learned per-sample gradient-norm clip threshold (softplus); None disables clipping.
        decay: initial per-step step-size decay factor in (0, 1] (sigmoid-parametrised; keeps late steps small,
            so running more steps than trained does not diverge); None = constant step size.
        per_step: learn one step size per step for this many steps (log-parametrised; later steps reuse the
            last) instead of one softplus-parametrised size with ``decay``; None = one size.
        guard: inference-only step-horizon guard; None = unguarded.
    """

    def __init__(self, step_size: float = 0.1, clip: float | None = 1.0, decay: float | None = 0.9,
                 per_step: int | None = None, guard: StepGuard | None = None) -> None:
        super().__init__()
        if per_step is not None and decay is not None:
            raise ValueError("per_step sizes and a decay schedule are alternatives: give one of them")
        if per_step is None:
            self.raw_step = nn.Parameter(torch.tensor(_inv_softplus(step_size)))
            self.log_step = None
        else:
            self.raw_step = None
            self.log_step = nn.Parameter(torch.full((per_step,), math.log(step_size)))
        self.raw_clip = nn.Parameter(torch.tensor(_inv_softplus(clip))) if clip is not None else None
        self.raw_decay = nn.Parameter(torch.logit(torch.tensor(min(decay, 0.999)))) if decay is not None else None
        self.guard = guard

    @property
    def step_size(self) -> torch.Tensor:
        """Size of the first step."""
        return self.rate(0)

    def rate(self, k: int) -> torch.Tensor:
        """Step size used at step ``k`` (0-based), before any guard."""
        if self.log_step is not None:
            return self.log_step[min(k, self.log_step.numel() - 1)].exp()
        if self.raw_decay is None:
            return F.softplus(self.raw_step)
        return F.softplus(self.raw_step) * torch.sigmoid(self.raw_decay) ** k

    def clip_grad(self, grad: torch.Tensor) -> torch.Tensor:
        """Scale each sample's gradient down to the learned norm threshold (differentiable)."""
        return grad if self.raw_clip is None else clip_per_sample(grad, F.softplus(self.raw_clip))

    def initial_state(self, y0: torch.Tensor) -> dict:
        """Return the optimizer state at the start (holds at least ``y`` and ``k``)."""
        return {"y": y0, "k": 0}

    def step(self, state: dict, energy_fn: EnergyFn, create_graph: bool) -> dict:  # pragma: no cover - abstract
        """Return the next state after one update."""
        raise NotImplementedError

    def forward(self, y0: torch.Tensor, energy_fn: EnergyFn, steps: int, create_graph: bool = False,
                guard=CONFIGURED_GUARD) -> list[torch.Tensor]:
        """Run ``steps`` updates from ``y0`` and return ``[y0, y1, ..., y_steps]``.

        Args:
            y0: start (B, ...).
            energy_fn: maps y (B, ...) to energies (B,).
            steps: number of updates.
            create_graph: differentiate through the updates (training); else detach between steps.
            guard: inference step guard for this call (default: the constructor's; None = unguarded).
        """
        assert y0.ndim >= 2, f"y0 must be batched (B, ...), got shape {tuple(y0.shape)}"  # clips per sample
        guard = self.guard if guard is CONFIGURED_GUARD else guard
        state = self.initial_state(y0)
        if not create_graph:  # inference: hyper-parameters as plain floats, computed once
            state["fixed"] = self.inference_constants(int(steps), guard)
        iterates = [y0]
        for k in range(int(steps)):
            if not create_graph and state["fixed"]["rates"][k] == 0.0:  # past the guard's horizon: y stays put
                iterates.append(state["y"])
                continue
            state = self.step(state, energy_fn, create_graph)
            if not create_graph:
                state = {k: (v.detach() if torch.is_tensor(v) else v) for k, v in state.items()}
            iterates.append(state["y"])
        return iterates

    def inference_constants(self, steps: int, guard: StepGuard | None = None) -> dict:
        """Per-step rates (with the ``guard``) and the clip threshold as floats (no graph)."""
        with torch.no_grad():
            rates = [float(self.rate(k)) for k in range(steps)]
            clip = None if self.raw_clip is None else float(F.softplus(self.raw_clip))
        if guard is not None:
            rates = [r * guard.factor(k) for k, r in enumerate(rates)]
        return {"rates": rates, "clip": clip}

    def _rate(self, state: dict):
        fixed = state.get("fixed")
        return self.rate(state["k"]) if fixed is None else fixed["rates"][state["k"]]

    def _clip(self, state: dict, grad: torch.Tensor) -> torch.Tensor:
        fixed = state.get("fixed")
        if fixed is None:
            return self.clip_grad(grad)
        return grad if fixed["clip"] is None else clip_per_sample(grad, fixed["clip"])


class UnrolledGD(UnrolledOptimizer):
    """Plain gradient descent: ``y <- y - rate_k * clip(dE/dy)``."""

    def step(self, state: dict, energy_fn: EnergyFn, create_graph: bool) -> dict:
        _, grad = energy_grad(energy_fn, state["y"], create_graph)
        y = state["y"] - self._rate(state) * self._clip(state, grad)
        return {**state, "y": y, "k": state["k"] + 1}


class UnrolledMomentum(UnrolledOptimizer):
    """Heavy-ball momentum: ``v <- m v + clip(dE/dy)``, ``y <- y - rate_k v`` with learned m in (0, 1)."""

    def __init__(self, step_size: float = 0.1, clip: float | None = 1.0, decay: float | None = 0.9,
                 momentum: float = 0.5, per_step: int | None = None, guard: StepGuard | None = None) -> None:
        super().__init__(step_size, clip, decay, per_step, guard)
        self.raw_momentum = nn.Parameter(torch.logit(torch.tensor(momentum)))

    @property
    def momentum(self) -> torch.Tensor:
        return torch.sigmoid(self.raw_momentum)

    def initial_state(self, y0: torch.Tensor) -> dict:
        return {"y": y0, "v": torch.zeros_like(y0), "k": 0}

    def step(self, state: dict, energy_fn: EnergyFn, create_graph: bool) -> dict:
        _, grad = energy_grad(energy_fn, state["y"], create_graph)
        v = self.momentum * state["v"] + self._clip(state, grad)
        return {**state, "y": state["y"] - self._rate(state) * v, "v": v, "k": state["k"] + 1}
