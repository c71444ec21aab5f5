"""Public API: ``load_reconstructor(...).reconstruct(image, camera)`` -> occupancy in the camera frustum."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import torch

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.device import resolve_device
from learned_energy_ros.core.unrolled import MAX_STEPS
from learned_energy_ros.vox.canonical_image import resample_to_canonical
from learned_energy_ros.vox.checkpoint import load_model
from learned_energy_ros.vox.dataset import ViewConfig, depth_range
from learned_energy_ros.vox.frustum import FrustumGrid
from learned_energy_ros.vox.model import image_to_tensor

__all__ = ["ReconstructionError", "VoxelResult", "Reconstructor", "load_reconstructor", "DEFAULT_NEAR", "DEFAULT_FAR"]

log = logging.getLogger(__name__)

#: Default depth range: an object about 1 m away, under the training convention (30 deg view).
DEFAULT_NEAR, DEFAULT_FAR = depth_range(1.0, 30.0)


class ReconstructionError(ValueError):
    """Raised for unusable reconstruction inputs (image type/shape, ROI, depth range)."""


@dataclass
class VoxelResult:
    """Occupancy probabilities in a frustum grid.

    Attributes:
        occupancy: (R, R, R) float32 probabilities indexed [i, j, k] = column bin, row bin, depth bin.
        grid: the frustum grid (canonical pinhole camera of the ROI, ``near``, ``far``).
        image: (S, S, 3) uint8 canonical image the model saw.
        steps: descent steps used.
    """

    occupancy: np.ndarray
    grid: FrustumGrid
    image: np.ndarray
    steps: int

    def occupied(self, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
        """Return (centres (P, 3) metres in the optical frame, probabilities (P,)) of cells above ``threshold``."""
        ijk = np.argwhere(self.occupancy > threshold)  # (P, 3)
        return self.grid.index_to_points(ijk).astype(np.float32), self.occupancy[tuple(ijk.T)]

    def points(self, threshold: float = 0.5) -> np.ndarray:
        """Return occupied voxel centres (P, 3) in metres, optical frame."""
        return self.occupied(threshold)[0]


def check_image(image) -> np.ndarray:
    """Validate an RGB image: (H, W, 3) uint8 with H, W > 0."""
    if not isinstance(image, np.ndarray):
        raise ReconstructionError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ReconstructionError(f"image must be uint8 RGB, got dtype {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ReconstructionError(f"image must be (H, W, 3) RGB, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ReconstructionError(f"image is empty: shape {image.shape}")
    return image


class Reconstructor:
    """Single-view voxel reconstruction with a trained IGE (or baseline) model.

    Args:
        model: an ``IGEVoxelModel`` or ``BaselineVoxelModel`` in eval mode.
        view: the view config it was trained with (canonical input size, field of view).
        device: torch device.
        near, far: default metric depth range of the frustum grid (metres).
    """

    def __init__(self, model: torch.nn.Module, view: ViewConfig, device: torch.device,
                 near: float = DEFAULT_NEAR, far: float = DEFAULT_FAR):
        self.model, self.view, self.device = model, view, device
        self.near, self.far = near, far

    @property
    def resolution(self) -> int:
        return self.model.cfg.resolution

    def reconstruct(self, image: np.ndarray, camera: Camera, roi=None, near: float | None = None,
                    far: float | None = None, steps: int | None = None) -> VoxelResult:
        """Reconstruct the object in view.

        Args:
            image: (H, W, 3) uint8 RGB raw image of ``camera`` (any distortion model).
            camera: its calibration; the image is undistorted and resampled to the canonical input.
            roi: optional (x, y, w, h) in raw pixels framing the object; default the whole image.
            near, far: metric depth range of the grid; default the reconstructor's.
            steps: descent steps (IGE); default the trained number.

        Returns:
            ``VoxelResult`` with (R, R, R) probabilities in the ROI's frustum grid.

        Raises:
            ReconstructionError: for bad images, image/camera size mismatch, ROI or depth range.
        """
        return self.reconstruct_many(image, camera, [(roi, near, far)], steps)[0]

    def reconstruct_many(self, image: np.ndarray, camera: Camera, views, steps: int | None = None) -> list[VoxelResult]:
        """Reconstruct several objects of one image in one model call (a batch of canonical views).

        Args:
            image: (H, W, 3) uint8 RGB raw image of ``camera``.
            camera: its calibration.
            views: ``[(roi, near, far), ...]``, one per object; ``roi`` (x, y, w, h) raw pixels or None
                (the whole image), ``near``/``far`` metres or None (the reconstructor's).
            steps: descent steps (IGE); default the trained number.

        Returns:
            One ``VoxelResult`` per view, in order (empty for no views).

        Raises:
            ReconstructionError: for bad images, image/camera size mismatch, any bad ROI or depth range.
        """
        check_image(image)
        if image.shape[:2] != (camera.height, camera.width):
            raise ReconstructionError(f"image is {image.shape[1]}x{image.shape[0]} but the camera is "
                                      f"{camera.width}x{camera.height}")
        if steps is not None and not (isinstance(steps, (int, np.integer)) and 0 <= steps <= MAX_STEPS):
            raise ReconstructionError(f"steps must be an int in [0, {MAX_STEPS}], got {steps!r}")
        canons, grids = [], []
        for roi, near, far in views:
            near = self.near if near is None else float(near)
            far = self.far if far is None else float(far)
            if not (math.isfinite(near) and math.isfinite(far) and 0 < near < far):
                raise ReconstructionError(f"need 0 < near < far, got near={near}, far={far}")
            try:
                canon, cam = resample_to_canonical(image, camera, self.view.image_size, roi)
            except ValueError as err:
                raise ReconstructionError(str(err)) from None
            canons.append(canon)
            grids.append(FrustumGrid(cam, self.resolution, near, far, self.view.depth_bins))
        if not canons:
            return []
        with torch.no_grad():
            its = self.model(image_to_tensor(np.stack(canons)).to(self.device), steps=steps)
        occ = torch.sigmoid(its[-1]).float().cpu().numpy()  # (B, R, R, R)
        return [VoxelResult(o.astype(np.float32), g, c, len(its) - 1) for o, g, c in zip(occ, grids, canons)]


def load_reconstructor(checkpoint: str = "default", device: str = "auto", near: float = DEFAULT_NEAR,
                       far: float = DEFAULT_FAR) -> Reconstructor:
    """Load a voxel checkpoint (``default`` = the shipped IGE 32^3 model) as a ``Reconstructor``.

    Args:
        checkpoint: ``default``, ``ige``, ``baseline`` or a path to a ``.pt``.
        device: ``auto`` (cuda if available), ``cpu`` or ``cuda``.
        near, far: default depth range (metres).
    """
    dev = resolve_device(device)
    model, view, _ = load_model(checkpoint, dev)
    return Reconstructor(model, view, dev, near, far)
