"""Several people per image from a single-person landmark model: tiles, masking, de-duplication, ids.

The backend (``MediaPipePose`` or any callable with the same contract) finds at
most one person per call. Person boxes come first: each tile of the image is
searched repeatedly, and every person found is greyed out before the next
search, until nobody new is found or ``max_persons`` is reached. Boxes are the
visible landmarks' extent; ``BoxTracker`` turns them into ids that stay stable
across frames.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

__all__ = ["DetectorError", "DetectorConfig", "Detections", "KeypointDetector", "tile_boxes"]

log = logging.getLogger(__name__)

_MASK_GREY = 127  # fill of found people: mid grey gives the person detector nothing to fire on


class DetectorError(ValueError):
    """Raised for an unusable image (empty, wrong dtype or shape) or an unavailable backend."""


@dataclass
class DetectorConfig:
    """Settings of ``KeypointDetector`` (every field mirrors a node parameter)."""

    max_persons: int = 4  # people reported per image at most (each costs one more model call)
    min_visibility: float = 0.3  # landmarks at or below this visibility are reported as missing (score 0)
    min_visible_joints: int = 8  # fewer visible landmarks = a false detection, dropped
    tiles: int = 1  # search tiles x tiles overlapping crops too (people smaller than ~1/4 of the image)
    tile_overlap: float = 0.3  # overlap of neighbouring tiles, as a fraction of the tile size
    mask_margin: float = 0.15  # found people are greyed out in their box grown by this fraction
    duplicate_iou: float = 0.5  # a box overlapping an earlier one this much is the same person again
    track_iou: float = 0.3  # min IoU with a track's last box to keep its id
    track_max_missed: int = 5  # frames an id survives unseen

    def __post_init__(self):
        if self.max_persons < 1 or self.tiles < 1 or self.min_visible_joints < 1:
            raise ValueError("max_persons, tiles and min_visible_joints must be >= 1")
        if not 0 <= self.min_visibility < 1 or not 0 <= self.tile_overlap < 1:
            raise ValueError("min_visibility and tile_overlap must be in [0, 1)")


@dataclass
class Detections:
    """People found in one image.

    Attributes:
        keypoints: (N, J, 2) raw pixels of the image, layout ``layout``.
        scores: (N, J) visibility in [0, 1]; 0 = missing.
        ids: (N,) detector-side person ids, stable across frames where tracking holds.
        boxes: (N, 4) ``x0, y0, x1, y1`` pixels of the visible landmarks.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    ids: np.ndarray
    boxes: np.ndarray
    layout: str = "mediapipe33"
    calls: int = field(default=0)  # backend calls spent on this image

    def __len__(self) -> int:
        return len(self.ids)


def tile_boxes(width: int, height: int, tiles: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """The whole image first, then ``tiles`` x ``tiles`` overlapping crops ``(x0, y0, x1, y1)`` when tiles > 1."""
    boxes = [(0, 0, width, height)]
    if tiles > 1:
        tw, th = width / (tiles - (tiles - 1) * overlap), height / (tiles - (tiles - 1) * overlap)
        for j in range(tiles):
            for i in range(tiles):
                x0, y0 = round(i * tw * (1 - overlap)), round(j * th * (1 - overlap))
                boxes.append((x0, y0, min(width, round(x0 + tw)), min(height, round(y0 + th))))
    return boxes


def check_image(rgb) -> np.ndarray:
    """Return ``rgb`` as a C-contiguous (H, W, 3) uint8 array or raise ``DetectorError``."""
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise DetectorError(f"expected an (H, W, 3) uint8 RGB image, got {getattr(rgb, 'shape', type(rgb))} "
                            f"{getattr(rgb, 'dtype', '')}")
    if rgb.shape[0] < 8 or rgb.shape[1] < 8:
        raise DetectorError(f"image of {rgb.shape[1]}x{rgb.shape[0]} pixels is too small to detect people in")
    return np.ascontiguousarray(rgb)


class KeypointDetector:
    """Detect several people per image with a single-person landmark ``backend``.

    Args:
        backend: callable ``rgb -> (points (J, 2) px, visibility (J,))`` or None; has ``layout``.
        config: ``DetectorConfig``.
    """

    def __init__(self, backend, config: DetectorConfig | None = None):
        from learned_energy_ros.detect.tracking import BoxTracker

        self.backend, self.config = backend, config or DetectorConfig()
        self.layout = getattr(backend, "layout", "mediapipe33")
        self.tracker = BoxTracker(self.config.track_iou, self.config.track_max_missed)

    def detect(self, rgb) -> Detections:
        """Find up to ``max_persons`` people in an (H, W, 3) uint8 RGB image.

        Raises:
            DetectorError: the image is unusable.
        """
        rgb = check_image(rgb)
        cfg = self.config
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (points, scores, box)
        calls = 0
        for x0, y0, x1, y1 in tile_boxes(rgb.shape[1], rgb.shape[0], cfg.tiles, cfg.tile_overlap):
            crop = rgb[y0:y1, x0:x1].copy()
            for _ in range(cfg.max_persons + 1):  # one more: a duplicate may use a pass
                if len(found) >= cfg.max_persons:
                    break
                out, calls = self.backend(crop), calls + 1
                if out is None:
                    break
                points, scores = out[0] + (x0, y0), np.where(out[1] > cfg.min_visibility, out[1], 0.0)
                visible = scores > 0
                if visible.sum() < cfg.min_visible_joints:
                    break
                box = _extent(points[visible])
                if not self._is_duplicate(box, found):
                    found.append((points, scores, box))
                _grey_out(crop, _grow(box, cfg.mask_margin) - (x0, y0, x0, y0))
        return self._package(found, calls)

    def _is_duplicate(self, box: np.ndarray, found) -> bool:
        from learned_energy_ros.detect.tracking import box_iou

        if not found:
            return False
        overlap = box_iou(box[None], np.stack([f[2] for f in found]))[0]
        return bool(overlap.max() >= self.config.duplicate_iou)

    def _package(self, found, calls: int) -> Detections:
        J = len(found[0][0]) if found else 33
        keypoints = np.stack([f[0] for f in found]) if found else np.zeros((0, J, 2))
        scores = np.stack([f[1] for f in found]) if found else np.zeros((0, J))
        boxes = np.stack([f[2] for f in found]) if found else np.zeros((0, 4))
        ids = self.tracker.update(boxes)
        order = np.argsort(ids, kind="stable")
        return Detections(keypoints[order], scores[order], ids[order], boxes[order], self.layout, calls)

    def close(self) -> None:
        """Free the backend's resources."""
        close = getattr(self.backend, "close", None)
        if close is not None:
            close()


def _extent(points: np.ndarray) -> np.ndarray:
    return np.concatenate([points.min(axis=0), points.max(axis=0)])


def _grow(box: np.ndarray, margin: float) -> np.ndarray:
    size = box[2:] - box[:2]
    return np.concatenate([box[:2] - margin * size, box[2:] + margin * size])


def _grey_out(image: np.ndarray, box: np.ndarray) -> None:
    h, w = image.shape[:2]
    x0, y0 = int(np.clip(np.floor(box[0]), 0, w)), int(np.clip(np.floor(box[1]), 0, h))
    x1, y1 = int(np.clip(np.ceil(box[2]), 0, w)), int(np.clip(np.ceil(box[3]), 0, h))
    image[y0:y1, x0:x1] = _MASK_GREY
