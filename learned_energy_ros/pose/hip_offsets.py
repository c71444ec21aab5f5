"""Detector hips are not motion-capture hip-joint centres: move them the way a 2D detector places them.

BlazePose (and COCO-style annotation) marks the hips on the body outline, outward
and above the femoral heads the mocap skeleton uses. ``shift_hips`` moves both hips
of mocap frames in each person's pelvis frame, so 2D inputs can be synthesised (for
evaluation, or as a training augmentation) while the 3D truth keeps the joint centres.
Measured effect on the shipped lifter: ``docs/benchmarks/real.md``.
"""
from __future__ import annotations

import numpy as np

from learned_energy_ros.core.skeleton import MOCAP_SKELETON, get_skeleton

__all__ = ["shift_hips", "BLAZEPOSE_HIP_OFFSET"]

#: (outward m, up m) used as the realistic BlazePose model in docs/benchmarks/real.md, with the
#: per-person scatter (m). Outward is weakly supported by real detections (about 1 cm); up is assumed.
BLAZEPOSE_HIP_OFFSET = (0.05, 0.04, 0.015)


def shift_hips(frames: np.ndarray, outward: float, up: float, scatter: float = 0.0, rng=None,
               layout: str = MOCAP_SKELETON) -> np.ndarray:
    """Return a copy of world-frame joints (F, J, 3) with both hips moved in each pelvis frame.

    Args:
        frames: (F, J, 3) joints in ``layout`` (needs left/right hip, pelvis, thorax).
        outward: metres each hip moves away from the other (along right hip -> left hip).
        up: metres both hips move along pelvis -> thorax (made orthogonal to the hip axis).
        scatter: per-frame standard deviation (m) added to both offsets.
        rng: numpy Generator for the scatter.
    """
    sk = get_skeleton(layout)
    li, ri, pe, th = (sk.index(n) for n in ("left_hip", "right_hip", "pelvis", "thorax"))
    frames = np.asarray(frames, dtype=np.float64)
    assert frames.ndim == 3 and frames.shape[1:] == (len(sk), 3), frames.shape
    side = frames[:, li] - frames[:, ri]  # (F, 3)
    side /= np.maximum(np.linalg.norm(side, axis=-1, keepdims=True), 1e-9)
    vertical = frames[:, th] - frames[:, pe]
    vertical -= np.sum(vertical * side, axis=-1, keepdims=True) * side
    vertical /= np.maximum(np.linalg.norm(vertical, axis=-1, keepdims=True), 1e-9)
    F = len(frames)
    rng = rng if rng is not None else np.random.default_rng(0)
    out_m = outward + (scatter * rng.standard_normal((F, 1)) if scatter else 0.0)
    up_m = up + (scatter * rng.standard_normal((F, 1)) if scatter else 0.0)
    out = frames.copy()
    out[:, li] += out_m * side + up_m * vertical
    out[:, ri] += -out_m * side + up_m * vertical
    return out
