"""Load raw motion capture (BVH, ASF/AMC) as ``mocap27`` joint trajectories in meters.

Pipeline per file: parse -> pick the naming convention (``mocap_names``) -> drop the
synthetic T-pose frame 0 of cgspeed conversions -> drop root-at-origin dropout frames
-> forward kinematics on the frames needed -> ``mocap27`` points (meters, world +Z up)
-> resample to ``fps`` by linear interpolation of positions (on the original time stamps,
so dropped frames are bridged). Directory loads cache one ``.npz`` per source file.

The CMU data are CMU's (mocap.cs.cmu.edu); see the data set README for the required
acknowledgement.
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.skeleton import MOCAP_SKELETON, get_skeleton
from .kinematics import MocapError, Motion
from .mocap_names import CONVENTIONS
from .mocap_points import match_convention, motion_to_mocap27, resolve_units
from .paths import cache_dir

__all__ = ["MocapClip", "MocapError", "MocapNamingError", "load_clip", "load_mocap_dir", "mocap_stats", "MOCAP_SUFFIXES"]

logger = logging.getLogger(__name__)

#: File suffixes that hold one clip each (ASF files are skeletons used by their AMC clips).
MOCAP_SUFFIXES = (".bvh", ".amc")
#: Bump when the conversion changes, so stale caches are not reused.
CACHE_VERSION = 5
#: Root translations closer than this to the origin (file units) are capture dropouts.
DROPOUT_EPS = 1e-6


class MocapNamingError(MocapError):
    """The file's joint names match no known exporter convention."""


@dataclass
class MocapClip:
    """One motion clip as ``mocap27`` joint positions.

    Args:
        name: clip id, e.g. ``"06_01"`` (the file stem).
        subject: subject id, e.g. ``"06"`` (file-stem prefix before ``_``, else the folder name).
        source: path relative to the root it was loaded from.
        fps: frame rate of ``joints``.
        joints: (T, 27, 3) float32 meters, world +Z up, ``get_skeleton("mocap27").joints`` order.
    """

    name: str
    subject: str
    source: str
    fps: float
    joints: np.ndarray

    def __post_init__(self) -> None:
        assert self.joints.ndim == 3 and self.joints.shape[1:] == (len(get_skeleton(MOCAP_SKELETON)), 3), self.joints.shape

    @property
    def num_frames(self) -> int:
        return int(self.joints.shape[0])


def _read_motion(path: Path) -> Motion:
    if path.suffix.lower() == ".bvh":
        from .bvh import read_bvh

        return read_bvh(path)
    if path.suffix.lower() == ".amc":
        from .asf_amc import read_amc_with_skeleton

        return read_amc_with_skeleton(path)
    raise MocapError(path, f"unsupported file type {path.suffix!r} (expected one of {MOCAP_SUFFIXES})")


def _usable_frames(motion: Motion, convention: str, path: Path) -> np.ndarray:
    """Indices of real captured frames: no synthetic T-pose frame 0, no root-at-origin dropouts."""
    frames = np.arange(motion.num_frames)
    root_rot0 = motion.rotations[0, 0]
    if CONVENTIONS[convention]["cgspeed_tpose"] and motion.num_frames > 1 and np.allclose(root_rot0, np.eye(3), atol=1e-9):
        frames = frames[1:]
    root = motion.translations[frames, 0]  # (F, 3)
    dropout = np.linalg.norm(root, axis=-1) < DROPOUT_EPS
    if dropout.any() and not dropout.all():  # an all-zero root is an in-place clip, not a dropout
        logger.debug("%s: dropping %d root-at-origin frame(s)", path, int(dropout.sum()))
        frames = frames[~dropout]
    if frames.size == 0:
        raise MocapError(path, "no usable frames")
    return frames


def source_rate(frame_time: float) -> float:
    """Return the file's frame rate, snapped to a whole number within 0.1% (".0083333" s is 120 fps)."""
    rate = 1.0 / frame_time
    return float(round(rate)) if abs(rate - round(rate)) < 1e-3 * rate else rate


def _resample_plan(frames: np.ndarray, frame_time: float, fps: float | None):
    """Return (target times (T,), needed source frames (K,), left index (T,), right index (T,), weight (T,))."""
    frame_time = 1.0 / source_rate(frame_time)
    times = frames * frame_time
    if fps is None:
        idx = np.arange(frames.size)
        return times, frames, idx, idx, np.zeros(frames.size)
    target = times[0] + np.arange(int(np.floor((times[-1] - times[0]) * fps + 1e-6)) + 1) / fps
    right = np.clip(np.searchsorted(times, target, side="left"), 0, frames.size - 1)
    left = np.clip(right - 1, 0, frames.size - 1)
    span = times[right] - times[left]
    weight = np.clip(np.where(span > 0, (target - times[left]) / np.where(span > 0, span, 1.0), 0.0), 0.0, 1.0)
    needed, inverse = np.unique(np.concatenate([left, right]), return_inverse=True)
    return target, frames[needed], inverse[: target.size], inverse[target.size:], weight


def load_clip(path, fps: float | None = 30.0, units: str | float | None = None, root=None) -> MocapClip:
    """Load one BVH or AMC (+ its ASF) clip as ``mocap27`` positions.

    Args:
        path: ``.bvh`` file, or ``.amc`` file with its skeleton ``<subject>.asf`` (or the only ``.asf``) beside it.
        fps: output frame rate (linear interpolation of positions); None keeps the file's rate.
        units: meters per file unit or a name (``m, cm, mm, inch, cmu``); None = automatic
            (see :func:`~.mocap_points.resolve_units`: the convention's unit, else a body-height heuristic).
        root: folder that ``source`` is made relative to (default: the file's folder).
    Returns:
        the :class:`MocapClip`.
    Raises:
        MocapError: unreadable / malformed file (names file and line); MocapNamingError for unknown joint names.
    """
    path = Path(path)
    if fps is not None and not (np.isfinite(fps) and fps > 0):
        raise MocapError(path, f"fps must be positive, got {fps!r}")
    motion = _read_motion(path)
    convention = match_convention(motion.names)
    if convention is None:
        raise MocapNamingError(path, f"joint names match no known convention ({', '.join(motion.names[:6])}, ...)")
    scale = resolve_units(motion, convention, units, path)
    frames = _usable_frames(motion, convention, path)
    target, needed, left, right, weight = _resample_plan(frames, motion.frame_time, fps)
    points = motion_to_mocap27(motion.select_frames(needed), convention, scale, path)  # (K, 27, 3)
    w = weight[:, None, None]
    joints = (1.0 - w) * points[left] + w * points[right]  # (T, 27, 3)
    stem = path.stem
    subject = stem.split("_")[0] if "_" in stem else path.parent.name
    source = os.path.relpath(path, root) if root is not None else path.name
    out_fps = float(fps) if fps is not None else source_rate(motion.frame_time)
    return MocapClip(stem, subject, Path(source).as_posix(), out_fps, joints.astype(np.float32))


def _cache_path(path: Path, fps, units) -> Path:
    """Cache file for ``path``, keyed by (absolute path, size, mtime, fps, units, version) of it and its skeleton."""
    parts = [str(path.resolve()), str(fps), str(units), str(CACHE_VERSION)]
    sources = [path]
    if path.suffix.lower() == ".amc":
        from .asf_amc import find_skeleton

        skeleton = find_skeleton(path)
        sources += [skeleton] if skeleton is not None else []
    for source in sources:
        stat = source.stat()
        parts += [str(source.resolve()), str(stat.st_size), str(stat.st_mtime_ns)]
    digest = hashlib.sha1("|".join(parts).encode()).hexdigest()[:20]
    return cache_dir() / "mocap" / f"{path.stem}-{digest}.npz"


def _load_cached(path: Path, root: Path, fps, units) -> MocapClip:
    cached = _cache_path(path, fps, units)
    source = Path(os.path.relpath(path, root)).as_posix()
    if cached.exists():
        try:
            with np.load(cached, allow_pickle=False) as data:
                return MocapClip(str(data["name"]), str(data["subject"]), source, float(data["fps"]), data["joints"])
        except (OSError, ValueError, KeyError, AssertionError) as exc:
            logger.warning("ignoring unreadable cache %s (%s)", cached, exc)
    clip = load_clip(path, fps=fps, units=units, root=root)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f"{cached.stem}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        np.savez(handle, name=clip.name, subject=clip.subject, fps=clip.fps, joints=clip.joints)
    os.replace(tmp, cached)  # atomic: concurrent loaders never see half a file
    return clip


def load_mocap_dir(root, fps: float | None = 30.0, cache: bool = True, progress: bool = True, units=None) -> list[MocapClip]:
    """Load every ``.bvh`` / ``.amc`` clip under ``root`` (recursively, sorted by path).

    Files that are not motion capture (README, CSV, ...) are skipped; files that fail to
    parse or whose joint names match no convention are skipped with one warning line each.

    Args:
        root: folder to scan (e.g. ``shared_data("cmu_mocap") / "train"``).
        fps: output frame rate (None keeps each file's rate).
        cache: reuse / write one ``.npz`` per file under ``cache_dir()/mocap``.
        progress: show a tqdm progress bar.
        units: forwarded to :func:`load_clip` (None = automatic).
    Returns:
        the clips, sorted by source path.
    """
    root = Path(root)
    if not root.is_dir():
        raise MocapError(root, "not a directory")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    clips_files = [p for p in files if p.suffix.lower() in MOCAP_SUFFIXES]
    others = [p.name for p in files if p.suffix.lower() not in MOCAP_SUFFIXES + (".asf",)]
    if others:
        logger.info("%s: ignoring %d non-mocap file(s): %s", root, len(others), ", ".join(others[:5]))
    clips = []
    iterator = clips_files
    if progress:
        from tqdm import tqdm

        iterator = tqdm(clips_files, desc=f"mocap {root.name}", unit="file")
    for path in iterator:
        try:
            clip = _load_cached(path, root, fps, units) if cache else load_clip(path, fps=fps, units=units, root=root)
        except MocapNamingError as exc:
            logger.warning("skipping %s", exc)
            continue
        except (MocapError, OSError) as exc:
            logger.warning("skipping unreadable file: %s", exc)
            continue
        clips.append(clip)
    return clips


def mocap_stats(clips: list[MocapClip]) -> dict:
    """Summarise clips: counts of clips, frames, subjects and seconds."""
    frames = sum(c.num_frames for c in clips)
    seconds = sum(c.num_frames / c.fps for c in clips)
    return {"clips": len(clips), "frames": frames, "subjects": len({c.subject for c in clips}), "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    """Print clip / frame counts and load times for mocap folders (``python -m learned_energy_ros.data.mocap DIR...``)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("dirs", nargs="+", help="motion-capture folders (e.g. .../cmu_mocap/train)")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for folder in args.dirs:
        start = time.perf_counter()
        clips = load_mocap_dir(folder, fps=args.fps, cache=not args.no_cache, progress=False)
        stats = mocap_stats(clips)
        print(f"{folder}: {stats['clips']} clips, {stats['subjects']} subjects, {stats['frames']} frames "
              f"@ {args.fps:g} fps ({stats['seconds']:.1f} s), loaded in {time.perf_counter() - start:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
