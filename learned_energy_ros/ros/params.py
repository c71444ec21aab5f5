"""Parameters of the pose_lifter node: one table, read by the node, the YAML test and the docs.

Every entry is ``name: (default, description, applies)`` where ``applies`` says
when a change takes effect: ``frame`` (next frame), ``sync`` (synchronizer,
next message) or ``configure`` (only while unconfigured; refused otherwise).
"""
from __future__ import annotations

import re

from learned_energy_ros.core.unrolled import MAX_STEPS
from learned_energy_ros.pose.lift_types import DEFAULT_KEYPOINT_NOISE_PX
from learned_energy_ros.ros.body_tf import ID_PREFIX_PATTERN

POSE_LIFTER_PARAMETERS: dict[str, tuple[object, str, str]] = {
    "device": ("auto", "Torch device for the lifter: auto (CUDA when available, else CPU), cpu, cuda or cuda:N.", "configure"),
    "device_fallback": (True, "When device asks for CUDA and none is available: fall back to the CPU with a warning (true) or fail to configure (false).", "configure"),
    "checkpoint": ("default", "Lifter checkpoint: 'default' (shipped with the package) or a path to a .pt file.", "configure"),
    "input_skeleton": ("coco17", "Layout of the incoming keypoints (joint indices): coco17, coco18, body25, mediapipe33, h36m17, ...", "frame"),
    "min_score": (0.2, "Keypoints with score at or below this are treated as missing.", "frame"),
    "min_joints": (6, "Persons with fewer visible keypoints are not lifted.", "frame"),
    "num_steps": (0, "Unrolled gradient-descent steps per frame, 0 to 64 (0: the checkpoint's default; the shipped model freezes steps past its default, so more never hurts; above 64 is refused).", "frame"),
    "temporal_weight": (1.0, "Weight of the temporal energy toward each track's previous 3D (it fades with the time since that 3D, from the header stamps); any value > 0 also warm-starts the descent from it; 0 disables both.", "frame"),
    "person_height_prior": (0.0, "Mean stature (m) of the people this camera sees, e.g. 1.2 for children; 0 keeps the checkpoint's adult prior. Scales size and distance together.", "frame"),
    "keypoint_noise_px": (DEFAULT_KEYPOINT_NOISE_PX, "Std (pixels) of the 2D detector's keypoint noise, 0 to 100: the descent follows the 2D less where this noise is large next to the person's size in pixels (far people, noisy detectors); 0 trusts the 2D fully. The shipped lifter was trained with 2 px.", "frame"),
    "max_energy": (0.0, "Skeletons whose final energy exceeds this are not published (0: no filter).", "frame"),
    "depth_cutoff": (1.0, "One-Euro cutoff (Hz) smoothing each track's distance to the camera, the main jitter of monocular 3D (0 disables).", "frame"),
    "depth_beta": (10.0, "One-Euro speed coefficient of the distance filter (1/s): higher = less lag for fast approach.", "frame"),
    "track_timeout": (1.0, "Seconds after which an unseen track dies and its markers are deleted.", "frame"),
    "association_gate": (0.5, "Largest mean 2D joint distance, in person sizes, that continues a track.", "frame"),
    "sync_slop": (0.02, "Approximate-time synchronization slop between camera_info, keypoints and image (s).", "sync"),
    "sync_queue": (10, "Approximate-time synchronizer queue size per input.", "sync"),
    "max_pending": (2, "Synchronized frames waiting for the model; when full the OLDEST is dropped (counted as skipped_overload), bounding latency.", "frame"),
    "max_stamp_future": (5.0, "Frames stamped more than this many seconds ahead of the node clock are skipped (0: no check).", "frame"),
    "max_stamp_age": (0.0, "Frames stamped more than this many seconds behind the node clock are skipped (0: no check; bags replayed without sim time are old).", "frame"),
    "jump_reset": (10.0, "A stamp this many seconds before the last one is a time jump (bag loop, sim or camera restart): tracks reset, frame processed (0: never).", "frame"),
    "max_persons": (50, "Frames with more persons are skipped (garbage input must not stall the node).", "frame"),
    "publish_overlay": (True, "Subscribe to the image and publish ~/overlay with the reprojected 3D skeletons.", "frame"),
    "marker_lifetime": (0.5, "Lifetime of the skeleton markers (s), so they vanish if the node stops.", "frame"),
    "sensor_qos": ("sensor_data", "QoS of camera_info and keypoints: sensor_data, reliable or best_effort.", "configure"),
    "image_qos": ("reliable", "QoS of image and ~/overlay (reliable: best-effort large images are lost across processes with FastDDS).", "configure"),
    "qos_depth": (5, "History depth of the subscriptions and publishers.", "configure"),
    "diagnostics_period": (1.0, "Seconds between /diagnostics messages.", "configure"),
    "warn_period": (5.0, "Minimum seconds between two warnings with the same reason.", "frame"),
    "use_message_filters": (True, "Use message_filters for synchronization when importable (else the internal synchronizer).", "configure"),
    "cameras": ([], "Camera namespaces served by this one node, e.g. [cam0, cam1] (relative to the node namespace) or [/cam0, /cam1]: each has its own <cam>/camera_info, <cam>/keypoints (+ <cam>/image) inputs, its own tracks and <cam>/<node name>/skeletons, <cam>/<node name>/joints (+ overlay) outputs, the topics of one node per camera in namespace <cam>; the people of every ready camera are lifted in one batched call per tick. Empty: one camera on camera_info, keypoints, image -> ~/skeletons, ~/joints, ~/overlay.", "configure"),
    "publish_tf": (True, "Broadcast TF per tracked person: body_<id> (hip midpoint, x forward, z up; parent: the camera optical frame) and one frame per joint named as REP-155 does (l_wrist_<id>, torso_<id>, ...; parent: body_<id>), at the input stamp. Needs tf2_msgs (built by scripts/env.sh for pip installs).", "frame"),
    "publish_hri": (True, "Publish the REP-155 body topics when hri_msgs is installed: <hri_namespace>/tracked (IdsList) and per body <hri_namespace>/<id>/skeleton2d (Skeleton2D) and /roi (NormalizedRegionOfInterest2D).", "frame"),
    "hri_namespace": ("/humans/bodies", "Namespace of the REP-155 body topics this node publishes.", "configure"),
    "body_id_prefix": ("b", "Body ids are <prefix><track id> (<camera>_<prefix><track id> with cameras), used in frames (body_b3) and topics (/humans/bodies/b3/roi); must start with a letter.", "configure"),
    "skeleton2d_input": ("", "Take the 2D from a ROS4HRI body detector instead of the keypoint cloud: its body namespace (e.g. /humans/bodies of hri_fullbody; not this node's hri_namespace), whose <ns>/tracked and <ns>/<id>/skeleton2d (hri_msgs/Skeleton2D) are followed. Empty: the keypoints topic. One camera only.", "configure"),
    "person_detections": (False, "Also subscribe to detections (vision_msgs/Detection2DArray): a person whose keypoints lie in a box with a tracking id takes that id as its detector id, a hint for association. One camera only.", "configure"),
    "person_classes": (["person"], "Class ids of Detection2DArray boxes that are people (their best hypothesis); empty: every box.", "frame"),
    "fusion": (False, "With cameras: associate the people of all cameras and lift each once on the sum of the per-camera consistency energies, in the common frame of the extrinsics; fused skeletons (and people seen by one camera) go out on ~/skeletons and ~/joints with frame_id = that frame, instead of the per-camera outputs.", "configure"),
    "extrinsics": ("", "Camera poses for fusion: a camera rig YAML (frame_id + per camera translation and rotation, see README) or 'tf' (tf2 lookups of each CameraInfo frame_id in fusion_frame, when tf2_ros is importable).", "configure"),
    "fusion_frame": ("", "Common frame of the fused skeletons: required with extrinsics 'tf' (e.g. world or map); with a YAML it must be empty or equal to the file's frame_id.", "configure"),
    "fusion_slop": (0.02, "Camera frames whose stamps differ by at most this many seconds are fused as one instant.", "frame"),
    "fusion_wait": (0.03, "Seconds the node waits, after a frame arrives, for the other cameras' frames of the same instant before fusing what it has.", "frame"),
    "fusion_steps": (16, "Descent steps of each fused person per instant, 1 to 64 (above 64 is refused): fewer are faster and less accurate (docs/benchmarks/multiview.md has the table).", "frame"),
    "autostart": (True, "When started by its own executable, configure and activate at once.", "configure"),
}

#: Parameter names that map 1:1 onto ``PipelineConfig`` fields.
PIPELINE_KEYS = ("input_skeleton", "min_score", "min_joints", "num_steps", "temporal_weight", "person_height_prior",
                 "keypoint_noise_px", "max_energy",
                 "track_timeout", "association_gate", "depth_cutoff", "depth_beta", "max_persons", "jump_reset")


def pipeline_settings(values: dict) -> dict:
    """Translate parameter values to ``PipelineConfig`` keyword arguments (0 max_energy = no filter)."""
    out = {k: values[k] for k in PIPELINE_KEYS if k in values}
    if "max_energy" in out:
        out["max_energy"] = float("inf") if out["max_energy"] <= 0 else float(out["max_energy"])
    for key in ("min_score", "temporal_weight", "person_height_prior", "keypoint_noise_px", "track_timeout", "association_gate",
                "depth_cutoff", "depth_beta", "jump_reset"):
        if key in out:
            out[key] = float(out[key])
    return out


#: Parameters that make up temporal smoothing (temporal energy + warm start, distance filter).
SMOOTHING_KEYS = ("temporal_weight", "depth_cutoff", "depth_beta")


def smoothing_parameters(enabled: bool) -> dict:
    """Run-time parameter values that turn all temporal smoothing off, or back to the defaults."""
    if not enabled:
        return {"temporal_weight": 0.0, "depth_cutoff": 0.0}
    return {key: POSE_LIFTER_PARAMETERS[key][0] for key in SMOOTHING_KEYS}


_NAMESPACE = r"/?[A-Za-z][A-Za-z0-9_]*(/[A-Za-z][A-Za-z0-9_]*)*"
#: Node-level (not pipeline) checks: name -> (test, what is allowed).
_NODE_CHECKS = {
    "sync_slop": (lambda v: 0 <= v <= 10, "in [0, 10] s"),
    "sync_queue": (lambda v: 1 <= v <= 1000, "in [1, 1000]"),
    "max_pending": (lambda v: 1 <= v <= 1000, "in [1, 1000]"),
    "max_stamp_future": (lambda v: 0 <= v < float("inf"), ">= 0 s"),
    "max_stamp_age": (lambda v: 0 <= v < float("inf"), ">= 0 s"),
    "qos_depth": (lambda v: 1 <= v <= 1000, "in [1, 1000]"),
    "diagnostics_period": (lambda v: 0 < v <= 3600, "in (0, 3600] s"),
    "warn_period": (lambda v: 0 <= v < float("inf"), ">= 0 s"),
    "marker_lifetime": (lambda v: 0 <= v < float("inf"), ">= 0 s"),
    "fusion_slop": (lambda v: 0 <= v <= 1, "in [0, 1] s"),
    "fusion_wait": (lambda v: 0 <= v <= 1, "in [0, 1] s"),
    "fusion_steps": (lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_STEPS,
                     f"an int in [1, {MAX_STEPS}]"),
    "cameras": (lambda v: len(set(v)) == len(v) and all(re.fullmatch(r"/?[A-Za-z][A-Za-z0-9_]*(/[A-Za-z][A-Za-z0-9_]*)*", c)
                                                        for c in v), "distinct namespaces like cam0 or front/left"),
    "body_id_prefix": (lambda v: re.fullmatch(ID_PREFIX_PATTERN, v) is not None, "a letter then letters, digits or _"),
    "hri_namespace": (lambda v: re.fullmatch(_NAMESPACE, v) is not None, "a namespace like /humans/bodies"),
    "skeleton2d_input": (lambda v: v == "" or re.fullmatch(_NAMESPACE, v) is not None, "empty or a namespace like /humans/bodies"),
}


def check_node_values(changes: dict) -> None:
    """Raise ValueError naming the first parameter outside its allowed range (node-level keys only)."""
    for name, value in changes.items():
        if name in _NODE_CHECKS:
            ok, allowed = _NODE_CHECKS[name]
            if not ok(value):
                raise ValueError(f"{name}={value!r} must be {allowed}")


def refusal_reason(changes: dict, config=None) -> str | None:
    """Return why a set of run-time parameter changes is refused, or None to accept it.

    Args:
        changes: parameter name -> new value.
        config: the active ``PipelineConfig`` when configured (configure-time keys are then refused),
            else None.
    """
    from learned_energy_ros.pose.pipeline import PipelineConfig
    from learned_energy_ros.ros.qos import qos_from_name
    late = [n for n in changes if POSE_LIFTER_PARAMETERS.get(n, (0, 0, ""))[2] == "configure"]
    if config is not None and late:
        return f"{late} apply on configure: deactivate and cleanup the node first"
    try:
        PipelineConfig(**{**(config.__dict__ if config is not None else {}), **pipeline_settings(changes)})
        check_node_values(changes)
        for key in ("sensor_qos", "image_qos"):
            if key in changes:
                qos_from_name(changes[key], 1)
    except (ValueError, KeyError, TypeError) as err:
        return str(err)
    ins, outs = changes.get("skeleton2d_input"), changes.get("hri_namespace")
    if ins and outs and ins.strip("/") == outs.strip("/"):
        return f"skeleton2d_input={ins!r} is this node's own hri_namespace: it would read its own output"
    return None
