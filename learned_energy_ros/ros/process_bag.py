"""``learned-energy-ros process-bag IN OUT``: run the pose pipeline offline on a rosbag2.

Reads camera_info, keypoint clouds and (optionally) images with the ``rosbags``
library (mcap or sqlite3), synchronizes them with the same approximate-time
synchronizer as the node, runs the same ``PosePipeline`` and writes a new bag
holding every input message plus ``<prefix>/skeletons``, ``<prefix>/joints``
and ``<prefix>/overlay``. No DDS is involved: messages are (de)serialized with
``rclpy.serialization``.
"""
from __future__ import annotations

import argparse
import logging
from collections import deque
from pathlib import Path

import yaml
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import CameraInfo, Image, PointCloud2

from learned_energy_ros.pose.pipeline import FrameSkipped, PipelineConfig, PosePipeline
from learned_energy_ros.ros.diagnostics import FrameStats
from learned_energy_ros.ros.errors import ConversionError
from learned_energy_ros.ros.params import POSE_LIFTER_PARAMETERS, pipeline_settings
from learned_energy_ros.ros.pose_io import messages_to_frame, overlay_message, result_to_messages
from learned_energy_ros.ros.sync import ApproximateTimeSynchronizer, StampBuffer, header_stamp_ns

logger = logging.getLogger(__name__)

__all__ = ["process_bag", "main"]

_TYPES = {"camera_info": ("sensor_msgs/msg/CameraInfo", CameraInfo), "keypoints": ("sensor_msgs/msg/PointCloud2", PointCloud2),
          "image": ("sensor_msgs/msg/Image", Image)}
_PENDING_OVERLAYS = 10  # processed frames kept waiting for an image that is logged after them


def _pick_topics(connections, requested: dict) -> dict:
    """Resolve input topics: the requested name, else the only topic of that type (keypoints: name hint)."""
    topics = {}
    for role, (msgtype, _) in _TYPES.items():
        if requested.get(role):
            topics[role] = requested[role]
            continue
        names = sorted({c.topic for c in connections if c.msgtype == msgtype})
        if role == "keypoints" and len(names) > 1:
            names = [n for n in names if "keypoint" in n] or names
        if len(names) == 1:
            topics[role] = names[0]
        elif role != "image":
            raise ValueError(f"cannot tell the {role} topic among {names or 'no topics'}; pass --{role.replace('_', '-')}-topic")
    return topics


class _BagWriter:
    def __init__(self, path: Path, storage: str):
        from rosbags.rosbag2 import StoragePlugin, Writer
        from rosbags.typesys import Stores, get_typestore
        self.typestore = get_typestore(Stores.ROS2_KILTED if hasattr(Stores, "ROS2_KILTED") else Stores.LATEST)
        plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
        self.writer = Writer(path, version=9, storage_plugin=plugin)
        self.writer.open()
        self.connections = {}

    def write(self, topic: str, msgtype: str, timestamp: int, data: bytes) -> None:
        if topic not in self.connections:
            self.connections[topic] = self.writer.add_connection(topic, msgtype, typestore=self.typestore)
        self.writer.write(self.connections[topic], timestamp, bytes(data))

    def close(self) -> None:
        self.writer.close()


class _Processor:
    """Feed bag messages through sync -> pipeline and write outputs next to the inputs."""

    def __init__(self, pipeline: PosePipeline, writer: _BagWriter, settings: dict, prefix: str):
        self.pipeline, self.writer, self.settings, self.prefix = pipeline, writer, settings, prefix.rstrip("/")
        self.stats = FrameStats()
        self.sync = ApproximateTimeSynchronizer(2, settings["sync_queue"], settings["sync_slop"], self._on_frame)
        self.images = StampBuffer(10)
        self.pending: deque = deque(maxlen=_PENDING_OVERLAYS)
        self.log_time = 0

    def _out(self, name: str, msgtype: str, msg) -> None:
        data = msg if isinstance(msg, bytes) else serialize_message(msg)  # markers come serialized
        self.writer.write(f"{self.prefix}/{name}", msgtype, self.log_time, data)

    def add(self, role: str, msg, log_time: int) -> None:
        self.log_time = log_time
        self.stats.arrived(role)
        if role == "image":
            self.images.add(msg)
            self._match_pending(msg)
        else:
            self.sync.add(0 if role == "camera_info" else 1, msg)

    def _on_frame(self, info, cloud) -> None:
        try:
            result = self.pipeline.process(messages_to_frame(info, cloud, self.pipeline.config.input_skeleton))
        except FrameSkipped as skipped:
            self.stats.skip(skipped.reason)
            logger.warning("frame at %.3f skipped: %s", header_stamp_ns(cloud) * 1e-9, skipped)
            return
        self.stats.count("rejected_energy", len(result.rejected))
        outputs = result_to_messages(result, cloud.header, self.settings["marker_lifetime"])
        self._out("skeletons", "visualization_msgs/msg/MarkerArray", outputs.markers)
        self._out("joints", "sensor_msgs/msg/PointCloud2", outputs.joints)
        self.stats.processed(0.0)
        if self.settings["publish_overlay"]:
            image = self.images.nearest(header_stamp_ns(cloud), self.settings["sync_slop"])
            if image is not None:
                self._overlay(result, image)
            else:
                self.pending.append((header_stamp_ns(cloud), result))

    def _match_pending(self, image) -> None:
        stamp = header_stamp_ns(image)
        for item in list(self.pending):
            if abs(item[0] - stamp) <= self.settings["sync_slop"] * 1e9:
                self.pending.remove(item)
                self._overlay(item[1], image)

    def _overlay(self, result, image) -> None:
        try:
            self._out("overlay", "sensor_msgs/msg/Image", overlay_message(result, image, self.pipeline.config.input_skeleton))
        except ConversionError as err:
            self.stats.skip("overlay_bad_image")
            logger.warning("no overlay: %s", err)


def load_settings(params_file: str | None, overrides: dict) -> dict:
    """Node parameter values: defaults < ``pose_lifter`` section of ``params_file`` < ``overrides``."""
    settings = {name: default for name, (default, _, _) in POSE_LIFTER_PARAMETERS.items()}
    if params_file:
        data = yaml.safe_load(Path(params_file).read_text()) or {}
        section = next((v for k, v in data.items() if k.split("/")[-1] == "pose_lifter"), data.get("/**", {}))
        settings.update((section or {}).get("ros__parameters", {}))
    settings.update({k: v for k, v in overrides.items() if v is not None})
    return settings


def process_bag(in_path, out_path, topics: dict | None = None, settings: dict | None = None, storage: str = "mcap",
                prefix: str = "/pose_lifter", lifter=None) -> dict:
    """Process one bag; return the summary statistics.

    Args:
        in_path, out_path: input bag folder; output bag folder (must not exist).
        topics: ``{"camera_info"|"keypoints"|"image": topic}``; missing roles are found by type.
        settings: node parameter values (``load_settings``).
        storage: output storage, ``mcap`` or ``sqlite3``.
        prefix: namespace of the output topics.
        lifter: an already loaded lifter (else loaded from ``settings``).
    """
    from rosbags.rosbag2 import Reader
    settings = settings or load_settings(None, {})
    if lifter is None:
        from learned_energy_ros.pose.lifter import load_lifter
        lifter = load_lifter(settings["checkpoint"], device=settings["device"])
    pipeline = PosePipeline(lifter, PipelineConfig(**pipeline_settings(settings)))
    writer = _BagWriter(Path(out_path), storage)
    try:
        with Reader(in_path) as reader:
            chosen = _pick_topics(reader.connections, topics or {})
            roles = {topic: role for role, topic in chosen.items()}
            logger.info("inputs: %s", chosen)
            processor = _Processor(pipeline, writer, settings, prefix)
            for conn, timestamp, raw in reader.messages():
                writer.write(conn.topic, conn.msgtype, timestamp, raw)
                role = roles.get(conn.topic)
                if role is not None:
                    processor.add(role, deserialize_message(bytes(raw), _TYPES[role][1]), timestamp)
    finally:
        writer.close()
    return processor.stats.summary()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``process-bag IN OUT [options]``."""
    parser = argparse.ArgumentParser(prog="learned-energy-ros process-bag", description=__doc__.split("\n")[0])
    parser.add_argument("input", help="input rosbag2 folder (mcap or sqlite3)")
    parser.add_argument("output", help="output rosbag2 folder (created)")
    for role in _TYPES:
        parser.add_argument(f"--{role.replace('_', '-')}-topic", dest=role, help=f"{role} topic (default: found by type)")
    parser.add_argument("--params-file", help="node parameters (the pose_lifter section is used)")
    parser.add_argument("--device", help="override the device parameter")
    parser.add_argument("--checkpoint", help="override the checkpoint parameter")
    parser.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    parser.add_argument("--prefix", default="/pose_lifter", help="namespace of the output topics")
    args = parser.parse_args(argv)
    if Path(args.output).exists():
        parser.error(f"{args.output} exists; choose a new output folder")
    settings = load_settings(args.params_file, {"device": args.device, "checkpoint": args.checkpoint})
    try:
        summary = process_bag(args.input, args.output, {r: getattr(args, r) for r in _TYPES}, settings,
                              args.storage, args.prefix)
    except (ValueError, OSError) as err:
        print(f"error: {err}")
        return 1
    print(f"wrote {args.output}: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                              for k, v in sorted(summary.items()) if not k.startswith("rate_")))
    return 0
