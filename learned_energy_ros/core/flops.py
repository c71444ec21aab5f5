"""Parameter and FLOP counts measured by torch's own flop counter, never by hand.

``torch.utils.flop_counter.FlopCounterMode`` intercepts every dispatched
operator, so inner ``torch.autograd.grad`` calls of an unrolled optimizer are
counted too. It counts matrix products and convolutions (the dominant cost of
these small MLPs); element-wise ops are not counted, for every method alike.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["count_params", "count_flops", "flops_per_sample"]


def count_params(*modules: torch.nn.Module) -> int:
    """Return the number of parameters of the given modules (shared ones counted once)."""
    seen = {}
    for module in modules:
        if module is None:
            continue
        for p in module.parameters():
            seen[id(p)] = p.numel()
    return int(sum(seen.values()))


class _GlobalOnly:
    """Stand-in for FlopCounterMode's module tracker: attribute every FLOP to "Global".

    The tracker's backward hooks fail inside ``torch.autograd.grad`` on leaf
    tensors (the inner gradients of unrolled optimizers); the per-module
    breakdown is not needed, the operator counting is unchanged.
    """

    parents = {"Global"}
    is_bw = False

    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False


def count_flops(fn: Callable[[], object]) -> int:
    """Run ``fn()`` once under ``FlopCounterMode`` and return the FLOPs it dispatched.

    Args:
        fn: a zero-argument callable doing the work to measure (forward and any
            inner autograd it performs).
    Returns:
        total floating-point operations counted (a multiply-add counts as 2).
    """
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _GlobalOnly()
    with counter:
        fn()
    return int(counter.get_total_flops())


def flops_per_sample(fn: Callable[[object], object], batch, batch_size: int | None = None) -> float:
    """Return FLOPs per sample of ``fn(batch)``.

    Args:
        fn: callable taking the batch (e.g. a method's ``predict``).
        batch: anything with ``len()``; measured as one call.
        batch_size: override for the divisor (defaults to ``len(batch)``).
    Returns:
        counted FLOPs divided by the batch size.
    """
    n = batch_size if batch_size is not None else len(batch)
    if n <= 0:
        raise ValueError("flops_per_sample needs a non-empty batch")
    return count_flops(lambda: fn(batch)) / n
