"""Parameters of the keypoint_detector node: one table, read by the node, the YAML and the tests.

Every entry is ``name: (default, description, applies)``; ``applies`` is ``frame``
(next frame), ``sync`` (synchronizer, next message) or ``configure`` (only while
unconfigured; refused otherwise).
"""
from __future__ import annotations

DETECTOR_PARAMETERS: dict[str, tuple[object, str, str]] = {
    "backend": ("mediapipe", "2D landmark model: mediapipe (BlazePose full, 33 landmarks = the mediapipe33 layout; models ship inside the wheel of the [detector] extra, nothing is downloaded).", "configure"),
    "device": ("auto", "Compute device: auto or cpu. The MediaPipe Python wheel runs on the CPU only; cuda falls back to cpu per device_fallback.", "configure"),
    "device_fallback": (True, "When device asks for CUDA: run on the CPU with a warning (true) or fail to configure (false).", "configure"),
    "max_persons": (4, "People reported per image at most (each costs one more model call).", "frame"),
    "min_detection_score": (0.5, "Threshold of BlazePose's person detector.", "configure"),
    "min_visibility": (0.3, "Landmarks at or below this visibility are omitted from the keypoint cloud (missing).", "frame"),
    "min_visible_joints": (8, "Detections with fewer visible landmarks are dropped as false positives.", "frame"),
    "tiles": (1, "Also search tiles x tiles overlapping crops (1: whole image only). 3 finds people about 1/8 of the image height, at about 10x the cost.", "frame"),
    "track_iou": (0.3, "Minimum box overlap with a person's box in a recent frame to keep its id.", "frame"),
    "publish_overlay": (True, "Publish ~/overlay: the image with the detected 2D skeletons and their ids.", "frame"),
    "sync_slop": (0.02, "Approximate-time synchronization slop between image and camera_info (s).", "sync"),
    "sync_queue": (10, "Approximate-time synchronizer queue size per input.", "sync"),
    "max_pending": (1, "Synchronized frames waiting for the model; when full the OLDEST is dropped (counted as skipped_overload), bounding latency.", "frame"),
    "max_stamp_future": (5.0, "Frames stamped more than this many seconds ahead of the node clock are skipped (0: no check).", "frame"),
    "max_stamp_age": (0.0, "Frames stamped more than this many seconds behind the node clock are skipped (0: no check).", "frame"),
    "sensor_qos": ("sensor_data", "QoS of camera_info: sensor_data, reliable or best_effort.", "configure"),
    "image_qos": ("reliable", "QoS of image and ~/overlay (reliable: best-effort large images are lost across processes with FastDDS).", "configure"),
    "qos_depth": (5, "History depth of the subscriptions and publishers.", "configure"),
    "diagnostics_period": (1.0, "Seconds between /diagnostics messages.", "configure"),
    "warn_period": (5.0, "Minimum seconds between two warnings with the same reason.", "frame"),
    "use_message_filters": (True, "Use message_filters for synchronization when importable (else the internal synchronizer).", "configure"),
    "autostart": (True, "When started by its own executable, configure and activate at once.", "configure"),
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
