"""Result and error types of ``Lifter.lift``, shared by the lifter and its inference body (``lifter_ops``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learned_energy_ros.core.skeleton import Skeleton

__all__ = ["DEFAULT_KEYPOINT_NOISE_PX", "LiftError", "LiftResult"]

#: Std (pixels) of the 2D keypoint noise assumed when a caller gives none: the noise the shipped lifter was trained
#: with. It sets how far the descent follows the 2D of a person of a given size in pixels (``IGEPoseModel.trust``).
DEFAULT_KEYPOINT_NOISE_PX = 2.0


class LiftError(ValueError):
    """Raised for unusable lifting inputs (NaN/inf, wrong shapes, unknown layout) or checkpoints."""


@dataclass
class LiftResult:
    """Result of ``Lifter.lift`` for N people.

    Attributes:
        joints: (N, 17, 3) float32 meters in the camera optical frame (lowest-energy hypothesis).
        skeleton: the output layout (``h36m17``).
        energy: (N,) final energy of each returned pose (lower = more plausible).
        trajectory: (S + 1, N, 17, 3) every iterate in meters, when requested.
        hypotheses: (N, K, 17, 3) all hypotheses when K > 1.
        hypothesis_energy: (N, K) their final energies when K > 1.
    """

    joints: np.ndarray
    skeleton: Skeleton
    energy: np.ndarray
    trajectory: np.ndarray | None = None
    hypotheses: np.ndarray | None = None
    hypothesis_energy: np.ndarray | None = None

    def scaled(self, factor: float) -> "LiftResult":
        """The same skeletons ``factor`` times larger and farther (about the camera centre: the 2D is unchanged)."""
        grow = lambda a: None if a is None else (a * np.float32(factor)).astype(np.float32)  # noqa: E731
        return LiftResult(grow(self.joints), self.skeleton, self.energy, grow(self.trajectory), grow(self.hypotheses),
                          self.hypothesis_energy)
