"""Several cameras' frames of one instant -> tracked skeletons in the common frame (ROS-free).

The pose node's fusion mode calls ``FusionPipeline.process`` once per group of synchronized camera frames; it
only translates messages. Per camera: the same validation as one camera (``validate_frame``), normalization,
the pose of the camera in the common frame. Then: single-view lifts (for association), cross-camera
association, fused track ids, ``lift_multiview`` with each track's previous fused skeleton, the energy filter,
and the camera health record (per-camera consistency energies: a camera whose energy stays above the others'
is named and down-weighted).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np

from learned_energy_ros.core.skeleton import get_skeleton, joint_mapping
from learned_energy_ros.pose.association import AssociationConfig, FusedTracker, associate
from learned_energy_ros.pose.multiview import MultiViewConfig, lift_multiview_normalized
from learned_energy_ros.pose.pipeline import FrameSkipped, PipelineConfig, validate_frame
from learned_energy_ros.pose.rig import RigError

log = logging.getLogger(__name__)

__all__ = ["FusionPipeline", "FusedResult", "CameraHealth"]


class CameraHealth:
    """Running per-camera consistency energies: how much worse each camera fits the fused skeletons than its own.

    Args:
        alpha: weight of a new frame in the running means.
        tau: excess over the median camera that halves a camera's weight (as ``MultiViewConfig.reweight_tau``).
        flag: excess over the median camera above which a camera is reported as disagreeing.
    """

    def __init__(self, alpha: float = 0.1, tau: float = 1.0, flag: float = 1.0) -> None:
        self.alpha, self.tau, self.flag = alpha, tau, flag
        self.energy: dict[str, float] = {}
        self.excess: dict[str, float] = {}

    def _ema(self, table: dict, name: str, value: float) -> None:
        table[name] = value if name not in table else (1 - self.alpha) * table[name] + self.alpha * value

    def update(self, names, result) -> None:
        """Fold one fused frame (``MultiViewResult`` with views in the order of ``names``) into the means."""
        shared = result.views >= 2  # only people seen by several cameras can show a disagreement
        for v, name in enumerate(names):
            e = result.view_energy[shared, v]
            x = (result.view_energy - result.single_energy)[shared, v]
            if np.isfinite(e).any():
                self._ema(self.energy, name, float(np.nanmean(e)))
                self._ema(self.excess, name, float(np.nanmean(x)))

    def _extra(self) -> dict[str, float]:
        if len(self.excess) < 3:  # two cameras that disagree: which one is wrong cannot be told
            return {n: 0.0 for n in self.excess}
        median = float(np.median(list(self.excess.values())))
        return {n: max(x - median, 0.0) for n, x in self.excess.items()}

    def weights(self, names) -> np.ndarray:
        """(V,) weights of the cameras' consistency energies for the next frame."""
        extra = self._extra()
        return np.array([1.0 / (1.0 + (extra.get(n, 0.0) / self.tau) ** 2) for n in names])

    def disagreeing(self) -> list[str]:
        """Cameras whose fit stays worse than the others' by more than ``flag`` (the likely bad extrinsics)."""
        if len(self.excess) == 2 and min(self.excess.values()) > self.flag:
            return sorted(self.excess)  # the pair disagrees; one of them is wrong
        return sorted(n for n, x in self._extra().items() if x > self.flag)

    def report(self) -> dict[str, dict]:
        """Per camera: running consistency energy, excess, weight, and whether it disagrees."""
        bad, names = set(self.disagreeing()), sorted(self.energy)
        w = dict(zip(names, self.weights(names)))
        return {n: {"consistency_energy": self.energy[n], "excess_energy": self.excess[n], "weight": float(w[n]),
                    "disagrees": n in bad} for n in names}


@dataclass
class FusedResult:
    """Fused skeletons of one instant (attributes as ``FrameResult``, joints in the common frame ``frame_id``).

    ``views``: (M,) cameras that saw each person; ``skipped``: ``(camera, FrameSkipped)`` of unusable frames.
    """

    stamp: float
    frame_id: str
    skeleton: object
    track_ids: np.ndarray
    joints: np.ndarray
    energy: np.ndarray
    confidence: np.ndarray
    views: np.ndarray
    vanished: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    skipped: list = field(default_factory=list)


@dataclass
class _Camera:
    name: str
    xy: np.ndarray
    scores: np.ndarray
    pose: object
    focal: float  # mean focal length (px)


class FusionPipeline:
    """Fuse synchronized frames of several calibrated cameras.

    Args:
        lifter: a loaded ``Lifter``.
        config: the per-frame settings every camera shares (``PipelineConfig``: layout, scores, energy filter, ...).
        pose_of: ``(camera name, KeypointFrame) -> CameraPose`` in ``frame_id`` (a rig file, tf2); RigError = unknown.
        frame_id: the common frame.
        multiview, association: fusion and association settings.
    """

    def __init__(self, lifter, config: PipelineConfig, pose_of, frame_id: str,
                 multiview: MultiViewConfig | None = None, association: AssociationConfig | None = None) -> None:
        self.lifter, self.config, self.pose_of, self.frame_id = lifter, config, pose_of, frame_id
        self.multiview = multiview or MultiViewConfig()
        self.tracker = FusedTracker(association)
        self.health = CameraHealth(tau=self.multiview.reweight_tau or 1.0)
        self.lifted_at: dict[int, float] = {}

    def reconfigure(self, **changes) -> PipelineConfig:
        """Apply new ``PipelineConfig`` settings from the next instant on (ValueError leaves the old ones)."""
        self.config = replace(self.config, **changes)
        return self.config

    def reconfigure_multiview(self, **changes) -> MultiViewConfig:
        """Apply new ``MultiViewConfig`` settings (e.g. ``steps``) from the next instant on (ValueError leaves the old)."""
        self.multiview = replace(self.multiview, **changes)
        return self.multiview

    def reset(self) -> list[int]:
        """Forget tracks and camera health; return the dropped track ids."""
        self.health = CameraHealth(tau=self.health.tau)
        return self.tracker.reset()

    def _camera(self, name: str, frame) -> _Camera:
        keypoints, scores, _ = validate_frame(self.config, frame)
        enough = (scores > 0).sum(1) >= self.config.min_joints
        keypoints, scores = keypoints[enough], scores[enough]
        xy = frame.camera.normalize(keypoints) if len(keypoints) else keypoints
        if not np.all(np.isfinite(xy[scores > 0])):
            raise FrameSkipped("invalid_keypoints", "keypoints cannot be undistorted by this camera")
        try:
            pose = self.pose_of(name, frame)
        except RigError as err:
            raise FrameSkipped("no_extrinsics", str(err)) from None
        return _Camera(name, np.where(scores[..., None] > 0, xy, 0.0), scores, pose, frame.camera.mean_focal)

    def process(self, frames) -> FusedResult:
        """Fuse ``frames`` [(camera name, KeypointFrame)] of one instant (stamps within the caller's slop)."""
        skel = get_skeleton(getattr(self.lifter, "skeleton", "h36m17"))
        stamp = max(f.stamp for _, f in frames)
        cams, skipped = [], []
        for name, frame in frames:
            try:
                cams.append(self._camera(name, frame))
            except FrameSkipped as err:
                skipped.append((name, err))
        empty = FusedResult(stamp, self.frame_id, skel, np.zeros(0, np.int64), np.zeros((0, len(skel), 3)),
                            np.zeros(0), np.zeros((0, len(skel))), np.zeros(0, np.int64), skipped=skipped)
        cams = [c for c in cams if len(c.xy)]
        if not cams:
            empty.vanished = self.tracker.update(stamp, np.zeros((0, 3)))[1]
            return empty
        groups = self._associate(cams)
        V, N, J = len(cams), len(groups), cams[0].xy.shape[1]
        xy, sc = np.zeros((V, N, J, 2)), np.zeros((V, N, J))
        for n, group in enumerate(groups):
            for v, i in group.items():
                xy[v, n], sc[v, n] = cams[v].xy[i], cams[v].scores[i]
        return self._lift(cams, groups, xy, sc, stamp, skel, skipped)

    def _associate(self, cams: list[_Camera]) -> list[dict]:
        sizes = [len(c.xy) for c in cams]
        # the initial net alone places each detection's pelvis well enough to associate (the descent adds ~1 cm)
        joints = self.lifter.initial_joints(np.concatenate([c.xy for c in cams]), np.concatenate([c.scores for c in cams]),
                                            self.config.input_skeleton)
        bounds = np.cumsum([0] + sizes)
        roots = [c.pose.to_common(joints[a:b, 0]) for c, a, b in zip(cams, bounds[:-1], bounds[1:])]
        self._roots = roots
        return associate([c.xy for c in cams], [c.scores > 0 for c in cams], roots, [c.pose for c in cams])

    def _lift(self, cams, groups, xy, sc, stamp, skel, skipped) -> FusedResult:
        cfg = self.config
        roots = np.stack([np.mean([self._roots[v][i] for v, i in g.items()], 0) for g in groups])
        ids, vanished = self.tracker.update(stamp, roots)
        previous = ages = None
        if cfg.temporal_weight > 0:
            previous = self.tracker.previous(ids, len(skel))
            ages = np.maximum([stamp - self.lifted_at.get(int(t), stamp) for t in ids], 0.0)
            previous = None if np.all(np.isnan(previous)) else previous
        names = [c.name for c in cams]
        height = cfg.person_height_prior if cfg.person_height_prior > 0 else None
        res = lift_multiview_normalized(xy, sc, [c.pose for c in cams], self.lifter, cfg.input_skeleton, previous,
                                        ages if previous is not None else None, cfg.temporal_weight,
                                        self.health.weights(names), height, self.multiview,
                                        np.array([cfg.keypoint_noise_px / c.focal for c in cams]))
        self.health.update(names, res)
        ok = np.isfinite(res.energy) & (res.energy <= cfg.max_energy) & np.isfinite(res.joints).all((1, 2))
        self.tracker.set_joints(ids[ok], res.joints[ok])
        self.lifted_at = {t: s for t, s in self.lifted_at.items() if t in self.tracker.tracks}
        self.lifted_at.update((int(t), stamp) for t in ids[ok])
        conf = self._confidence(sc.max(0), skel)  # best score over the views
        return FusedResult(stamp, self.frame_id, skel, ids[ok], res.joints[ok].astype(np.float64),
                           res.energy[ok].astype(np.float64), conf[ok], res.views[ok], vanished,
                           [int(t) for t in ids[~ok]], skipped)

    def _confidence(self, scores: np.ndarray, skeleton) -> np.ndarray:
        mapping = joint_mapping(self.config.input_skeleton, skeleton)  # (K,)
        seen = scores > 0
        mean = np.where(seen, scores, 0.0).sum(1) / np.maximum(seen.sum(1), 1)
        return np.where(mapping[None] >= 0, scores[:, np.maximum(mapping, 0)], mean[:, None])
