"""Resolve a ``device`` name (``auto``, ``cpu``, ``cuda``, ``cuda:N``) to a torch device: one fallback policy.

Every entry point (nodes, ``load_lifter``, ``load_reconstructor``, training and
evaluation commands) resolves its device here, so a GPU setting runs on a
machine without one in the same way everywhere: ``auto`` picks CUDA when
present; an explicit CUDA request without CUDA falls back to the CPU with one
warning, or is refused when the caller turns the fallback off (the nodes'
``device_fallback`` parameter).
"""
from __future__ import annotations

import logging
from collections.abc import Callable

import torch

__all__ = ["resolve_device"]

log = logging.getLogger(__name__)


def resolve_device(requested: str | torch.device = "auto", fallback: bool = True,
                   warn: Callable[[str], object] | None = None) -> torch.device:
    """Return the torch device to run a model on.

    Args:
        requested: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (a ``torch.device`` is taken by its name).
        fallback: when CUDA is requested but absent, use the CPU (True) or refuse (False).
        warn: callable logging one line when falling back (default: this module's logger).
    Returns:
        ``cpu`` or a CUDA device (``auto`` resolved); ``str()`` of it is the plain name.
    Raises:
        ValueError: unknown device name, or CUDA absent while ``fallback`` is False.
    """
    name = str(requested).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name != "cuda" and not (name.startswith("cuda:") and name[5:].isdigit()):
        raise ValueError(f"unknown device {requested!r}; use auto, cpu, cuda or cuda:N")
    index = int(name[5:]) if ":" in name else 0
    if torch.cuda.is_available() and index < torch.cuda.device_count():
        return torch.device(name)
    why = "no CUDA device is available" if not torch.cuda.is_available() else f"there is no CUDA device {index}"
    if not fallback:
        raise ValueError(f"device {requested!r} requested but {why} (device_fallback is false: refusing)")
    (warn or log.warning)(f"device {requested!r} requested but {why}: falling back to cpu")
    return torch.device("cpu")
