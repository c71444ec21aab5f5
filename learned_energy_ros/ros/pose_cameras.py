"""Several cameras in one ``pose_lifter`` (parameter ``cameras: [cam0, cam1, ...]``).

Each camera ``c`` has its own inputs ``c/camera_info``, ``c/keypoints`` (+ ``c/image``),
its own synchronizer, overload queue, tracks (``PosePipeline``) and outputs
``c/<node name>/skeletons``, ``c/<node name>/joints``, ``c/<node name>/overlay``
(relative to the node's namespace, or absolute for ``/c``): exactly the topics of
one ``pose_lifter`` per camera started in namespace ``c``, so consumers, RViz and
bags do not change when cameras move between nodes or processes
(``learned-energy-ros run --camera-groups``), and track ids stay per camera. What is shared is the lifter: each worker
tick takes the oldest pending frame of every camera and lifts all their people
in one batched call (``pose.multi.process_frames``). Diagnostics count every
camera's inputs under ``<camera>/<topic>`` and every drop and skip in the node's
totals, as a single camera does.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass

from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from visualization_msgs.msg import MarkerArray

from learned_energy_ros.pose.multi import process_frames
from learned_energy_ros.pose.pipeline import FrameSkipped, PosePipeline
from learned_energy_ros.ros.markers import delete_markers
from learned_energy_ros.ros.pose_io import messages_to_frame, result_to_messages
from learned_energy_ros.ros.sync import StampBuffer

__all__ = ["CameraChannel", "MultiCameraMixin"]


@dataclass
class CameraChannel:
    """One camera served by the node: its name, tracks, synchronizer, images and publishers."""

    name: str
    pipeline: PosePipeline
    sync: object = None
    images: StampBuffer | None = None
    image_sub: object = None
    pub_markers: object = None
    pub_joints: object = None
    pub_overlay: object = None


class MultiCameraMixin:
    """The ``cameras`` mode of ``PoseLifterNode`` (needs its ``FrameWorker`` and helpers)."""

    def _make_channels(self, lifter, config) -> None:
        """One pipeline per camera (on_configure); ``self.pipeline`` stays the first camera's."""
        self.channels = [CameraChannel(name, PosePipeline(lifter, config)) for name in self._camera_names()]
        self.pipeline = self.channels[0].pipeline

    def _activate_channels(self, sensor_qos, depth: int) -> None:
        """Publishers, synchronized subscriptions and the worker's queues of every camera (on_activate)."""
        for k, ch in enumerate(self.channels):
            out = f"{ch.name}/{self.get_name()}"
            ch.pub_markers = self.create_publisher(MarkerArray, f"{out}/skeletons", depth)
            ch.pub_joints = self.create_publisher(PointCloud2, f"{out}/joints", depth)
            ch.pub_overlay = self.create_publisher(Image, f"{out}/overlay", self._image_qos)
            self._entities += [ch.pub_markers, ch.pub_joints, ch.pub_overlay]
            ch.images = StampBuffer(10)
            ch.sync = self._make_sync(
                [(CameraInfo, f"{ch.name}/camera_info", sensor_qos), (PointCloud2, f"{ch.name}/keypoints", sensor_qos)],
                on_frame=functools.partial(self._on_camera_frame, k), on_input=functools.partial(self._on_camera_input, k))
        self._start_worker(len(self.channels))

    def _toggle_channel_images(self, wanted: bool) -> None:
        for k, ch in enumerate(self.channels):
            if wanted and ch.image_sub is None:
                ch.image_sub = self.create_subscription(Image, f"{ch.name}/image", functools.partial(
                    self._on_camera_image, k), self._image_qos, callback_group=self._input_group)
                self._entities.append(ch.image_sub)
            elif not wanted and ch.image_sub is not None:
                self._entities.remove(ch.image_sub)
                self.destroy_subscription(ch.image_sub)
                ch.image_sub = None

    def _deactivate_channels(self) -> None:
        """Reset every camera's tracks and delete their markers (called holding ``_work_lock``)."""
        for ch in self.channels:
            gone = ch.pipeline.reset()
            if gone and ch.pub_markers is not None:
                ch.pub_markers.publish(delete_markers(self._header_like(), gone))
            ch.sync = ch.image_sub = ch.pub_markers = ch.pub_joints = ch.pub_overlay = None

    # ------------------------------------------------------------------ callbacks
    def _on_camera_input(self, k: int, index: int, msg, info) -> None:
        ch = self.channels[k]
        self._note_input(f"{ch.name}/{('camera_info', 'keypoints')[index]}", info)
        if ch.sync is not None:
            ch.sync.add(index, msg)

    def _on_camera_image(self, k: int, msg: Image) -> None:
        ch = self.channels[k]
        self.stats.arrived(f"{ch.name}/image")
        if ch.images is not None:
            ch.images.add(msg)

    def _on_camera_frame(self, k: int, info: CameraInfo, cloud: PointCloud2) -> None:
        self._enqueue(cloud.header, info, cloud, channel=k)

    def _process_batch(self, batch) -> None:
        """Worker: the oldest pending frame of each camera in ``batch`` [(k, (info, cloud))], one lifter call."""
        if getattr(self, "fusion", None) is not None:
            return self._process_fused(batch)
        start, items, clouds = time.perf_counter(), [], []
        for k, (info, cloud) in batch:
            ch = self.channels[k]
            try:
                items.append((k, (ch.pipeline, messages_to_frame(info, cloud, ch.pipeline.config.input_skeleton))))
                clouds.append(cloud)
            except FrameSkipped as skipped:
                self._skip(skipped)
        results = process_frames(self.pipeline.lifter, [item for _, item in items])
        lifetime, done = float(self.param("marker_lifetime")), 0
        for (k, _), cloud, result in zip(items, clouds, results):
            if isinstance(result, FrameSkipped):
                self._skip(result)
                continue
            ch = self.channels[k]
            self._note_result(result)
            outputs = result_to_messages(result, cloud.header, lifetime)
            ch.pub_markers.publish(outputs.markers)
            ch.pub_joints.publish(outputs.joints)
            self._publish_humans(result, cloud.header, ch.name)
            self.stats.count("skeletons_published", len(result.track_ids))
            if self.param("publish_overlay"):
                self._publish_overlay(result, cloud, ch.images, ch.pub_overlay)
            done += 1
        elapsed = time.perf_counter() - start
        for _ in range(done):
            self.stats.processed(elapsed)  # every frame of the tick waited for the whole tick

    def _skip(self, skipped: FrameSkipped) -> None:
        self.stats.skip(skipped.reason)
        self._warn(skipped.reason, f"frame skipped: {skipped}")

    def _camera_names(self) -> list[str]:
        return [str(c).rstrip("/") for c in self.param("cameras")]
