"""Public pose-lifting API: ``load_lifter(...).lift(keypoints_px, scores, camera)`` -> metric 3D joints."""
from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.device import resolve_device
from learned_energy_ros.core.skeleton import TRAINING_SKELETON, SkeletonError, get_skeleton, joint_mapping
from learned_energy_ros.pose.batch import PoseBatch
from learned_energy_ros.core.unrolled import MAX_STEPS
from learned_energy_ros.pose.lift_types import DEFAULT_KEYPOINT_NOISE_PX, LiftError, LiftResult
from learned_energy_ros.pose.lifter_ops import descend_hypotheses
from learned_energy_ros.pose.model import IGEPoseModel, build_model

__all__ = ["DEFAULT_KEYPOINT_NOISE_PX", "LiftError", "LiftResult", "Lifter", "load_lifter", "default_checkpoint"]

log = logging.getLogger(__name__)

DEFAULT_CHECKPOINT = "lifter_ige.pt"


def default_checkpoint() -> Path:
    """Path of the checkpoint shipped inside the package."""
    return Path(str(resources.files("learned_energy_ros") / "models" / DEFAULT_CHECKPOINT))


class Lifter:
    """A loaded IGE lifter.

    Args:
        model: the IGE model (weights loaded).
        device: torch device it runs on.
        metadata: training metadata from the checkpoint.
    """

    def __init__(self, model: IGEPoseModel, device: torch.device, metadata: dict | None = None) -> None:
        self.model = model.to(device).eval()
        self.device = device
        self.metadata = metadata or {}
        self.skeleton = get_skeleton(TRAINING_SKELETON)

    @property
    def config(self):
        return self.model.config

    @property
    def num_steps(self) -> int:
        return int(self.model.config.default_steps)

    @property
    def input_skeleton(self) -> str:
        return self.model.config.input_skeleton

    @property
    def trained_stature(self) -> float | None:
        """Mean stature (m) of the people the checkpoint was trained on (its metric size prior), if recorded."""
        stature = self.metadata.get("stature")
        return float(stature[0]) if stature else None

    def _height_ratio(self, height_prior) -> float:
        if height_prior is None:
            return 1.0
        if not (isinstance(height_prior, (int, float, np.floating)) and 0.5 <= float(height_prior) <= 2.5):
            raise LiftError(f"height_prior must be a stature in [0.5, 2.5] m, got {height_prior!r}")
        if self.trained_stature is None:
            raise LiftError("this checkpoint records no stature prior, so height_prior cannot be applied")
        return float(height_prior) / self.trained_stature

    # ------------------------------------------------------------------ helpers
    def _remap(self, values: torch.Tensor, scores: torch.Tensor, layout: str):
        """Re-index (N, J, C) / (N, J) from ``layout`` to the trained layout by joint name (absent -> score 0)."""
        if layout == self.input_skeleton:
            return values, scores
        m = torch.as_tensor(joint_mapping(layout, self.input_skeleton), device=values.device)
        ok = (m >= 0).to(scores.dtype)
        return values[:, m.clamp_min(0)] * ok[None, :, None], scores[:, m.clamp_min(0)] * ok

    @staticmethod
    def _noise(noise, N: int, what: str) -> np.ndarray:
        """Checked keypoint noise: (N,) stds >= 0 from a scalar or (N,) (``what`` names it in errors)."""
        try:
            value = np.array(np.broadcast_to(np.asarray(noise, dtype=np.float64), (N,)))
        except (TypeError, ValueError):
            raise LiftError(f"{what} must be a number or one per person (N={N}), got {noise!r}") from None
        if not np.all(np.isfinite(value) & (value >= 0)):
            raise LiftError(f"{what} must be finite and >= 0, got {noise!r}")
        return value

    def _steps(self, steps) -> int:
        steps = self.num_steps if steps is None else steps
        if not isinstance(steps, (int, np.integer)) or not 0 <= steps <= MAX_STEPS:
            raise LiftError(f"steps must be an int in [0, {MAX_STEPS}], got {steps!r}")
        return int(steps)

    def _check(self, keypoints_px, scores, input_skeleton: str):
        try:
            layout = get_skeleton(input_skeleton)
        except SkeletonError as err:
            raise LiftError(str(err)) from None
        kp = np.asarray(keypoints_px, dtype=np.float64)
        sc = np.asarray(scores, dtype=np.float64)
        if kp.ndim != 3 or kp.shape[-1] != 2:
            raise LiftError(f"keypoints_px must be (N, J, 2), got {kp.shape}")
        if sc.shape != kp.shape[:2]:
            raise LiftError(f"scores must be (N, J) = {kp.shape[:2]}, got {sc.shape}")
        if kp.shape[1] != len(layout):
            raise LiftError(f"layout {layout.name!r} has {len(layout)} joints, got {kp.shape[1]}")
        if not np.all(np.isfinite(sc)):
            raise LiftError("scores contain NaN or inf")
        observed = sc > self.config.min_score
        if not np.all(np.isfinite(kp[observed])):
            raise LiftError("keypoints with score > min_score contain NaN or inf")
        kp = np.where(observed[..., None], kp, 0.0)  # missing joints may be NaN: they are ignored
        return kp, sc, layout.name

    # ------------------------------------------------------------------ API
    def predict(self, batch: PoseBatch, steps: int | None = None,
                keypoint_noise_px: float = DEFAULT_KEYPOINT_NOISE_PX) -> torch.Tensor:
        """Lift a ``PoseBatch`` to (B, 17, 3) meters (optical frame) at ``steps`` (default ``num_steps``).

        ``keypoint_noise_px``: std of the 2D noise in pixels (as ``lift``), turned into normalized units by each
        sample's focal length.
        """
        batch = batch.to(self.device)
        xy, sc = self._remap(batch.normalized, batch.scores, batch.input_skeleton)
        focal = 0.5 * (batch.K[:, 0, 0] + batch.K[:, 1, 1])
        noise = torch.as_tensor(self._noise(keypoint_noise_px, 1, "keypoint_noise_px"), dtype=focal.dtype,
                                device=focal.device) / focal
        with torch.no_grad():
            return self.model(xy, sc, steps=self._steps(steps), noise=noise)

    def lift(self, keypoints_px, scores, camera: Camera, input_skeleton: str = "coco17", previous=None,
             steps: int | None = None, hypotheses: int = 1, temporal_weight: float | None = None,
             return_trajectory: bool = False, previous_dt=None, height_prior: float | None = None,
             keypoint_noise_px=DEFAULT_KEYPOINT_NOISE_PX) -> LiftResult:
        """Lift N people seen by ``camera`` to metric 3D.

        Args:
            keypoints_px: (N, J, 2) raw (distorted) pixels in layout ``input_skeleton``.
            scores: (N, J) confidences; ``<= min_score`` = missing (those keypoints may be NaN).
            camera: the camera the keypoints were detected in.
            input_skeleton: layout name of the J joints (remapped by name to the trained layout).
            previous: (N, 17, 3) previous estimate of each track (meters, optical frame), NaN rows = no history.
            steps: unrolled descent steps (default ``num_steps``).
            hypotheses: K descents from perturbed starts (K > 1 returns all with their energies).
            temporal_weight: weight of the temporal energy when ``previous`` is given (default 1).
            return_trajectory: also return every iterate.
            previous_dt: seconds since ``previous`` (scalar or (N,)); default ``TemporalEnergy.DEFAULT_DT``.
                The temporal term fades with it, so a dropped frame or a slow camera weighs history less.
            height_prior: mean stature (m) of the people this camera sees (e.g. 1.2 for children); None keeps
                the checkpoint's prior. A single image cannot tell a tall person far away from a short one
                nearby, so this scales the skeletons and their distance together (the 2D fit is unchanged).
            keypoint_noise_px: std (pixels, scalar or (N,)) of the detector's 2D noise. The descent follows the 2D
                less where this noise is large next to the person's size in pixels (far people, noisy detectors);
                0 trusts the 2D fully whatever its size.
        Returns:
            ``LiftResult``.
        Raises:
            LiftError: NaN/inf, wrong shapes, joint count vs layout, unknown layout, bad steps/hypotheses/noise.
        """
        kp, sc, layout = self._check(keypoints_px, scores, input_skeleton)
        xy = camera.normalize(kp) if kp.shape[0] else kp  # (N, J, 2) undistorted normalized
        noise = self._noise(keypoint_noise_px, kp.shape[0], "keypoint_noise_px") / camera.mean_focal
        return self._lift_checked(xy, sc, layout, previous, steps, hypotheses, temporal_weight, return_trajectory,
                                  previous_dt, height_prior, noise)

    def lift_normalized(self, keypoints, scores, input_skeleton: str = "coco17", previous=None,
                        steps: int | None = None, temporal_weight: float | None = None, previous_dt=None,
                        height_prior: float | None = None, keypoint_noise=None) -> LiftResult:
        """Lift N people given in normalized, undistorted coordinates (K^-1 applied, distortion removed).

        The model is camera-agnostic in these coordinates, so people seen by different
        cameras lift in one batch (the multi-camera node). Arguments as ``lift``, except
        ``keypoint_noise``: the 2D noise std in normalized units (pixels / focal length; scalar or (N,));
        None trusts the 2D fully.
        """
        xy, sc, layout = self._check(keypoints, scores, input_skeleton)
        noise = None if keypoint_noise is None else self._noise(keypoint_noise, xy.shape[0], "keypoint_noise")
        return self._lift_checked(xy, sc, layout, previous, steps, 1, temporal_weight, False, previous_dt, height_prior,
                                  noise)

    def _lift_checked(self, xy, sc, layout, previous, steps, hypotheses, temporal_weight, return_trajectory,
                      previous_dt=None, height_prior=None, noise=None) -> LiftResult:
        steps = self._steps(steps)
        if not isinstance(hypotheses, (int, np.integer)) or hypotheses < 1:
            raise LiftError(f"hypotheses must be a positive int, got {hypotheses!r}")
        if xy.shape[0] == 0:
            return self._empty(steps, hypotheses, return_trajectory)
        xy, sc_t = self._tensors(xy, sc, layout)
        ratio = self._height_ratio(height_prior)
        if previous is not None and ratio != 1.0:
            previous = np.asarray(previous, dtype=np.float64) / ratio  # back to the model's own size prior
        noise_t = None if noise is None else torch.as_tensor(noise, dtype=torch.float32, device=self.device)
        with torch.inference_mode():
            result = self._lift(xy, sc_t, previous, steps, int(hypotheses), temporal_weight, return_trajectory,
                                previous_dt, noise_t)
        return result if ratio == 1.0 else result.scaled(ratio)

    def _tensors(self, xy: np.ndarray, sc: np.ndarray, layout: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Checked normalized keypoints and scores -> the model's input tensors (missing joints zeroed, remapped)."""
        t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32, device=self.device)  # noqa: E731
        return self._remap(t(np.where(sc[..., None] > self.config.min_score, xy, 0.0)), t(sc), layout)

    def initial_joints(self, keypoints, scores, input_skeleton: str = "coco17") -> np.ndarray:
        """The initial net's metric joints (N, 17, 3) of normalized keypoints, without the descent or its energy.

        The joints ``lift_normalized(..., steps=0)`` returns, at a fraction of its cost (multi-camera association
        needs only where each detection's pelvis is). Arguments as ``lift_normalized``.
        """
        xy, sc, layout = self._check(keypoints, scores, input_skeleton)
        if xy.shape[0] == 0:
            return np.zeros((0, len(self.skeleton), 3), np.float32)
        xy, sc_t = self._tensors(xy, sc, layout)
        with torch.inference_mode():
            can = self.model.canonical(xy, sc_t)
            pose0, size = self.model.initial(can, sc_t)
            return self.model.to_metric(pose0, can, size).cpu().numpy().astype(np.float32)

    def _lift(self, xy, sc, previous, steps, K, temporal_weight, return_trajectory, previous_dt=None,
              noise=None) -> LiftResult:
        return descend_hypotheses(self, xy, sc, previous, steps, K, temporal_weight, return_trajectory, previous_dt,
                                  noise)

    def _empty(self, steps: int, K: int, return_trajectory: bool) -> LiftResult:
        J = len(self.skeleton)
        return LiftResult(
            joints=np.zeros((0, J, 3), np.float32), skeleton=self.skeleton, energy=np.zeros(0, np.float32),
            trajectory=np.zeros((steps + 1, 0, J, 3), np.float32) if return_trajectory else None,
            hypotheses=np.zeros((0, K, J, 3), np.float32) if K > 1 else None,
            hypothesis_energy=np.zeros((0, K), np.float32) if K > 1 else None,
        )


def load_lifter(checkpoint: str | Path = "default", device: str = "auto") -> Lifter:
    """Load an IGE lifter checkpoint (``"default"`` = the one shipped in ``learned_energy_ros/models``).

    Raises:
        LiftError: missing file or a checkpoint that is not an IGE lifter.
    """
    path = default_checkpoint() if str(checkpoint) == "default" else Path(checkpoint)
    if not path.is_file():
        raise LiftError(f"lifter checkpoint not found: {path}")
    dev = resolve_device(device)
    ck = torch.load(path, map_location=dev, weights_only=True)
    if not isinstance(ck, dict) or "weights" not in ck or "model_args" not in ck:
        raise LiftError(f"{path} is not a learned_energy_ros IGE lifter checkpoint")
    model = build_model(ck["model_args"])
    model.load_state_dict(ck["weights"])
    metadata = dict(ck.get("metadata") or {})
    metadata.setdefault("method", (ck.get("config") or {}).get("method", "ige"))  # "ige" or "init-only"
    metadata.setdefault("stature", (ck.get("config") or {}).get("stature"))  # [mean, std] m, or None
    return Lifter(model, dev, metadata)
