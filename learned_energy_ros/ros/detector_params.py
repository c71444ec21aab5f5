"""Parameters of the keypoint_detector node: one table, read by the node, the YAML and the tests.

Every entry is ``name: (default, description, applies)``; ``applies`` is ``frame``
(next frame), ``sync`` (synchronizer, next message) or ``configure`` (only while
unconfigured; refused otherwise).
"""
from __future__ import annotations

from learned_energy_ros.ros.voxel_params import VOXEL_PARAMETERS

#: Entries every image + camera_info lifecycle node shares, word for word, with voxel_reconstructor.
_SHARED = ("device_fallback", "sync_slop", "sync_queue", "max_pending", "max_stamp_future", "max_stamp_age",
           "sensor_qos", "image_qos", "qos_depth", "diagnostics_period", "warn_period", "use_message_filters",
           "autostart")

DETECTOR_PARAMETERS: dict[str, tuple[object, str, str]] = {
    "backend": ("mediapipe", "2D landmark model: mediapipe (BlazePose full, 33 landmarks = the mediapipe33 layout; models ship inside the wheel of the [detector] extra, nothing is downloaded).", "configure"),
    "device": ("auto", "Compute device: auto or cpu. The MediaPipe Python wheel runs on the CPU only; cuda falls back to cpu per device_fallback.", "configure"),
    "max_persons": (4, "People reported per image at most (each costs one more model call).", "frame"),
    "min_detection_score": (0.5, "Threshold of BlazePose's person detector.", "configure"),
    "min_visibility": (0.3, "Landmarks at or below this visibility are omitted from the keypoint cloud (missing).", "frame"),
    "min_visible_joints": (8, "Detections with fewer visible landmarks are dropped as false positives.", "frame"),
    "tiles": (1, "Also search tiles x tiles overlapping crops (1: whole image only). 3 finds people about 1/8 of the image height, at about 10x the cost.", "frame"),
    "track_iou": (0.3, "Minimum box overlap with a person's box in a recent frame to keep its id.", "frame"),
    "publish_overlay": (True, "Publish ~/overlay: the image with the detected 2D skeletons and their ids.", "frame"),
    **{name: VOXEL_PARAMETERS[name] for name in _SHARED},
}

#: Parameters that map onto ``DetectorConfig`` fields of the same name.
CONFIG_KEYS = ("max_persons", "min_visibility", "min_visible_joints", "tiles", "track_iou")
BACKENDS = ("mediapipe",)


def detector_config(values: dict):
    """Build a ``DetectorConfig`` from parameter values (raises ValueError when inconsistent)."""
    from learned_energy_ros.detect.detector import DetectorConfig

    if values.get("backend", "mediapipe") not in BACKENDS:
        raise ValueError(f"unknown backend {values['backend']!r}; choose one of {', '.join(BACKENDS)}")
    return DetectorConfig(**{k: type(getattr(DetectorConfig, k))(values[k]) for k in CONFIG_KEYS if k in values})
