"""Resolve the ``device`` parameter of the nodes, with an explicit CUDA fallback policy."""
from __future__ import annotations

__all__ = ["resolve_device"]


def resolve_device(requested: str, fallback: bool, warn=None) -> str:
    """Return the torch device string to load a model on.

    Args:
        requested: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        fallback: when CUDA is requested but absent, use the CPU (True) or refuse (False).
        warn: callable logging one line when falling back.
    Returns:
        ``cpu`` or a CUDA device string (``auto`` resolved).
    Raises:
        ValueError: unknown device name, or CUDA absent while ``fallback`` is False.
    """
    import torch
    name = str(requested).strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return "cpu"
    if name != "cuda" and not (name.startswith("cuda:") and name[5:].isdigit()):
        raise ValueError(f"unknown device {requested!r}; use auto, cpu, cuda or cuda:N")
    index = int(name[5:]) if ":" in name else 0
    if torch.cuda.is_available() and index < torch.cuda.device_count():
        return name
    why = "no CUDA device is available" if not torch.cuda.is_available() else f"there is no CUDA device {index}"
    if not fallback:
        raise ValueError(f"device {requested!r} requested but {why} (device_fallback is false: refusing)")
    if warn is not None:
        warn(f"device {requested!r} requested but {why}: falling back to cpu (device_fallback is true)")
    return "cpu"
