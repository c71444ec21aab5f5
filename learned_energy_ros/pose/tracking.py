"""Multi-person tracking by detector id and 2D proximity (ROS-free).

Detections are compared in *normalized, undistorted* image coordinates, so a
camera swap (new K or distortion) does not break tracks. The detector's
``person`` id is a prior, not a rule: a matching id lowers the association
cost, but detections are assigned by proximity (Hungarian), so tracks survive
detectors that send no ids (every person 0), per-frame indices, or ids that
change.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

logger = logging.getLogger(__name__)

__all__ = ["TrackerConfig", "Track", "Tracker", "OneEuroFilter"]

_UNMATCHABLE = 1e6  # cost of a gated-out pair in the assignment problem


@dataclass
class TrackerConfig:
    """Association and lifetime settings.

    Attributes:
        timeout_s: a track not seen for longer than this dies (its markers get DELETE).
        gate: largest mean joint distance, in units of the track's 2D size, that may associate.
        id_bonus: cost reduction (same units) when the detector id matches the track's last id.
        min_common_joints: joints visible in both detection and track needed to compare them.
        joint_memory_s: a track's joint counts as visible for association while it was observed at most this
            long before the track's last observation; older positions are too stale to compare.
    """

    timeout_s: float = 1.0
    gate: float = 0.5
    id_bonus: float = 0.2
    min_common_joints: int = 3
    joint_memory_s: float = 0.2

    def __post_init__(self) -> None:
        if (not self.timeout_s > 0 or not self.gate > 0 or self.id_bonus < 0 or self.min_common_joints < 1
                or not self.joint_memory_s >= 0):
            raise ValueError(f"invalid tracker settings: {self}")


@dataclass
class Track:
    """One tracked person.

    Attributes:
        track_id: stable id published in markers and the joints cloud.
        detector_id: the detector's ``person`` id at the last association.
        keypoints: (J, 2) last known normalized 2D keypoints (a missed joint keeps its last observed position).
        seen_at: (J,) stamp (s) each joint was last observed (-inf: never).
        last_seen: stamp (s) of the last association.
        joints3d: (K, 3) last accepted 3D skeleton (optical frame), or None.
        depth_filter: smoother of the skeleton's log distance to the camera, or None.
    """

    track_id: int
    detector_id: int
    keypoints: np.ndarray
    seen_at: np.ndarray
    last_seen: float
    joints3d: np.ndarray | None = None
    depth_filter: "OneEuroFilter | None" = None

    def recent(self, memory_s: float) -> np.ndarray:
        """(J,) bool: joints observed at most ``memory_s`` before the track's last observation."""
        return self.seen_at >= self.last_seen - memory_s


class OneEuroFilter:
    """Speed-adaptive low-pass filter of a scalar signal (Casiez et al., CHI 2012).

    Slow changes are smoothed hard (``min_cutoff``); fast ones pass with little
    lag because the cutoff grows with the filtered speed (``beta``).

    Args:
        min_cutoff: cutoff frequency (Hz) at zero speed; lower = smoother.
        beta: cutoff increase per unit of speed (per second).
        d_cutoff: cutoff (Hz) of the speed estimate.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.value = self.speed = self.stamp = None

    @staticmethod
    def _alpha(cutoff: float, dt: float) -> float:
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: float, stamp: float) -> float:
        """Filter sample ``x`` taken at ``stamp`` (s); the first sample passes unchanged."""
        if self.value is None or stamp <= self.stamp:
            self.value, self.speed, self.stamp = float(x), 0.0, float(stamp)
            return self.value
        dt = stamp - self.stamp
        speed = (x - self.value) / dt
        self.speed += self._alpha(self.d_cutoff, dt) * (speed - self.speed)
        cutoff = self.min_cutoff + self.beta * abs(self.speed)
        self.value += self._alpha(cutoff, dt) * (x - self.value)
        self.stamp = float(stamp)
        return self.value


def _sizes(keypoints: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """``_size`` of T keypoint sets at once: (T, J, 2), (T, J) -> (T,)."""
    mask = visible[..., None]  # (T, J, 1)
    extent = np.where(mask, keypoints, -np.inf).max(axis=1) - np.where(mask, keypoints, np.inf).min(axis=1)
    with np.errstate(invalid="ignore"):  # tracks with no visible joint: inf - inf
        size = np.linalg.norm(extent, axis=-1)  # (T,)
    return np.where(visible.sum(axis=1) >= 2, np.maximum(np.nan_to_num(size, nan=1e-3), 1e-3), 1e-3)


class Tracker:
    """Associate per-frame detections to persistent tracks.

    Args:
        config: ``TrackerConfig``.
    """

    def __init__(self, config: TrackerConfig | None = None):
        self.config = config or TrackerConfig()
        self.tracks: dict[int, Track] = {}

    def reset(self) -> list[int]:
        """Forget every track; return the ids that were alive."""
        ids = list(self.tracks)
        self.tracks.clear()
        return ids

    def expire(self, stamp: float) -> list[int]:
        """Remove tracks unseen for longer than the timeout at ``stamp``; return their ids."""
        dead = [tid for tid, t in self.tracks.items() if stamp - t.last_seen > self.config.timeout_s]
        for tid in dead:
            del self.tracks[tid]
        return dead

    def cost_matrix(self, keypoints: np.ndarray, visible: np.ndarray, detector_ids: np.ndarray, tracks: list[Track]):
        """Association cost (N, T): mean joint distance / track size, minus the id bonus (all pairs at once)."""
        if not tracks:
            return np.full((len(keypoints), 0), np.inf)
        cfg = self.config
        track_kp = np.stack([t.keypoints for t in tracks])  # (T, J, 2)
        recent = np.stack([t.recent(cfg.joint_memory_s) for t in tracks])  # (T, J) stale joints do not count
        scale = _sizes(track_kp, recent)  # (T,)
        common = visible[:, None] & recent[None]  # (N, T, J)
        dist = np.linalg.norm(keypoints[:, None] - track_kp[None], axis=-1)  # (N, T, J)
        counts = common.sum(axis=-1)  # (N, T)
        with np.errstate(invalid="ignore"):  # NaN keypoints of joints that are not common
            total = np.where(common, dist, 0.0).sum(axis=-1)
        mean = np.where(counts >= max(cfg.min_common_joints, 1), total / np.maximum(counts, 1), np.inf) / scale
        ids = np.array([t.detector_id for t in tracks])  # (T,)
        cost = mean - cfg.id_bonus * (detector_ids[:, None] == ids[None])
        cost[mean > cfg.gate] = np.inf
        return cost

    def update(self, stamp: float, keypoints, visible, detector_ids) -> tuple[np.ndarray, list[int]]:
        """Associate one frame's detections and return their track ids.

        Args:
            stamp: frame time in seconds.
            keypoints: (N, J, 2) normalized undistorted coordinates.
            visible: (N, J) bool, joints actually observed.
            detector_ids: (N,) the detector's ``person`` ids.
        Returns:
            ``(track_ids (N,) int64, vanished)``: the track of each detection, and the
            ids of tracks that died at this frame (timeout).
        """
        keypoints = np.asarray(keypoints, dtype=np.float64)  # (N, J, 2)
        visible = np.asarray(visible, dtype=bool)  # (N, J)
        detector_ids = np.asarray(detector_ids, dtype=np.int64).reshape(-1)  # (N,)
        assert keypoints.ndim == 3 and visible.shape == keypoints.shape[:2] == (len(detector_ids), keypoints.shape[1])
        vanished = self.expire(stamp)
        tracks = list(self.tracks.values())
        assigned = np.full(len(keypoints), -1, dtype=np.int64)
        if tracks and len(keypoints):
            cost = self.cost_matrix(keypoints, visible, detector_ids, tracks)
            rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, _UNMATCHABLE))
            for r, c in zip(rows, cols):
                if np.isfinite(cost[r, c]):
                    assigned[r] = tracks[c].track_id
        for n in range(len(keypoints)):
            if assigned[n] < 0:
                assigned[n] = self._new_id(int(detector_ids[n]), assigned)
                never = np.full(len(visible[n]), -np.inf)
                self.tracks[int(assigned[n])] = Track(int(assigned[n]), int(detector_ids[n]), keypoints[n], never, stamp)
                logger.debug("new track %d (detector id %d)", assigned[n], detector_ids[n])
            track = self.tracks[int(assigned[n])]
            track.detector_id, track.last_seen = int(detector_ids[n]), stamp
            # keep the last known position of joints missed in this frame
            track.keypoints = np.where(visible[n][:, None], keypoints[n], track.keypoints)
            track.seen_at = np.where(visible[n], stamp, track.seen_at)
        return assigned, vanished

    def _new_id(self, detector_id: int, taken: np.ndarray) -> int:
        used = set(self.tracks) | {int(t) for t in taken if t >= 0}
        if detector_id not in used:
            return detector_id
        return max(used) + 1

    def previous(self, track_ids, num_joints: int) -> np.ndarray:
        """Return each track's last 3D skeleton (N, K, 3), NaN rows where there is none."""
        out = np.full((len(track_ids), num_joints, 3), np.nan)
        for n, tid in enumerate(track_ids):
            joints = self.tracks.get(int(tid)).joints3d if int(tid) in self.tracks else None
            if joints is not None and joints.shape == (num_joints, 3):
                out[n] = joints
        return out

    def set_joints(self, track_ids, joints) -> None:
        """Store each track's accepted 3D skeleton (K, 3) for the next warm start."""
        for tid, j in zip(track_ids, np.asarray(joints, dtype=np.float64)):
            if int(tid) in self.tracks:
                self.tracks[int(tid)].joints3d = j.copy()
