"""Short windows of consecutive frames, for training and measuring the temporal term.

A window is one clip seen by one fixed camera at a random frame rate (robot cameras run at 10-60 Hz) with
frames dropped at random, so the time between frames (``dt``) varies as it does on a robot.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from learned_energy_ros.core.batched_lens import LensBatch
from learned_energy_ros.core.protocol_cameras import draw_cameras
from learned_energy_ros.pose.batch import PoseBatch
from learned_energy_ros.pose.dataset import DatasetError, PoseSampler

__all__ = ["WindowSampler", "WindowBatch", "window_frames"]


@dataclass
class WindowBatch:
    """W windows of T frames: ``batch`` holds W * T people window-major, ``dt`` (W, T) the seconds between frames."""

    batch: PoseBatch
    dt: torch.Tensor

    def to(self, device) -> "WindowBatch":
        return WindowBatch(self.batch.to(device), self.dt.to(device))


def window_frames(rng: np.random.Generator, length: int, source_fps: float, rate: float, drop_prob: float,
                  window: int) -> np.ndarray | None:
    """Frame indices (window,) of one window in a clip of ``length`` frames, or None when the clip is too short.

    Frames are ``source_fps / rate`` apart; each later frame is dropped with ``drop_prob`` (the next one
    is taken instead, so gaps are 1, 2, 3 ... frame periods).
    """
    stride = max(1, int(round(source_fps / rate)))
    gaps = rng.geometric(1.0 - drop_prob, size=window - 1) if drop_prob > 0 else np.ones(window - 1, int)
    offsets = np.concatenate([[0], np.cumsum(gaps * stride)])
    if offsets[-1] >= length:
        return None
    return int(rng.integers(length - offsets[-1])) + offsets


class WindowSampler(PoseSampler):
    """Draw windows of ``window`` frames; every window has its own camera, body augmentation and frame rate.

    Args:
        clips: motion-capture clips at their source rate (e.g. ``load_mocap_dir(..., fps=None)``).
        window: frames per window.
        rates: frame rates (Hz) drawn uniformly per window.
        drop_prob: probability that each later frame of a window is dropped.
        Other arguments as ``PoseSampler``.
    """

    def __init__(self, clips, ranges=None, noise=None, input_skeleton: str = "coco17", seed: int = 0, augment=None,
                 window: int = 4, rates=(10.0, 15.0, 30.0, 60.0), drop_prob: float = 0.2) -> None:
        super().__init__(clips, ranges, noise, input_skeleton, seed, target_fps=None, augment=augment)
        self.clips = [np.asarray(c.joints, dtype=np.float32) for c in clips]
        self.fps = [float(c.fps) for c in clips]
        if window < 2 or not self.clips:
            raise DatasetError("windows need >= 2 frames and at least one clip")
        self.window, self.rates, self.drop_prob = int(window), tuple(rates), float(drop_prob)
        lengths = np.array([len(c) for c in self.clips], dtype=np.float64)
        self._weights = lengths / lengths.sum()

    def sample(self, batch_size: int) -> WindowBatch:
        """Return ``batch_size // window`` windows (at least one) as a ``WindowBatch``."""
        return WindowBatch(*self.sample_windows(max(1, batch_size // self.window)))

    def sample_windows(self, num_windows: int) -> tuple[PoseBatch, torch.Tensor]:
        """Return ``(batch of num_windows * window people, window-major; dt (num_windows, window) seconds)``.

        ``dt[:, 0]`` is 0 (no previous frame); ``dt[:, t]`` is the time since frame t - 1 of the same window.
        """
        T = self.window
        world = np.empty((num_windows, T, 27, 3))
        dt = np.zeros((num_windows, T))
        for w in range(num_windows):
            idx = None
            while idx is None:
                c = int(self.rng.choice(len(self.clips), p=self._weights))
                rate = self.rates[self.rng.integers(len(self.rates))]
                idx = window_frames(self.rng, len(self.clips[c]), self.fps[c], rate, self.drop_prob, T)
            world[w] = self.clips[c][idx]
            dt[w, 1:] = np.diff(idx) / self.fps[c]
        world = world.reshape(num_windows * T, 27, 3)
        if self.augment is not None:
            world = self.augment(world, self.rng, repeat=T)
        lens, R, t = draw_cameras(self.ranges, self.rng, world[::T])  # one fixed camera per window
        order = np.repeat(np.arange(num_windows), T)
        batch = self.observe_world(world, LensBatch.concat([lens], order), R[order], t[order])
        return batch, torch.as_tensor(dt, dtype=torch.float32)
