"""Several objects per image: boxes -> placed frustums -> one batched reconstruction.

``reconstruct_objects`` is the one core call of the voxel node per frame: it
keeps the ``max_objects`` best boxes, places each on the support plane when
there is one (``placement.place_box``), falls back to the given near/far
otherwise, and reconstructs all of them in one model call.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from learned_energy_ros.vox.placement import BoxPlacement, PlacementError, SupportPlane, pad_box, place_box

__all__ = ["ObjectBox", "PlacementConfig", "SceneObject", "reconstruct_objects"]


@dataclass(frozen=True)
class ObjectBox:
    """One object to reconstruct.

    Attributes:
        roi: (x, y, w, h) raw pixels (the ``roi`` convention), or None for the whole image.
        class_id: the detector's class (``""``: none).
        score: the detector's confidence (orders boxes when there are too many).
        index: position in the input (the detection's index in its Detection2DArray).
    """

    roi: tuple[float, float, float, float] | None
    class_id: str = ""
    score: float = 1.0
    index: int = 0


@dataclass(frozen=True)
class PlacementConfig:
    """How boxes become frustums (see ``placement.place_box``)."""

    padding: float = 1.0  # the reconstruction's ROI is the box scaled by this (detector boxes are tight)
    depth_ratio: float = 1.0  # object depth / width behind the bottom-edge contact
    max_distance: float = math.inf  # contacts farther than this (m) are refused
    max_objects: int = 8  # boxes beyond this (lowest scores) are left out, bounding the batch


@dataclass
class SceneObject:
    """One reconstructed object: its box, the ``VoxelResult`` and its placement (None: fixed near/far)."""

    box: ObjectBox
    result: object
    placement: BoxPlacement | None = None


@dataclass
class SceneResult:
    """All objects of a frame, and the boxes left out with the reason."""

    objects: list[SceneObject] = field(default_factory=list)
    skipped: list[tuple[ObjectBox, str]] = field(default_factory=list)


def reconstruct_objects(reconstructor, image, camera, boxes, plane: SupportPlane | None = None,
                        config: PlacementConfig = PlacementConfig(), near: float | None = None,
                        far: float | None = None, steps: int | None = None) -> SceneResult:
    """Place and reconstruct the objects of ``boxes`` in one batched model call.

    Args:
        reconstructor: a ``Reconstructor``.
        image, camera: the raw image and its calibration.
        boxes: ``ObjectBox`` es.
        plane: the support plane, or None (every box gets ``near``/``far``).
        config: placement settings.
        near, far: depth range without a plane, or for a whole-image box (None: the reconstructor's).
        steps: descent steps.

    Returns:
        ``SceneResult``: objects in input order; boxes over ``max_objects`` or that cannot be placed
        (bottom edge above the horizon, too far, bad box) in ``skipped``.

    Raises:
        ReconstructionError: for a bad image, camera or depth range (the whole frame is unusable).
    """
    ranked = sorted(boxes, key=lambda b: -b.score)
    result = SceneResult(skipped=[(b, f"more than max_objects={config.max_objects} boxes")
                                  for b in ranked[config.max_objects:]])
    chosen, views = [], []
    for box in sorted(ranked[:config.max_objects], key=lambda b: b.index):
        placement = None
        if plane is not None and box.roi is not None:
            try:
                placement = place_box(camera, box.roi, plane, reconstructor.view.image_size,
                                      reconstructor.view.hfov_deg, config.depth_ratio, config.padding,
                                      config.max_distance)
            except PlacementError as err:
                result.skipped.append((box, str(err)))
                continue
            views.append((placement.roi, placement.near, placement.far))
        else:
            views.append((None if box.roi is None else pad_box(box.roi, config.padding), near, far))
        chosen.append((box, placement))
    results = reconstructor.reconstruct_many(image, camera, views, steps)
    result.objects = [SceneObject(box, res, placement) for (box, placement), res in zip(chosen, results)]
    return result
