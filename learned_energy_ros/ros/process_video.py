"""``learned-energy-ros process-video FILE [--camera-info YAML] --out DIR``: the camera chain offline.

Each frame goes through the keypoint detector and the same ``PosePipeline`` as
the ``pose_lifter`` node (tracking and smoothing included). Writes
``DIR/overlay.mp4`` (2D detections and reprojected 3D), ``DIR/skeletons_3d.png``,
``DIR/bag`` (rosbag2: image, camera_info, keypoints, joints, skeletons, overlay;
messages serialized with rclpy, no DDS) and ``DIR/joints.json``.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
from rclpy.serialization import serialize_message
from std_msgs.msg import Header

from learned_energy_ros.ros.camera_profile import add_calibration_arguments
from learned_energy_ros.ros.clouds import keypoints_to_cloud
from learned_energy_ros.ros.conversions import camera_to_camera_info, sec_to_stamp
from learned_energy_ros.ros.images import image_to_rgb, rgb_to_image

logger = logging.getLogger(__name__)

__all__ = ["process_video", "main"]

_TOPICS = {"image": ("/camera/image", "sensor_msgs/msg/Image"),
           "camera_info": ("/camera/camera_info", "sensor_msgs/msg/CameraInfo"),
           "keypoints": ("/camera/keypoints", "sensor_msgs/msg/PointCloud2"),
           "joints": ("/pose_lifter/joints", "sensor_msgs/msg/PointCloud2"),
           "skeletons": ("/pose_lifter/skeletons", "visualization_msgs/msg/MarkerArray"),
           "overlay": ("/pose_lifter/overlay", "sensor_msgs/msg/Image")}


def _camera(video, args):
    from learned_energy_ros.core.calibration import DEFAULT_HFOV_DEG, guess_camera, load_calibration_yaml

    if args.camera_info:
        return load_calibration_yaml(args.camera_info, frame_id=args.frame_id)
    return guess_camera(video.width, video.height, args.hfov or DEFAULT_HFOV_DEG, args.frame_id)


def _pipeline(args):
    from learned_energy_ros.pose.lifter import load_lifter
    from learned_energy_ros.pose.pipeline import PipelineConfig, PosePipeline
    from learned_energy_ros.ros.params import POSE_LIFTER_PARAMETERS, pipeline_settings

    values = {k: v[0] for k, v in POSE_LIFTER_PARAMETERS.items()} | {"input_skeleton": "mediapipe33"}
    return PosePipeline(load_lifter(args.checkpoint, device=args.device), PipelineConfig(**pipeline_settings(values)))


def _people(result) -> list[dict]:
    names = result.skeleton.joints
    return [{"id": int(track), "energy": float(energy),
             "joints": {name: [round(float(c), 4) for c in xyz] for name, xyz in zip(names, joints)}}
            for track, energy, joints in zip(result.track_ids, result.energy, result.joints)]


def process_video(args) -> dict:
    """Run the chain over the video named by ``args``; write the outputs; return a summary."""
    from learned_energy_ros.demo.bag import BagRecorder
    from learned_energy_ros.demo.outputs import write_video
    from learned_energy_ros.demo.real import plot_people_3d
    from learned_energy_ros.detect.detector import DetectorConfig, KeypointDetector
    from learned_energy_ros.detect.mediapipe_backend import MediaPipePose
    from learned_energy_ros.detect.video import VideoSource
    from learned_energy_ros.pose.pipeline import FrameSkipped, KeypointFrame
    from learned_energy_ros.ros.pose_io import overlay_message, result_to_messages

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    detector = KeypointDetector(MediaPipePose(), DetectorConfig(max_persons=args.max_persons, tiles=args.tiles))
    pipeline, frames, pictures, panels, skipped = _pipeline(args), [], [], [], {}
    with VideoSource(args.file) as video, BagRecorder(out / "bag", args.bag_storage) as bag:
        camera = _camera(video, args)
        for index, t, rgb in video.frames(limit=args.max_frames, stride=args.stride):
            header = Header(stamp=sec_to_stamp(args.start_stamp + t), frame_id=camera.frame_id)
            stamp_ns = int(round((args.start_stamp + t) * 1e9))
            found = detector.detect(rgb)
            image = rgb_to_image(rgb, header, "bgr8")
            inputs = {"image": image, "camera_info": camera_to_camera_info(camera, header),
                      "keypoints": keypoints_to_cloud(header, found.keypoints, found.scores, found.ids)}
            for role, msg in inputs.items():
                bag.write(*_TOPICS[role], stamp_ns, msg if isinstance(msg, bytes) else serialize_message(msg))
            try:
                result = pipeline.process(KeypointFrame(args.start_stamp + t, camera, found.keypoints, found.scores,
                                                        found.ids))
            except FrameSkipped as err:
                skipped[err.reason] = skipped.get(err.reason, 0) + 1
                frames.append({"index": index, "stamp": round(t, 6), "people": []})
                pictures.append(rgb)
                continue
            outputs = result_to_messages(result, header)
            overlay = overlay_message(result, image, "mediapipe33")
            for role, msg in (("joints", outputs.joints), ("skeletons", outputs.markers), ("overlay", overlay)):
                bag.write(*_TOPICS[role], stamp_ns, msg if isinstance(msg, bytes) else serialize_message(msg))
            frames.append({"index": index, "stamp": round(t, 6), "people": _people(result)})
            pictures.append(image_to_rgb(overlay))
            panels.append((f"frame {index} (t = {t:.1f} s)", np.asarray(result.joints), result.track_ids))
            logger.info("frame %d: %d detected, %d lifted", index, len(found), len(result.track_ids))
        fps = video.fps / max(1, args.stride)
    detector.close()
    if not frames:
        raise ValueError(f"{args.file} yielded no frame")
    picks = [panels[i] for i in np.unique(np.linspace(0, len(panels) - 1, min(6, len(panels))).round().astype(int))] if panels else []
    files = {"video": write_video(pictures, out / "overlay.mp4", fps), "bag": out / "bag",
             "plot_3d": plot_people_3d(picks, out / "skeletons_3d.png") if picks else None,
             "joints": out / "joints.json"}
    document = {"camera": camera.to_camera_info_fields(), "frames": frames}
    files["joints"].write_text(json.dumps(document, indent=1) + "\n")
    return {"frames": len(frames), "lifted_frames": len(panels), "skipped": skipped, "files": files,
            "bag_counts": dict(bag.counts)}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="learned-energy-ros process-video", description=__doc__.splitlines()[0])
    p.add_argument("file", help="video file (anything OpenCV reads)")
    p.add_argument("--out", required=True, help="output folder")
    add_calibration_arguments(p)
    p.add_argument("--frame-id", default="camera_optical_frame", help="optical frame of the outputs")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many processed frames")
    p.add_argument("--stride", type=int, default=1, help="process every N-th frame")
    p.add_argument("--tiles", type=int, default=1, help="also search tiles x tiles crops (small people, e.g. 3)")
    p.add_argument("--max-persons", type=int, default=4, help="people per frame at most")
    p.add_argument("--device", default="auto", help="torch device of the lifter")
    p.add_argument("--checkpoint", default="default", help="lifter checkpoint")
    p.add_argument("--bag-storage", choices=("mcap", "sqlite3"), default="mcap")
    p.add_argument("--start-stamp", type=float, default=1.0e9, help="stamp (s) of the first frame")
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, process the video, print where the outputs are; 1 on a clear error."""
    from learned_energy_ros.core.camera import CameraError
    from learned_energy_ros.detect.detector import DetectorError
    from learned_energy_ros.detect.video import VideoError

    args = build_parser().parse_args(argv)
    try:
        summary = process_video(args)
    except (VideoError, CameraError, DetectorError, ValueError) as err:
        print(f"error: {err}")
        return 1
    print(f"{summary['frames']} frames ({summary['lifted_frames']} with people lifted); skipped {summary['skipped']}; "
          f"outputs: " + ", ".join(f"{k} {v}" for k, v in summary["files"].items() if v))
    return 0
