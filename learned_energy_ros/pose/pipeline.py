"""One frame of 2D keypoints + camera -> tracked, smoothed, filtered 3D skeletons (ROS-free).

The ``pose_lifter`` node and ``process-bag`` both call ``PosePipeline.process``;
they only translate messages. Temporal smoothing is the IGE way: each track's
previous 3D skeleton, with the real time since it (header stamps), warm-starts
the unrolled optimizer and enters the temporal energy term. The published
energy stays a plausibility score: it leaves the temporal term out.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, fields, replace

import numpy as np

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.skeleton import get_skeleton, joint_mapping
from learned_energy_ros.core.unrolled import MAX_STEPS
from learned_energy_ros.pose.lift_types import DEFAULT_KEYPOINT_NOISE_PX
from learned_energy_ros.pose.tracking import OneEuroFilter, Tracker, TrackerConfig

logger = logging.getLogger(__name__)

#: Largest ``keypoint_noise_px`` accepted (pixels).
MAX_KEYPOINT_NOISE_PX = 100.0

__all__ = ["PipelineConfig", "KeypointFrame", "FrameResult", "FrameSkipped", "PosePipeline", "PreparedFrame",
           "validate_frame"]


class FrameSkipped(ValueError):
    """A frame that cannot be processed; ``reason`` is a short key counted in diagnostics."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason


@dataclass(frozen=True)
class PipelineConfig:
    """Per-frame behaviour; every field is a node parameter of the same name.

    Attributes:
        input_skeleton: layout of the incoming keypoints (the ``joint`` indices).
        min_score: scores at or below this mean "missing joint".
        max_energy: skeletons whose final energy exceeds this are not published (inf: keep all).
        temporal_weight: weight of the temporal energy; 0 disables smoothing (no warm start either).
        person_height_prior: mean stature (m) of the people this camera sees; 0 keeps the checkpoint's
            adult prior. Scales size and distance together (one image cannot tell them apart).
        keypoint_noise_px: std (pixels) of the detector's 2D noise; the descent follows the 2D less where it is
            large next to the person's size in pixels (far people). 0: trust the 2D fully.
        num_steps: unrolled optimizer steps (0: the checkpoint's own number).
        track_timeout: seconds after which an unseen track dies.
        association_gate: max mean 2D joint distance (in person sizes) to continue a track.
        min_joints: persons with fewer visible joints are not lifted (too little evidence).
        depth_cutoff: One-Euro cutoff (Hz) smoothing each track's distance to the camera (0: off).
            The temporal energy smooths the pose; the monocular distance estimate is the
            remaining jitter, and rescaling about the camera centre keeps the 2D fit exact.
        depth_beta: One-Euro speed coefficient (1/s) of that filter: higher = less lag when walking.
        max_persons: frames with more persons are skipped (a garbage or huge message must not
            stall the node for seconds).
        jump_reset: a stamp this many seconds before the last one is a time jump (bag loop,
            sim-time or camera restart), not a late frame: tracks are reset and it is processed
            (0: never; such frames stay ``out_of_order``).
    """

    input_skeleton: str = "coco17"
    min_score: float = 0.2
    max_energy: float = math.inf
    temporal_weight: float = 1.0
    person_height_prior: float = 0.0
    keypoint_noise_px: float = DEFAULT_KEYPOINT_NOISE_PX
    num_steps: int = 0
    track_timeout: float = 1.0
    association_gate: float = 0.5
    min_joints: int = 6
    depth_cutoff: float = 0.0
    depth_beta: float = 0.0
    max_persons: int = 50
    jump_reset: float = 10.0

    def __post_init__(self) -> None:
        get_skeleton(self.input_skeleton)  # raises SkeletonError for an unknown layout
        checks = {
            "min_score": 0.0 <= self.min_score < 1.0, "max_energy": self.max_energy > 0,
            "temporal_weight": 0.0 <= self.temporal_weight < math.inf, "num_steps": 0 <= self.num_steps <= MAX_STEPS,
            "track_timeout": 0 < self.track_timeout < math.inf, "association_gate": 0 < self.association_gate,
            "min_joints": 1 <= self.min_joints, "depth_cutoff": 0 <= self.depth_cutoff < math.inf,
            "depth_beta": 0 <= self.depth_beta < math.inf, "max_persons": 1 <= self.max_persons <= 10000,
            "jump_reset": 0 <= self.jump_reset < math.inf,
            "person_height_prior": self.person_height_prior == 0 or 0.5 <= self.person_height_prior <= 2.5,
            "keypoint_noise_px": 0 <= self.keypoint_noise_px <= MAX_KEYPOINT_NOISE_PX,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid value for {', '.join(f'{b}={getattr(self, b)!r}' for b in bad)}")


@dataclass
class KeypointFrame:
    """One synchronized input: detections of every person in one image.

    Attributes:
        stamp: capture time in seconds.
        camera: the camera of this frame.
        keypoints: (N, J, 2) raw pixels in the ``input_skeleton`` layout.
        scores: (N, J) confidences.
        person_ids: (N,) detector person ids.
    """

    stamp: float
    camera: Camera
    keypoints: np.ndarray
    scores: np.ndarray
    person_ids: np.ndarray


@dataclass
class FrameResult:
    """Published skeletons of one frame (only those at or below ``max_energy``).

    Attributes:
        track_ids: (M,) track ids.
        joints: (M, K, 3) meters, optical frame, in ``skeleton`` layout.
        energy: (M,) final energy (plausibility; lower is better).
        confidence: (M, K) per-joint confidence (input score; joints the input lacks get the person's mean).
        keypoints, scores: (M, J, 2), (M, J) the 2D input of the published persons.
        vanished: ids of tracks that died at this frame.
        rejected: ids of tracks whose skeleton exceeded ``max_energy``.
        camera_changed: True when this frame's calibration differs from the previous frame's.
        frame_changed: True when the camera frame_id changed (tracks were reset: their 3D was in another frame).
        time_jumped: True when the stamp jumped back by ``jump_reset`` or more (tracks were reset).
        clipped_scores: number of scores outside [0, 1] clipped into it.
    """

    stamp: float
    camera: Camera
    skeleton: object
    track_ids: np.ndarray
    joints: np.ndarray
    energy: np.ndarray
    confidence: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray
    vanished: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    too_few_joints: int = 0
    camera_changed: bool = False
    frame_changed: bool = False
    time_jumped: bool = False
    clipped_scores: int = 0


def validate_frame(cfg: PipelineConfig, frame: KeypointFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """Check one frame's 2D against ``cfg``: ``(keypoints (N, J, 2), scores (N, J) with missing = 0, clipped)``.

    Raises:
        FrameSkipped: wrong layout, too many persons, NaN/inf, ids that do not match.
    """
    keypoints = np.asarray(frame.keypoints, dtype=np.float64)  # (N, J, 2)
    scores = np.asarray(frame.scores, dtype=np.float64)  # (N, J)
    J = len(get_skeleton(cfg.input_skeleton))
    if keypoints.ndim != 3 or keypoints.shape[1:] != (J, 2) or scores.shape != keypoints.shape[:2]:
        raise FrameSkipped("skeleton_mismatch", f"expected ({J} joints of {cfg.input_skeleton}), got "
                           f"keypoints {keypoints.shape} scores {scores.shape}")
    if keypoints.shape[0] > cfg.max_persons:
        raise FrameSkipped("too_many_persons", f"{keypoints.shape[0]} persons > max_persons={cfg.max_persons}")
    if not np.all(np.isfinite(scores)):
        raise FrameSkipped("invalid_keypoints", "NaN or inf in scores")
    outside = int(np.count_nonzero((scores < 0) | (scores > 1)))
    scores = np.clip(scores, 0.0, 1.0)  # (N, J) a detector's >1 or <0 confidence is not more evidence
    visible = scores > cfg.min_score
    if not np.all(np.isfinite(keypoints[visible])):
        raise FrameSkipped("invalid_keypoints", "NaN or inf in keypoints")
    if np.asarray(frame.person_ids).shape != (keypoints.shape[0],):
        raise FrameSkipped("invalid_keypoints", "person_ids do not match the number of persons")
    return keypoints, np.where(visible, scores, 0.0), outside


class PosePipeline:
    """Validate, track, lift with temporal smoothing, and filter by energy.

    Args:
        lifter: object with ``lift(...) -> LiftResult`` (``learned_energy_ros.pose.lifter``).
        config: ``PipelineConfig``.
    """

    def __init__(self, lifter, config: PipelineConfig | None = None):
        self.lifter = lifter
        self.config = config or PipelineConfig()
        self.tracker = Tracker(self._tracker_config(self.config))
        self.camera: Camera | None = None
        self.last_stamp: float | None = None
        self.lifted_at: dict[int, float] = {}  # track id -> stamp of its last accepted 3D skeleton

    @staticmethod
    def _tracker_config(config: PipelineConfig) -> TrackerConfig:
        return TrackerConfig(timeout_s=config.track_timeout, gate=config.association_gate)

    def reconfigure(self, **changes) -> PipelineConfig:
        """Validate and apply new settings from the next frame on.

        Raises:
            ValueError: (or SkeletonError) with the reason, leaving the old config in place.
        """
        unknown = set(changes) - {f.name for f in fields(PipelineConfig)}
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}")
        new = replace(self.config, **changes)  # validates in __post_init__
        self.config = new
        self.tracker.config = self._tracker_config(new)
        return new

    def reset(self) -> list[int]:
        """Drop tracks and stamp history (e.g. on deactivate); return the dropped track ids."""
        self.last_stamp, self.camera = None, None
        return self.tracker.reset()

    def _check_order(self, stamp: float) -> bool:
        """Raise for a duplicate or late stamp; return True for a backward time jump (reset needed)."""
        if not math.isfinite(stamp):
            raise FrameSkipped("bad_stamp", f"stamp {stamp}")
        if self.last_stamp is None or stamp > self.last_stamp:
            return False
        if stamp == self.last_stamp:
            raise FrameSkipped("duplicate_stamp", f"stamp {stamp:.6f} was already processed")
        if self.config.jump_reset > 0 and self.last_stamp - stamp >= self.config.jump_reset:
            return True
        raise FrameSkipped("out_of_order", f"stamp {stamp:.6f} < last processed {self.last_stamp:.6f}")

    def _validate(self, frame: KeypointFrame) -> tuple[np.ndarray, np.ndarray, int]:
        return validate_frame(self.config, frame)

    def _note_camera(self, camera: Camera) -> tuple[bool, bool]:
        """Return ``(calibration changed, frame_id changed)`` against the previous frame's camera."""
        changed = self.camera is not None and not self.camera.same_calibration(camera)
        moved = self.camera is not None and self.camera.frame_id != camera.frame_id
        if changed:
            logger.info("camera calibration changed: %r -> %r (used from this frame on)", self.camera, camera)
        self.camera = camera
        return changed, moved

    def process(self, frame: KeypointFrame) -> FrameResult:
        """Lift one frame; raise ``FrameSkipped`` for an unusable one.

        Frames rejected by validation leave the state unchanged; a frame that fails
        in the lifter still advances the stamp and the tracks (its 2D was valid).
        """
        from learned_energy_ros.pose.multi import lift_prepared

        prepared = self.prepare(frame)
        if len(prepared.track_ids) == 0:
            return prepared.result
        return self.finish(prepared, lift_prepared(self.lifter, self.config, [prepared])[0])

    def prepare(self, frame: KeypointFrame) -> "PreparedFrame":
        """Validate, normalize and track one frame: everything before the lifter (raises ``FrameSkipped``)."""
        jumped = self._check_order(frame.stamp)
        keypoints, scores, clipped = self._validate(frame)
        cfg = self.config
        enough = (scores > 0).sum(axis=1) >= cfg.min_joints  # (N,)
        keypoints, scores = keypoints[enough], scores[enough]
        ids = np.asarray(frame.person_ids, dtype=np.int64)[enough]
        normalized = frame.camera.normalize(keypoints) if len(keypoints) else keypoints  # (N, J, 2)
        if not np.all(np.isfinite(normalized[scores > 0])):
            raise FrameSkipped("invalid_keypoints", "keypoints cannot be undistorted by this camera")
        changed, moved = self._note_camera(frame.camera)
        reset = self.tracker.reset() if (jumped or moved) else []  # old tracks are in another time or frame
        self.last_stamp = frame.stamp
        track_ids, vanished = self.tracker.update(frame.stamp, normalized, scores > 0, ids)
        vanished = sorted((set(vanished) | set(reset)) - {int(t) for t in track_ids})
        skeleton_out = get_skeleton(getattr(self.lifter, "skeleton", "h36m17"))
        result = FrameResult(
            frame.stamp, frame.camera, skeleton_out, track_ids[:0], np.zeros((0, len(skeleton_out), 3)), np.zeros(0),
            np.zeros((0, len(skeleton_out))), keypoints[:0], scores[:0], vanished, [], int((~enough).sum()), changed,
            moved, jumped, clipped,
        )
        previous, ages = None, None
        if cfg.temporal_weight > 0 and len(track_ids):
            previous = self.tracker.previous(track_ids, len(skeleton_out))  # (N, K, 3), NaN rows = no history
            ages = np.maximum([frame.stamp - self.lifted_at.get(int(t), frame.stamp) for t in track_ids], 0.0)
        return PreparedFrame(result, keypoints, scores, normalized, track_ids, previous, ages)

    def finish(self, prepared: "PreparedFrame", lifted) -> FrameResult:
        """Filter, smooth and store one frame's lifted skeletons (``lifted``: joints (N, K, 3), energy, skeleton)."""
        cfg, result, track_ids = self.config, prepared.result, prepared.track_ids
        keypoints, scores = prepared.keypoints, prepared.scores
        joints = np.asarray(lifted.joints, dtype=np.float64)  # (N, K, 3)
        energy = np.asarray(lifted.energy, dtype=np.float64).reshape(-1)  # (N,)
        ok = np.isfinite(energy) & (energy <= cfg.max_energy) & np.all(np.isfinite(joints), axis=(1, 2))
        if cfg.depth_cutoff > 0:
            joints[ok] = self._smooth_depth(track_ids[ok], joints[ok], result.stamp)
        self.tracker.set_joints(track_ids[ok], joints[ok])
        self.lifted_at = {t: s for t, s in self.lifted_at.items() if t in self.tracker.tracks}
        self.lifted_at.update((int(t), result.stamp) for t in track_ids[ok])
        result.skeleton = lifted.skeleton
        result.rejected = [int(t) for t in track_ids[~ok]]
        result.track_ids, result.joints, result.energy = track_ids[ok], joints[ok], energy[ok]
        result.keypoints, result.scores = keypoints[ok], scores[ok]
        result.confidence = self._confidence(scores[ok], lifted.skeleton)
        return result

    def _smooth_depth(self, track_ids, joints: np.ndarray, stamp: float) -> np.ndarray:
        """Rescale each skeleton about the camera centre to its track's filtered distance."""
        cfg = self.config
        distance = np.linalg.norm(joints.mean(axis=1), axis=-1)  # (M,)
        scale = np.ones(len(track_ids))
        for n, (tid, d) in enumerate(zip(track_ids.tolist(), distance.tolist())):
            track = self.tracker.tracks[tid]
            if track.depth_filter is None or track.depth_filter.min_cutoff != cfg.depth_cutoff \
                    or track.depth_filter.beta != cfg.depth_beta:
                track.depth_filter = OneEuroFilter(cfg.depth_cutoff, cfg.depth_beta)
            if d > 1e-6:
                scale[n] = math.exp(track.depth_filter(math.log(d), stamp)) / d
        return joints * scale[:, None, None]

    def _confidence(self, scores: np.ndarray, skeleton) -> np.ndarray:
        mapping = joint_mapping(self.config.input_skeleton, skeleton)  # (K,)
        seen = scores > 0  # (M, J)
        mean = np.where(seen, scores, 0.0).sum(axis=1) / np.maximum(seen.sum(axis=1), 1)  # (M,) 0 when none seen
        mapped = scores[:, np.maximum(mapping, 0)]  # (M, K)
        return np.where(mapping[None] >= 0, mapped, mean[:, None])


@dataclass
class PreparedFrame:
    """A validated, tracked frame waiting for the lifter (``PosePipeline.prepare``): its ``FrameResult``
    without skeletons, the persons' raw ``keypoints`` (N, J, 2), ``scores`` (N, J), ``normalized``
    (N, J, 2) keypoints, ``track_ids`` (N,), each track's ``previous`` 3D (N, K, 3; NaN rows: none)
    and ``ages`` (N,) s since it; both None without temporal smoothing."""

    result: FrameResult
    keypoints: np.ndarray
    scores: np.ndarray
    normalized: np.ndarray
    track_ids: np.ndarray
    previous: np.ndarray | None
    ages: np.ndarray | None
