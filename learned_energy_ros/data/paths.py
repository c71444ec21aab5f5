"""Where the optional shared data sets live (never required at run time)."""
from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that points at a ``shared/`` folder holding ``data/cmu_mocap`` and ``data/objects``.
SHARED_ENV = "LER_SHARED_DIR"


def package_root() -> Path:
    """Return the repository / source root (the folder holding ``learned_energy_ros/``)."""
    return Path(__file__).resolve().parents[2]


def shared_dir() -> Path | None:
    """Return the shared data folder, or None when it is absent.

    ``$LER_SHARED_DIR`` wins; otherwise ``../shared`` beside the source checkout.
    """
    env = os.environ.get(SHARED_ENV)
    candidates = [Path(env)] if env else []
    candidates.append(package_root().parent / "shared")
    for path in candidates:
        if (path / "data").is_dir():
            return path
    return None


def shared_data(name: str) -> Path | None:
    """Return ``<shared>/data/<name>`` if present (e.g. ``"cmu_mocap"``), else None."""
    root = shared_dir()
    if root is None:
        return None
    path = root / "data" / name
    return path if path.is_dir() else None


def cache_dir() -> Path:
    """Return the folder for derived caches (``$LER_CACHE_DIR`` or ``~/.cache/learned_energy_ros``)."""
    path = Path(os.environ.get("LER_CACHE_DIR", Path.home() / ".cache" / "learned_energy_ros"))
    path.mkdir(parents=True, exist_ok=True)
    return path
