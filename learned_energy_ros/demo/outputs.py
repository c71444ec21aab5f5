"""Files the demo writes: overlay video (or PNG frames), frame strip, 3D plot, summary JSON."""
from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import cv2
import numpy as np

from learned_energy_ros.core.skeleton import get_skeleton

__all__ = ["write_video", "frame_strip", "write_strip", "plot_skeletons_3d", "camera_axes", "draw_skeleton_3d", "write_summary", "label"]

log = logging.getLogger(__name__)


def label(image: np.ndarray, text: str, row: int = 0) -> np.ndarray:
    """Write ``text`` in the top-left corner of an RGB image (in place) and return it."""
    y = 22 + 22 * row
    cv2.putText(image, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, text, (8, y), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return image


def _fit(image: np.ndarray, height: int) -> np.ndarray:
    """Resize an RGB image to ``height`` keeping its aspect ratio."""
    h, w = image.shape[:2]
    return cv2.resize(image, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)


def _pad_to(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Centre an RGB image on a black canvas of the given size (cameras differ in size)."""
    image = _fit(image, height) if image.shape[0] != height else image
    if image.shape[1] > width:
        image = cv2.resize(image, (width, round(image.shape[0] * width / image.shape[1])))
    canvas = np.zeros((height, width, 3), np.uint8)
    y, x = (height - image.shape[0]) // 2, (width - image.shape[1]) // 2
    canvas[y:y + image.shape[0], x:x + image.shape[1]] = image
    return canvas


def write_video(frames: list, path: Path, fps: float) -> Path:
    """Write RGB frames as an mp4 (all padded to the largest size); fall back to numbered PNGs.

    Args:
        frames: RGB uint8 images (sizes may differ: the camera swap changes the resolution).
        path: target ``.mp4`` file.
        fps: playback rate.
    Returns:
        The mp4 path, or the folder of PNG frames when no mp4 encoder is available.
    """
    if not frames:
        raise ValueError("no frames to write")
    width = max(f.shape[1] for f in frames) // 2 * 2
    height = max(f.shape[0] for f in frames) // 2 * 2
    path = Path(path)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (width, height))
    if writer.isOpened():
        for frame in frames:
            writer.write(_pad_to(frame, width, height)[..., ::-1].copy())
        writer.release()
        if path.exists() and path.stat().st_size > 0:
            return path
    log.warning("no mp4 encoder available in this OpenCV build; writing PNG frames instead")
    folder = path.with_suffix("")
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"frame_{i:04d}.png"), frame[..., ::-1])
    return folder


def frame_strip(frames: list, count: int = 6, height: int = 240) -> np.ndarray:
    """Return ``count`` evenly spaced frames side by side, each resized to ``height`` (RGB)."""
    if not frames:
        raise ValueError("no frames for the strip")
    picks = np.unique(np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int))
    return np.concatenate([_fit(frames[i], height) for i in picks], axis=1)


def write_strip(frames: list, path: Path, count: int = 6, height: int = 240) -> Path:
    """Write ``frame_strip`` as a PNG and return its path."""
    cv2.imwrite(str(path), frame_strip(frames, count, height)[..., ::-1])
    return Path(path)


def draw_skeleton_3d(ax, joints: np.ndarray, bones: np.ndarray, colour: str, style: str, name: str | None) -> None:
    # Optical frame (x right, y down, z forward) shown as x right, z into the plot, -y up.
    x, y, z = joints[:, 0], joints[:, 2], -joints[:, 1]
    ax.scatter(x, y, z, c=colour, s=6)
    for k, (a, b) in enumerate(bones):
        ax.plot([x[a], x[b]], [y[a], y[b]], [z[a], z[b]], style, color=colour, lw=1.5, label=name if k == 0 else None)


def camera_axes(ax, centre, span: float) -> None:
    """Frame a 3D axis on ``centre`` (optical frame) +- ``span`` m, shown as x right, depth in, -y up, labelled."""
    ax.set_xlim(centre[0] - span, centre[0] + span)
    ax.set_ylim(centre[2] - span, centre[2] + span)
    ax.set_zlim(-centre[1] - span, -centre[1] + span)
    ax.set_xlabel("x (m)")
    ax.set_ylabel("depth z (m)")
    ax.set_zlabel("up -y (m)")


def plot_skeletons_3d(pred: np.ndarray, true: np.ndarray, frames, path: Path, skeleton: str = "h36m17",
                      titles=None) -> Path:
    """Plot predicted vs true 3D skeletons of a few frames (camera optical frame) to a PNG.

    Args:
        pred, true: (T, J, 3) joints in meters (NaN rows = no prediction for that frame).
        frames: frame indices to show (one subplot each).
        path: PNG to write.
        skeleton: layout of J.
        titles: optional subplot titles.
    Returns:
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    assert pred.shape == true.shape and pred.shape[-1] == 3, (pred.shape, true.shape)
    bones = get_skeleton(skeleton).bone_indices
    frames = list(frames)
    cols = min(3, len(frames))
    rows = math.ceil(len(frames) / cols)
    fig = plt.figure(figsize=(4.2 * cols, 4.2 * rows))
    for k, f in enumerate(frames):
        ax = fig.add_subplot(rows, cols, k + 1, projection="3d")
        draw_skeleton_3d(ax, true[f], bones, "tab:green", "-", "true")
        if np.all(np.isfinite(pred[f])):
            draw_skeleton_3d(ax, pred[f], bones, "tab:red", "--", "predicted")
        camera_axes(ax, true[f].mean(axis=0), 1.1)
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.set_major_locator(MaxNLocator(4))
        ax.view_init(elev=12, azim=-70)
        ax.set_title(titles[k] if titles else f"frame {f}", fontsize=9)
        if k == 0:
            ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return Path(path)


def _plain(value):
    """Convert numpy scalars/arrays and paths into JSON types."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else round(float(value), 4)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    return value


def write_summary(summary: dict, path: Path) -> Path:
    """Write ``summary`` as indented JSON (non-finite numbers become null)."""
    Path(path).write_text(json.dumps(_plain(summary), indent=2) + "\n")
    return Path(path)
