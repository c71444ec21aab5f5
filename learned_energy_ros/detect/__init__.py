"""ROS-free 2D keypoint detection: person proposals, per-person landmarks, stable ids.

``KeypointDetector(backend).detect(rgb)`` -> ``Detections`` in the ``mediapipe33``
layout. The MediaPipe backend is the optional ``[detector]`` extra; everything
else here needs only numpy and OpenCV.
"""
from learned_energy_ros.detect.detector import DetectorConfig, DetectorError, Detections, KeypointDetector
from learned_energy_ros.detect.tracking import BoxTracker

__all__ = ["DetectorConfig", "DetectorError", "Detections", "KeypointDetector", "BoxTracker"]
