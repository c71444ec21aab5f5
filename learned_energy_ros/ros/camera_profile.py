"""The ``run --video FILE | --webcam N`` profile: camera -> keypoint_detector -> pose_lifter (-> voxel).

Every node's ``image``, ``camera_info`` and ``keypoints`` are remapped onto
``CAMERA_TOPICS`` (the defaults of ``launch/camera_perception.launch.py``, which
starts the same graph on a ROS install): ``video_camera`` publishes the image
and CameraInfo, ``keypoint_detector`` the keypoints, ``pose_lifter``
(``input_skeleton: mediapipe33``) lifts them. ``rviz/camera_perception.rviz`` shows it.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["add_calibration_arguments", "add_camera_arguments", "camera_profile", "CAMERA_CHAIN", "CAMERA_TOPICS", "config_path"]

#: Nodes of the camera profile, in start order.
CAMERA_CHAIN = "video_camera,keypoint_detector,pose_lifter"
#: Node-relative input names -> the topics the chain uses (same as the launch file's defaults).
CAMERA_TOPICS = {"image": "camera/image_raw", "camera_info": "camera/camera_info", "keypoints": "camera/keypoints"}


def config_path(name: str) -> Path | None:
    """Path of a shipped ``config/<name>`` file (source checkout or installed share), or None."""
    here = Path(__file__).resolve().parents[2] / "config" / name
    if here.is_file():
        return here
    try:
        from ament_index_python.packages import get_package_share_directory
        shared = Path(get_package_share_directory("learned_energy_ros")) / "config" / name
        return shared if shared.is_file() else None
    except (ImportError, LookupError, ValueError):
        return None


def add_calibration_arguments(parser) -> None:
    """Add ``--camera-info YAML`` and ``--hfov DEG`` (shared by ``run`` and ``process-video``)."""
    parser.add_argument("--camera-info", help="calibration YAML (camera_calibration / camera_info_manager format)")
    parser.add_argument("--hfov", type=float, default=None, help="horizontal field of view (deg) assumed without "
                        "--camera-info (default 60; logged)")


def add_camera_arguments(parser) -> None:
    """Add ``--video``, ``--webcam``, ``--camera-info``, ``--hfov`` to the ``run`` parser."""
    group = parser.add_argument_group("camera without a robot (plays as image + camera_info)")
    source = group.add_mutually_exclusive_group()
    source.add_argument("--video", help="play this video file at its frame rate")
    source.add_argument("--webcam", type=int, help="play this OpenCV webcam index")
    add_calibration_arguments(group)
    group.add_argument("--loop", action="store_true", help="restart the video file at its end")


def camera_profile(args, parser) -> tuple[str, dict]:
    """Return ``(nodes, NodeRunner keyword arguments)`` for the parsed ``run`` arguments."""
    if args.video is None and args.webcam is None:
        if args.camera_info or args.hfov is not None:
            parser.error("--camera-info/--hfov need --video or --webcam")
        return args.nodes, {}
    if args.video is not None and not Path(args.video).is_file():
        parser.error(f"video file {args.video} does not exist")
    if args.camera_info and not Path(args.camera_info).is_file():
        parser.error(f"calibration file {args.camera_info} does not exist")
    camera = {"video": str(args.video or ""), "webcam": -1 if args.webcam is None else int(args.webcam),
              "camera_info_file": str(args.camera_info or ""), "loop": bool(args.loop)}
    if args.hfov is not None:
        camera["hfov_deg"] = float(args.hfov)
    nodes = args.nodes if args.nodes != parser.get_default("nodes") else CAMERA_CHAIN
    if "video_camera" not in nodes.split(","):
        nodes = "video_camera," + nodes
    files = []
    for name in ("video_camera.yaml", "keypoint_detector.yaml"):
        path = config_path(name)
        if path is not None:
            files += ["--params-file", str(path)]
    overrides = {"video_camera": camera, "pose_lifter": {"input_skeleton": "mediapipe33", "publish_overlay": True}}
    return nodes, {"parameters": overrides, "remappings": dict(CAMERA_TOPICS), "ros_args": files}
