"""The batch every pose-lifting method consumes: 2D observations + camera + (optional) truth."""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch


@dataclass
class PoseBatch:
    """A batch of single-person 2D observations, each seen by its own camera.

    Every lifting method (IGE, Martinez, reprojection-only, GAN prior) maps a
    ``PoseBatch`` to 3D joints ``(B, 17, 3)`` in meters in each sample's camera
    optical frame, so they are trained and evaluated on identical inputs.

    Attributes:
        keypoints_px: (B, J, 2) raw (distorted) pixel coordinates.
        normalized: (B, J, 2) undistorted normalized coordinates of the same keypoints.
        scores: (B, J) detector confidences; ``<= min_score`` means missing.
        K: (B, 3, 3) intrinsics (pixel-input baselines need them to be camera-aware).
        image_size: (B, 2) width, height in pixels.
        input_skeleton: layout name of the J observed joints.
        joints_cam: (B, 17, 3) ground-truth 3D joints (meters, optical frame) or None.
    """

    keypoints_px: torch.Tensor
    normalized: torch.Tensor
    scores: torch.Tensor
    K: torch.Tensor
    image_size: torch.Tensor
    input_skeleton: str = "coco17"
    joints_cam: torch.Tensor | None = None

    def __post_init__(self) -> None:
        B, J, _ = self.keypoints_px.shape
        assert self.normalized.shape == (B, J, 2), self.normalized.shape
        assert self.scores.shape == (B, J), self.scores.shape
        assert self.K.shape == (B, 3, 3), self.K.shape
        assert self.image_size.shape == (B, 2), self.image_size.shape
        if self.joints_cam is not None:
            assert self.joints_cam.shape[0] == B and self.joints_cam.shape[-1] == 3, self.joints_cam.shape

    def __len__(self) -> int:
        return self.keypoints_px.shape[0]

    def to(self, device) -> "PoseBatch":
        """Return a copy with every tensor on ``device``."""
        moved = {
            name: getattr(self, name).to(device)
            for name in ("keypoints_px", "normalized", "scores", "K", "image_size")
        }
        if self.joints_cam is not None:
            moved["joints_cam"] = self.joints_cam.to(device)
        return replace(self, **moved)

    def remap(self, layout: str) -> "PoseBatch":
        """Return the batch re-indexed to 2D ``layout`` by joint name (joints it lacks get score 0)."""
        from learned_energy_ros.core.skeleton import get_skeleton, joint_mapping

        layout = get_skeleton(layout).name
        if layout == self.input_skeleton:
            return self
        if self.keypoints_px.shape[1] != len(get_skeleton(self.input_skeleton)):
            raise ValueError(f"batch says {self.input_skeleton} but holds {self.keypoints_px.shape[1]} joints")
        m = torch.as_tensor(joint_mapping(self.input_skeleton, layout), device=self.scores.device)
        ok = (m >= 0).to(self.scores.dtype)
        take = m.clamp_min(0)
        return replace(self, keypoints_px=self.keypoints_px[:, take] * ok[:, None], normalized=self.normalized[:, take] * ok[:, None],
                       scores=self.scores[:, take] * ok, input_skeleton=layout)

    def index(self, idx) -> "PoseBatch":
        """Return the sub-batch selected by ``idx`` (slice, mask or index tensor)."""
        parts = {name: getattr(self, name)[idx] for name in ("keypoints_px", "normalized", "scores", "K", "image_size")}
        if self.joints_cam is not None:
            parts["joints_cam"] = self.joints_cam[idx]
        return replace(self, **parts)
