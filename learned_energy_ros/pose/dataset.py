"""Training / evaluation batches: motion-capture poses seen by random virtual cameras through a noisy detector."""
from __future__ import annotations

import logging

import numpy as np
import torch

from learned_energy_ros.core.skeleton import MOCAP_SKELETON, TRAINING_SKELETON, get_skeleton, joint_mapping
from learned_energy_ros.core.protocol_cameras import draw_cameras
from learned_energy_ros.core.virtual_camera import CameraRanges, DetectorNoise, observe_batch
from learned_energy_ros.pose.batch import PoseBatch

__all__ = ["PoseSampler", "fixed_eval_set", "stack_frames", "DatasetError"]

log = logging.getLogger(__name__)

# Mocap is recorded at 30-120 fps: consecutive frames are near duplicates. Keep about this many per second.
TARGET_FPS = 7.5


class DatasetError(ValueError):
    """Raised when clips are empty or not in the motion-capture layout."""


def stack_frames(clips, target_fps: float = TARGET_FPS) -> np.ndarray:
    """Concatenate the subsampled frames of ``clips`` into (F, 27, 3) float32 (mocap27, world +Z up).

    Args:
        clips: objects with ``joints`` (T, 27, 3), ``fps`` and ``layout`` == "mocap27" (e.g. ``MocapClip``).
        target_fps: approximate frame rate kept (None: every frame).
    """
    parts = []
    n_mocap = len(get_skeleton(MOCAP_SKELETON))
    for clip in clips:
        layout = getattr(clip, "layout", MOCAP_SKELETON)
        joints = np.asarray(clip.joints, dtype=np.float32)
        if layout != MOCAP_SKELETON or joints.ndim != 3 or joints.shape[1:] != (n_mocap, 3):
            raise DatasetError(f"clip {getattr(clip, 'name', '?')}: expected ({MOCAP_SKELETON}) joints (T, {n_mocap}, 3), got {layout} {joints.shape}")
        stride = 1 if target_fps is None else max(1, int(round(float(getattr(clip, "fps", 30.0)) / target_fps)))
        frames = joints[::stride]
        parts.append(frames[np.isfinite(frames).all(axis=(1, 2))])
    if not parts or sum(len(p) for p in parts) == 0:
        raise DatasetError("no motion-capture frames to sample from")
    return np.concatenate(parts)


class PoseSampler:
    """Draw ``PoseBatch``es: a random mocap frame, a random virtual camera, a noisy 2D detector.

    Args:
        clips: motion-capture clips (``MocapClip`` or anything with ``joints`` (T, 27, 3), ``fps``).
        ranges: virtual camera ranges, or any camera source ``draw_cameras`` accepts (e.g. ``Standard13Cameras``).
        noise: detector noise model.
        input_skeleton: 2D layout to synthesise (joints by name from mocap27; absent names get score 0).
        seed: random seed (same seed, same batches).
        target_fps: frame subsampling rate (None: every frame).
        augment: body augmentation applied to each drawn pose (``BodyAugment``), or None.
        observed: a layout whose joints alone are observed (others of ``input_skeleton`` get score 0), or None.
    """

    def __init__(self, clips, ranges: CameraRanges | None = None, noise: DetectorNoise | None = None,
                 input_skeleton: str = "coco17", seed: int = 0, target_fps: float | None = TARGET_FPS,
                 augment=None, observed: str | None = None) -> None:
        self.frames = stack_frames(clips, target_fps)  # (F, 27, 3)
        self.ranges = ranges if ranges is not None else CameraRanges.broad()
        self.noise = noise if noise is not None else DetectorNoise.training()
        self.input_skeleton = get_skeleton(input_skeleton).name
        self.rng = np.random.default_rng(seed)
        self.augment = augment
        self._map2d = joint_mapping(MOCAP_SKELETON, self.input_skeleton)  # (J,) -1 = not in mocap
        if observed is not None:  # e.g. the standard-13 protocol: only its 13 body joints are seen
            names = set(get_skeleton(observed).joints)
            self._map2d = np.where([n in names for n in get_skeleton(self.input_skeleton).joints], self._map2d, -1)
        self._map3d = joint_mapping(MOCAP_SKELETON, TRAINING_SKELETON)  # (17,)
        self._root = get_skeleton(MOCAP_SKELETON).index("pelvis")
        log.debug("PoseSampler: %d frames, input %s", len(self.frames), self.input_skeleton)

    def __len__(self) -> int:
        return len(self.frames)

    def sample(self, batch_size: int) -> PoseBatch:
        """Return a random ``PoseBatch`` of ``batch_size`` people (float32, CPU)."""
        idx = self.rng.integers(len(self.frames), size=batch_size)
        return self.observe_frames(idx)

    def observe_frames(self, idx) -> PoseBatch:
        """Observe the given frame indices, each through a fresh random camera."""
        world = self.frames[np.asarray(idx)].astype(np.float64)  # (B, 27, 3)
        if self.augment is not None:
            world = self.augment(world, self.rng)
        lens, Rs, ts = draw_cameras(self.ranges, self.rng, world)
        return self.observe_world(world, lens, Rs, ts)

    def observe_world(self, world: np.ndarray, lens, Rs: np.ndarray, ts: np.ndarray) -> PoseBatch:
        """Observe ``mocap27`` poses (B, 27, 3) through given cameras (lens of B, R (B, 3, 3), t (B, 3))."""
        joints_cam = np.einsum("bij,bkj->bki", Rs, world) + ts[:, None]  # (B, 27, 3)
        present = self._map2d >= 0
        obs3d = joints_cam[:, np.where(present, self._map2d, 0)]  # (B, J, 3)
        px, xy, scores, _ = observe_batch(obs3d, lens, self.noise, self.rng, self.input_skeleton)
        scores = scores * present
        px, xy = px * present[:, None], xy * present[:, None]
        f32 = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)  # noqa: E731
        return PoseBatch(keypoints_px=f32(px), normalized=f32(xy), scores=f32(scores), K=f32(lens.K),
                         image_size=f32(lens.size), input_skeleton=self.input_skeleton,
                         joints_cam=f32(joints_cam[:, self._map3d]))


def fixed_eval_set(clips, n: int, ranges: CameraRanges | None = None, noise: DetectorNoise | None = None,
                   seed: int = 0, input_skeleton: str = "coco17", augment=None) -> PoseBatch:
    """Return a deterministic evaluation batch: ``n`` frames evenly spread over the clips, seeded cameras and noise.

    Args:
        clips: motion-capture clips.
        n: number of samples (frames repeat when the clips hold fewer).
        ranges: camera ranges (default ``CameraRanges.broad()``).
        noise: detector noise (default 2 px Gaussian, no dropout).
        seed: seed of cameras and noise.
        input_skeleton: 2D layout.
        augment: optional pose transform (e.g. a fixed stature), as in ``PoseSampler``.
    """
    sampler = PoseSampler(clips, ranges, noise if noise is not None else DetectorNoise(sigma_px=2.0),
                          input_skeleton=input_skeleton, seed=seed, augment=augment)
    idx = np.linspace(0, len(sampler) - 1, n).round().astype(np.int64) if n > 0 else np.zeros(0, np.int64)
    return sampler.observe_frames(idx)


def standard13_eval_set(clips, views: int = 3, seed: int = 0, input_skeleton: str = "body13", augment=None,
                        fps: float = 10.0, noise: DetectorNoise | None = None, body_only: bool = True) -> PoseBatch:
    """Return the ``standard-13`` evaluation batch: every frame at ``fps``, each seen by ``views`` seeded cameras.

    Args:
        clips: motion-capture clips (e.g. ``val``).
        views: independent cameras per kept frame.
        seed: seed of cameras and noise.
        input_skeleton: 2D layout generated (joints outside ``body13`` get score 0).
        augment: optional pose transform (e.g. a fixed stature).
        fps: frame rate kept.
        noise: 2D noise (default: the protocol's 2 px Gaussian, scores 1).
        body_only: observe only the 13 protocol joints (False: every joint of ``input_skeleton``, e.g. the face).
    """
    from learned_energy_ros.core.protocol_cameras import Standard13Cameras

    noise = noise if noise is not None else DetectorNoise(sigma_px=2.0, score_range=(1.0, 1.0))
    sampler = PoseSampler(clips, Standard13Cameras(), noise, input_skeleton=input_skeleton, seed=seed,
                          target_fps=fps, augment=augment, observed="body13" if body_only else None)
    return sampler.observe_frames(np.repeat(np.arange(len(sampler)), views))
