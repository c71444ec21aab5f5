"""Lift the people of several prepared frames (one or many cameras) in one lifter call (ROS-free).

Each camera keeps its own ``PosePipeline`` (tracks, stamps, calibration); what they
share is the lifter. The model works in normalized, undistorted coordinates, so
the persons of every ready camera are concatenated into one batch, lifted once
(one set of torch kernel launches: where a GPU pays, and the per-call Python
overhead is paid once per tick instead of once per camera), and split back.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learned_energy_ros.core.skeleton import SkeletonError
from learned_energy_ros.pose.pipeline import FrameResult, FrameSkipped, PipelineConfig, PosePipeline, PreparedFrame

__all__ = ["Lifted", "lift_prepared", "process_frames"]


@dataclass
class Lifted:
    """One frame's share of a batched lift: joints (N, K, 3), energy (N,), output skeleton."""

    joints: np.ndarray
    energy: np.ndarray
    skeleton: object


def lift_prepared(lifter, config: PipelineConfig, prepared: list[PreparedFrame]) -> list[Lifted]:
    """Lift every person of ``prepared`` (frames with at least one person) in one call.

    Lifters without ``lift_normalized`` (test doubles) are called once per frame with pixels.

    Raises:
        FrameSkipped: ``lift_error`` when the lifter refuses the batch.
    """
    try:
        if not hasattr(lifter, "lift_normalized"):
            return [_lift_pixels(lifter, config, p) for p in prepared]
        histories = [p.previous for p in prepared]
        previous = None if any(h is None for h in histories) else np.concatenate(histories)  # (ΣN, K, 3)
        if previous is not None and np.all(np.isnan(previous)):
            previous = None
        out = lifter.lift_normalized(
            np.concatenate([p.normalized for p in prepared]).astype(np.float32),
            np.concatenate([p.scores for p in prepared]).astype(np.float32),
            input_skeleton=config.input_skeleton, previous=previous, steps=config.num_steps or None,
            keypoint_noise=np.concatenate([np.full(len(p.track_ids), _noise(config, p.result.camera)) for p in prepared]),
            **_temporal(config, previous, lambda: np.concatenate([p.ages for p in prepared])))
    except (ValueError, SkeletonError) as err:  # LiftError is a ValueError
        raise FrameSkipped("lift_error", str(err)) from None
    bounds = np.cumsum([0] + [len(p.track_ids) for p in prepared])
    return [Lifted(out.joints[a:b], out.energy[a:b], out.skeleton) for a, b in zip(bounds[:-1], bounds[1:])]


def _temporal(config: PipelineConfig, previous, ages) -> dict:
    """The lifter's temporal and size keywords: weight and ages with a history, the stature prior when set."""
    extra = {"temporal_weight": config.temporal_weight if previous is not None else None}
    if previous is not None:
        extra["previous_dt"] = ages()
    if config.person_height_prior > 0:
        extra["height_prior"] = config.person_height_prior
    return extra


def _noise(config: PipelineConfig, camera) -> float:
    """The configured keypoint noise in a camera's normalized units (pixels / mean focal length)."""
    return config.keypoint_noise_px / camera.mean_focal


def _lift_pixels(lifter, config: PipelineConfig, p: PreparedFrame) -> Lifted:
    previous = p.previous if p.previous is not None and not np.all(np.isnan(p.previous)) else None
    out = lifter.lift(p.keypoints.astype(np.float32), p.scores.astype(np.float32), p.result.camera,
                      input_skeleton=config.input_skeleton, previous=previous, steps=config.num_steps or None,
                      keypoint_noise_px=config.keypoint_noise_px, **_temporal(config, previous, lambda: p.ages))
    return Lifted(out.joints, out.energy, out.skeleton)


def process_frames(lifter, items: list[tuple[PosePipeline, object]]) -> list[FrameResult | FrameSkipped]:
    """Process one frame per pipeline with a single lifter call; one result or ``FrameSkipped`` per item.

    Args:
        lifter: the lifter every pipeline shares.
        items: ``(pipeline, KeypointFrame)`` pairs, at most one per pipeline; all pipelines
            must share ``lifter`` and their ``PipelineConfig`` (the lifting settings).
    """
    out: list = [None] * len(items)
    ready = []
    for k, (pipeline, frame) in enumerate(items):
        try:
            prepared = pipeline.prepare(frame)
        except FrameSkipped as skipped:
            out[k] = skipped
            continue
        if len(prepared.track_ids):
            ready.append((k, pipeline, prepared))
        else:
            out[k] = prepared.result
    if ready:
        try:
            lifted = lift_prepared(lifter, ready[0][1].config, [p for _, _, p in ready])
        except FrameSkipped as skipped:
            lifted = [skipped] * len(ready)
        for (k, pipeline, prepared), one in zip(ready, lifted):
            out[k] = one if isinstance(one, FrameSkipped) else pipeline.finish(prepared, one)
    return out
