"""Parameters of the voxel_reconstructor node: one table, read by the node, the YAML and the tests.

Every entry is ``name: (default, description, applies)``; ``applies`` is ``frame``
(next frame), ``sync`` (synchronizer, next message) or ``configure`` (only while
unconfigured; refused otherwise).
"""
from __future__ import annotations

from learned_energy_ros.core.unrolled import MAX_STEPS

VOXEL_PARAMETERS: dict[str, tuple[object, str, str]] = {
    "device": ("auto", "Torch device: auto (CUDA when available, else CPU), cpu, cuda or cuda:N.", "configure"),
    "device_fallback": (True, "When device asks for CUDA and none is available: fall back to the CPU with a warning (true) or fail to configure (false).", "configure"),
    "checkpoint": ("default", "Voxel checkpoint: 'default' (the shipped IGE model), 'baseline' or a path to a .pt file.", "configure"),
    "resolution": (0, "Grid resolution R (R^3 voxels); selects the shipped voxel_ige_<R>.pt for 'default' (0: the checkpoint's).", "configure"),
    "near": (0.741, "Near end of the frustum depth range (m, optical z). With far: where the object is; fixes metric scale.", "frame"),
    "far": (1.259, "Far end of the frustum depth range (m). Training convention: near/far = d (1 -/+ sin(fov/2)) for an object at d.", "frame"),
    "roi": ([0, 0, 0, 0], "Region of interest [x, y, width, height] in raw pixels framing the object (all zero: the whole image).", "frame"),
    "num_steps": (0, "Unrolled descent steps per frame, 0 to 64 (0: the checkpoint's default; above 64 is refused).", "frame"),
    "occupancy_threshold": (0.5, "Voxels with probability above this are published.", "frame"),
    "sync_slop": (0.02, "Approximate-time synchronization slop between image and camera_info (s).", "sync"),
    "sync_queue": (10, "Approximate-time synchronizer queue size per input.", "sync"),
    "max_pending": (1, "Synchronized frames waiting for the model; when full the OLDEST is dropped (counted as skipped_overload), bounding latency.", "frame"),
    "max_stamp_future": (5.0, "Frames stamped more than this many seconds ahead of the node clock are skipped (0: no check).", "frame"),
    "max_stamp_age": (0.0, "Frames stamped more than this many seconds behind the node clock are skipped (0: no check; bags replayed without sim time are old).", "frame"),
    "marker_lifetime": (1.0, "Lifetime of the occupancy markers (s), so they vanish if the node stops.", "frame"),
    "sensor_qos": ("sensor_data", "QoS of camera_info: sensor_data, reliable or best_effort.", "configure"),
    "image_qos": ("reliable", "QoS of image (reliable: best-effort large images are lost across processes with FastDDS).", "configure"),
    "qos_depth": (5, "History depth of the subscriptions and publishers.", "configure"),
    "diagnostics_period": (1.0, "Seconds between /diagnostics messages.", "configure"),
    "warn_period": (5.0, "Minimum seconds between two warnings with the same reason.", "frame"),
    "use_message_filters": (True, "Use message_filters for synchronization when importable (else the internal synchronizer).", "configure"),
    "autostart": (True, "When started by its own executable, configure and activate at once.", "configure"),
}


def check_values(values: dict) -> None:
    """Raise ValueError for inconsistent frame-level settings (near/far, threshold, roi, steps)."""
    near, far = float(values["near"]), float(values["far"])
    if not 0 < near < far:
        raise ValueError(f"need 0 < near < far, got near={near}, far={far}")
    if not 0 <= float(values["occupancy_threshold"]) < 1:
        raise ValueError(f"occupancy_threshold={values['occupancy_threshold']} must be in [0, 1)")
    roi = list(values["roi"])
    if len(roi) not in (0, 4) or (len(roi) == 4 and any(v < 0 for v in roi)):
        raise ValueError(f"roi must be [] or [x, y, width, height] >= 0, got {roi}")
    if not 0 <= int(values["num_steps"]) <= MAX_STEPS:
        raise ValueError(f"num_steps={values['num_steps']} must be in [0, {MAX_STEPS}]")


def roi_or_none(roi) -> tuple | None:
    """Map the ``roi`` parameter to ``(x, y, w, h)`` or None (whole image)."""
    roi = list(roi)
    return None if len(roi) != 4 or roi[2] <= 0 or roi[3] <= 0 else tuple(float(v) for v in roi)
