"""Frames from a video file or a webcam with their capture times (OpenCV, no ROS)."""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

__all__ = ["VideoError", "VideoSource"]

log = logging.getLogger(__name__)

_FALLBACK_FPS = 30.0  # webcams and some containers report no frame rate


class VideoError(RuntimeError):
    """Raised when a video file or webcam cannot be opened."""


class VideoSource:
    """Open a video file (path) or webcam (int index) and read RGB frames.

    Args:
        source: path of a video file, or a webcam index.
        fps: playback rate override (default: the file's rate, else 30).
    Raises:
        VideoError: the source cannot be opened or yields no frame.
    """

    def __init__(self, source: str | int | Path, fps: float | None = None):
        import cv2

        self.is_webcam = isinstance(source, int)
        if not self.is_webcam and not Path(source).is_file():
            raise VideoError(f"video file {source} does not exist")
        self.name = f"webcam {source}" if self.is_webcam else str(source)
        self._cap = cv2.VideoCapture(int(source) if self.is_webcam else str(source))
        if not self._cap.isOpened():
            raise VideoError(f"OpenCV cannot open {self.name}")
        reported = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = float(fps) if fps else (reported if math.isfinite(reported) and reported > 0 else _FALLBACK_FPS)
        if not fps and not (math.isfinite(reported) and reported > 0):
            log.warning("%s reports no frame rate; playing at %.0f fps", self.name, self.fps)
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count = count if count > 0 and not self.is_webcam else None
        self.width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.index = 0

    def read(self) -> np.ndarray | None:
        """Return the next frame as (H, W, 3) uint8 RGB, or None at the end of the file."""
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            return None
        self.index += 1
        if bgr.ndim == 2:
            bgr = np.repeat(bgr[..., None], 3, axis=2)
        return np.ascontiguousarray(bgr[..., 2::-1])

    def frames(self, limit: int | None = None, stride: int = 1):
        """Yield ``(index, time_s, rgb)`` for every ``stride``-th frame (time = index / fps), at most ``limit``."""
        given = 0
        while limit is None or given < limit:
            index = self.index
            rgb = self.read()
            if rgb is None:
                return
            if index % max(1, stride) == 0:
                given += 1
                yield index, index / self.fps, rgb

    def close(self) -> None:
        """Release the file or device."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> "VideoSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
