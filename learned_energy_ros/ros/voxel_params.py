"""Parameters of the voxel_reconstructor node: one table, read by the node, the YAML and the tests.

Every entry is ``name: (default, description, applies)``; ``applies`` is ``frame``
(next frame), ``sync`` (synchronizer, next message) or ``configure`` (only while
unconfigured; refused otherwise).
"""
from __future__ import annotations

import math

from learned_energy_ros.core.unrolled import MAX_STEPS

VOXEL_PARAMETERS: dict[str, tuple[object, str, str]] = {
    "device": ("auto", "Torch device: auto (CUDA when available, else CPU), cpu, cuda or cuda:N.", "configure"),
    "device_fallback": (True, "When device asks for CUDA and none is available: fall back to the CPU with a warning (true) or fail to configure (false).", "configure"),
    "checkpoint": ("default", "Voxel checkpoint: 'default' (the shipped IGE model), 'baseline' or a path to a .pt file.", "configure"),
    "resolution": (0, "Grid resolution R (R^3 voxels); selects the shipped voxel_ige_<R>.pt for 'default' (0: the checkpoint's).", "configure"),
    "near": (0.741, "Near end of the frustum depth range (m, optical z). With far: where the object is; fixes metric scale.", "frame"),
    "far": (1.259, "Far end of the frustum depth range (m). Training convention: near/far = d (1 -/+ sin(fov/2)) for an object at d.", "frame"),
    "roi": ([0, 0, 0, 0], "Region of interest [x, y, width, height] in raw pixels framing the object (all zero: the whole image).", "frame"),
    "use_detections": (False, "Reconstruct one object per box of vision_msgs/Detection2DArray on 'detections' (synchronized with the image; batched in one model call) instead of roi. Needs vision_msgs; without it the node logs why and uses roi.", "configure"),
    "max_objects": (8, "Most boxes reconstructed per frame (highest scores first); the rest are skipped and counted.", "frame"),
    "box_padding": (1.2, "Each detection box is enlarged by this factor about its centre before reconstruction (the model was trained with a margin around objects); 1 to 4.", "frame"),
    "plane_frame": ("", "TF frame whose z = 0 plane is the surface objects stand on (z up), e.g. base_footprint or a table frame; the camera pose comes from TF at each image stamp (needs tf2_ros). The occupancy grid is published in this frame. Empty: camera_height or support_plane.", "configure"),
    "camera_height": (0.0, "Height of the camera above the support plane (m); > 0 sets the plane from camera_height and camera_pitch (0: not used).", "frame"),
    "camera_pitch": (0.0, "Downward tilt of the camera's optical axis below horizontal (deg, -90 to 90), with camera_height.", "frame"),
    "support_plane": ([0.0, 0.0, 0.0, 0.0], "The support plane as [a, b, c, d] with a x + b y + c z + d = 0 in the camera optical frame (all zero: not used).", "frame"),
    "object_depth_ratio": (1.0, "Objects are taken as upright and this deep relative to their box width: the object's centre lies half a depth behind the box's bottom-edge contact (0 to 10).", "frame"),
    "max_object_distance": (20.0, "Boxes whose bottom edge meets the plane farther than this (m) are skipped.", "frame"),
    "publish_grid": (True, "Publish ~/occupancy_grid (nav_msgs/OccupancyGrid) when a support plane is set.", "frame"),
    "grid_resolution": (0.05, "Cell size of ~/occupancy_grid (m).", "frame"),
    "grid_size": ([4.0, 4.0], "Extent [x, y] of ~/occupancy_grid on the plane (m).", "frame"),
    "grid_origin": ([0.0, -2.0], "Plane-frame [x, y] of the grid's corner cell (0, 0) (m); with camera_height/support_plane the plane frame has its origin below the camera, x ahead, y left.", "frame"),
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


#: Frame-level range checks: name -> (test, what is allowed).
_RANGES = {
    "max_objects": (lambda v: 1 <= v <= 64, "in [1, 64]"),
    "box_padding": (lambda v: 1 <= v <= 4, "in [1, 4]"),
    "camera_height": (lambda v: 0 <= v <= 1000, "in [0, 1000] m (0: not used)"),
    "camera_pitch": (lambda v: -90 <= v <= 90, "in [-90, 90] deg"),
    "object_depth_ratio": (lambda v: 0 <= v <= 10, "in [0, 10]"),
    "max_object_distance": (lambda v: 0 < v <= 1000, "in (0, 1000] m"),
    "grid_resolution": (lambda v: 0.001 <= v <= 10, "in [0.001, 10] m"),
}


def check_values(values: dict) -> None:
    """Raise ValueError for inconsistent frame-level settings (depth range, plane, grid, boxes)."""
    near, far = float(values["near"]), float(values["far"])
    if not (math.isfinite(far) and 0 < near < far):
        raise ValueError(f"need finite 0 < near < far, got near={near}, far={far}")
    if not 0 <= float(values["occupancy_threshold"]) < 1:
        raise ValueError(f"occupancy_threshold={values['occupancy_threshold']} must be in [0, 1)")
    roi = list(values["roi"])
    if len(roi) not in (0, 4) or (len(roi) == 4 and not all(math.isfinite(v) and v >= 0 for v in roi)):
        raise ValueError(f"roi must be [] or finite [x, y, width, height] >= 0, got {roi}")
    if not 0 <= int(values["num_steps"]) <= MAX_STEPS:
        raise ValueError(f"num_steps={values['num_steps']} must be in [0, {MAX_STEPS}]")
    for name, (ok, allowed) in _RANGES.items():
        if not (math.isfinite(float(values[name])) and ok(values[name])):
            raise ValueError(f"{name}={values[name]!r} must be {allowed}")
    sources = [name for name, used in (("plane_frame", bool(values["plane_frame"])),
                                       ("camera_height", float(values["camera_height"]) > 0),
                                       ("support_plane", any(values["support_plane"]))) if used]
    if len(sources) > 1:
        raise ValueError(f"{' and '.join(sources)} both set the support plane: keep one")
    plane_from_parameters(values)
    grid_spec(values)


def plane_from_parameters(values: dict):
    """The ``SupportPlane`` set by ``camera_height``/``camera_pitch`` or ``support_plane``, else None.

    Raises:
        ValueError: for an unusable plane (e.g. the camera on it).
    """
    from learned_energy_ros.vox.placement import SupportPlane
    if float(values["camera_height"]) > 0:
        return SupportPlane.from_height_pitch(float(values["camera_height"]), float(values["camera_pitch"]))
    if any(values["support_plane"]):
        return SupportPlane.from_coefficients(list(values["support_plane"]))
    return None


def grid_spec(values: dict):
    """The ``GridSpec`` of ``grid_resolution``, ``grid_size``, ``grid_origin`` (ValueError when unusable)."""
    from learned_energy_ros.vox.ground_grid import GridSpec
    return GridSpec(float(values["grid_resolution"]), tuple(values["grid_size"]), tuple(values["grid_origin"]))


def placement_config(values: dict):
    """The ``PlacementConfig`` of the box parameters (``padding`` for detection boxes)."""
    from learned_energy_ros.vox.objects import PlacementConfig
    return PlacementConfig(float(values["box_padding"]), float(values["object_depth_ratio"]),
                           float(values["max_object_distance"]), int(values["max_objects"]))


def roi_or_none(roi) -> tuple | None:
    """Map the ``roi`` parameter to ``(x, y, w, h)`` or None (whole image)."""
    roi = list(roi)
    return None if len(roi) != 4 or roi[2] <= 0 or roi[3] <= 0 else tuple(float(v) for v in roi)
