"""Result and error types of ``Lifter.lift``, shared by the lifter and its inference body (``lifter_ops``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learned_energy_ros.core.skeleton import Skeleton

__all__ = ["LiftError", "LiftResult"]


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
