"""Lifecycle node ``pose_lifter``: keypoint cloud + CameraInfo (+ image) -> 3D skeletons.

Callbacks only translate messages (``pose_io``) around one ``PosePipeline.process``
call. The lifter is loaded in ``on_configure``; publishers, subscriptions and
the synchronizer live from ``on_activate`` to ``on_deactivate``.

Overload policy (``FrameWorker``): input callbacks only synchronize and queue;
when frames arrive faster than they are lifted the oldest pending ones are
dropped and counted, so latency stays bounded (docs/reliability.md). With
``cameras: [...]`` one node serves several cameras, lifting all their people in
one batched call per tick (``pose_cameras.py``); empty, it is the one-camera node.
"""
from __future__ import annotations

import time

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.exceptions import ParameterUninitializedException
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from visualization_msgs.msg import MarkerArray

from learned_energy_ros.pose.pipeline import FrameSkipped, PipelineConfig, PosePipeline
from learned_energy_ros.core.device import resolve_device
from learned_energy_ros.ros.diagnostics import FrameStats, to_diagnostic_array
from learned_energy_ros.ros.errors import ConversionError
from learned_energy_ros.ros.markers import delete_markers
from learned_energy_ros.ros.params import POSE_LIFTER_PARAMETERS, pipeline_settings, refusal_reason
from learned_energy_ros.ros.pose_cameras import MultiCameraMixin
from learned_energy_ros.ros.pose_fusion import FusionMixin
from learned_energy_ros.ros.pose_humans import HumanIOMixin
from learned_energy_ros.ros.pose_io import overlay_message, result_to_messages
from learned_energy_ros.ros.qos import qos_from_name
from learned_energy_ros.ros.sync import StampBuffer, header_stamp_ns
from learned_energy_ros.ros.worker import FrameWorker, spin_lifecycle_node

__all__ = ["PoseLifterNode", "main"]


class PoseLifterNode(HumanIOMixin, FusionMixin, MultiCameraMixin, FrameWorker, LifecycleNode):
    """Managed node lifting 2D keypoints to metric 3D skeletons in the camera optical frame."""

    def __init__(self, node_name: str = "pose_lifter", **kwargs):
        super().__init__(node_name, **kwargs)
        for name, (default, description, applies) in POSE_LIFTER_PARAMETERS.items():
            typed = Parameter.Type.STRING_ARRAY if default == [] else default  # [] alone would be a byte array
            self.declare_parameter(name, typed, ParameterDescriptor(
                description=f"{description} [change applies: {applies}]"))
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self.stats = FrameStats()
        self.pipeline: PosePipeline | None = None
        self.channels: list = []  # the cameras of the ``cameras`` mode (empty: one camera)
        self._entities: list = []
        self._sync = self._image_sub = None
        self._images = StampBuffer(10)
        self._init_worker()

    def param(self, name: str):
        try:
            return self.get_parameter(name).value
        except ParameterUninitializedException:  # an empty list in the YAML, or none given
            return POSE_LIFTER_PARAMETERS[name][0]

    # ------------------------------------------------------------------ lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        from learned_energy_ros.pose.lifter import load_lifter  # heavy (torch): only when configuring
        try:
            values = {k: self.param(k) for k in POSE_LIFTER_PARAMETERS}
            reason = refusal_reason(values)
            if reason:
                raise ValueError(reason)
            config = PipelineConfig(**pipeline_settings(values))
            device = resolve_device(self.param("device"), bool(self.param("device_fallback")),
                                    self.get_logger().warning)
            lifter = load_lifter(self.param("checkpoint"), device=device)
        except Exception as err:  # noqa: BLE001 (any load failure must fail the transition, not crash)
            self.get_logger().error(f"configure failed ({type(err).__name__}): {err}")
            return TransitionCallbackReturn.FAILURE
        self.pipeline = PosePipeline(lifter, config)
        self.channels, self.fusion = [], None
        if self.param("cameras"):
            self._make_channels(lifter, config)
        if self.param("fusion"):
            try:
                if not self.channels:
                    raise ValueError("fusion needs several cameras: set 'cameras' too")
                self._make_fusion(lifter, config)
            except ValueError as err:  # RigError is a ValueError: a missing, malformed or incomplete rig
                self.get_logger().error(f"configure failed: {err}")
                self.pipeline, self.channels = None, []
                return TransitionCallbackReturn.FAILURE
        self.get_logger().info(f"lifter {self.param('checkpoint')!r} on device {lifter.device} "
                               f"({lifter.num_steps} steps by default)")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        depth = int(self.param("qos_depth"))
        sensor, image = qos_from_name(self.param("sensor_qos"), depth), qos_from_name(self.param("image_qos"), depth)
        self.pub_markers = self.create_publisher(MarkerArray, "~/skeletons", depth)
        self.pub_joints = self.create_publisher(PointCloud2, "~/joints", depth)
        self.pub_overlay = self.create_publisher(Image, "~/overlay", image)
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", depth)
        self._entities = [self.pub_markers, self.pub_joints, self.pub_overlay, self.pub_diag]
        self._image_qos = image
        if self.channels:
            self._activate_channels(sensor, depth)
            self._activate_human_io(sensor)
        else:
            self._start_worker()
            if not self._activate_human_io(sensor):  # Skeleton2D input replaces the keypoint cloud
                self._make_sync([(CameraInfo, "camera_info", sensor), (PointCloud2, "keypoints", sensor)])
        self._toggle_image_input(bool(self.param("publish_overlay")))
        self._entities.append(self.create_timer(float(self.param("diagnostics_period")), self._publish_diagnostics))
        self.get_logger().info(f"active: sync {'message_filters' if self._mf else 'internal'}, "
                               f"slop {self.param('sync_slop')} s, sensor QoS {self.param('sensor_qos')}")
        return super().on_activate(state)

    def _toggle_image_input(self, wanted: bool) -> None:
        """Subscribe to images only while overlays are wanted (reliable images are expensive)."""
        if self.channels:
            return self._toggle_channel_images(wanted)
        if wanted and self._image_sub is None:
            self._image_sub = self.create_subscription(Image, "image", self._on_image, self._image_qos,
                                                       callback_group=self._input_group)
            self._entities.append(self._image_sub)
        elif not wanted and self._image_sub is not None:
            self._entities.remove(self._image_sub)
            self.destroy_subscription(self._image_sub)
            self._image_sub = None

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        with self._work_lock:  # waits for the frame being lifted; none starts after this
            self._stop_worker()
            if self.fusion is not None:
                gone = self.fusion.reset()
                if gone:
                    self.pub_markers.publish(delete_markers(self._header_like(), gone))
            if self.channels:
                self._deactivate_channels()
            elif self.pipeline is not None:
                gone = self.pipeline.reset()
                if gone:
                    self.pub_markers.publish(delete_markers(self._header_like(), gone))
            self._deactivate_human_io()
            self._destroy_entities()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._destroy_entities()
        self.pipeline = self.fusion = None  # frees the model (and its GPU memory)
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self.on_cleanup(state)

    def _destroy_entities(self) -> None:
        super()._destroy_entities()
        self._image_sub = None

    # ------------------------------------------------------------------ callbacks
    def _on_input(self, index: int, msg, info) -> None:
        self._note_input(("camera_info", "keypoints")[index], info)
        sync = self._sync
        if sync is not None:
            sync.add(index, msg)

    def _on_image(self, msg: Image) -> None:
        self.stats.arrived("image")
        self._images.add(msg)

    def _on_frame(self, info: CameraInfo, cloud: PointCloud2) -> None:
        """Synchronizer callback: queue the pair for the worker (``FrameWorker._enqueue``)."""
        self._enqueue(cloud.header, info, cloud)

    def _process(self, info: CameraInfo, cloud: PointCloud2) -> None:
        start = time.perf_counter()
        try:
            result = self.pipeline.process(self._frame_of(info, cloud))
        except FrameSkipped as skipped:
            self.stats.skip(skipped.reason)
            self._warn(skipped.reason, f"frame skipped: {skipped}")
            return
        self._note_result(result)
        outputs = result_to_messages(result, cloud.header, float(self.param("marker_lifetime")))
        self.pub_markers.publish(outputs.markers)
        self.pub_joints.publish(outputs.joints)
        self._publish_humans(result, cloud.header)
        self.stats.count("skeletons_published", len(result.track_ids))
        if self.param("publish_overlay"):
            self._publish_overlay(result, cloud, self._images, self.pub_overlay)
        self.stats.processed(time.perf_counter() - start)

    def _note_result(self, result) -> None:
        """Count and (rate-limited) log what the pipeline corrected or filtered in this frame."""
        for flag, key, text in ((result.frame_changed, "frame_id_changed", "camera frame_id changed: tracks reset"),
                                (result.time_jumped, "time_jump_reset", "stamp jumped back: tracks reset")):
            if flag:
                self.stats.count(key)
                self._warn(key, text)
        if result.clipped_scores:
            self.stats.count("clipped_scores", result.clipped_scores)
            self._warn("clipped_scores", f"{result.clipped_scores} keypoint scores outside [0, 1] clipped")
        if result.camera_changed:
            self.get_logger().info(f"camera changed, used from this frame on: {result.camera!r}")
        if result.rejected:
            self.stats.count("rejected_energy", len(result.rejected))
            self._warn("rejected_energy", f"tracks {result.rejected} above max_energy={self.param('max_energy')}")

    def _publish_overlay(self, result, cloud, images: StampBuffer, publisher) -> None:
        image = images.nearest(header_stamp_ns(cloud), float(self.param("sync_slop")))
        if image is None:
            return
        try:
            publisher.publish(overlay_message(result, image, self.pipeline.config.input_skeleton))
        except ConversionError as err:
            self.stats.skip("overlay_bad_image")
            self._warn("overlay_bad_image", f"no overlay: {err}")

    def _publish_diagnostics(self) -> None:
        prefixes = [f"{ch.name}/" for ch in self.channels] or [""]
        for prefix in prefixes:
            if self.stats.rate(f"{prefix}keypoints") > 0 and self.stats.rate(f"{prefix}camera_info") == 0:
                self.stats.count("no_camera_info")
                self._warn("no_camera_info", f"{prefix}keypoints arrive but no CameraInfo: nothing can be lifted")
        syncs = [s for s in self._syncs() if s is not None]
        if syncs and not self._mf:
            self.stats.counts["sync_dropped"] = sum(s.dropped for s in syncs)
        self.stats.counts["pending_frames"] = self._pending()
        array = to_diagnostic_array(
            self.stats, f"{self.get_name()}: pose lifter", self.get_fully_qualified_name(),
            self.get_clock().now().to_msg(),
            warn_topics=[f"{p}{t}" for p in prefixes for t in ("camera_info", "keypoints")])
        array.status.extend(self._fusion_statuses())
        self.pub_diag.publish(array)

    def _syncs(self) -> list:
        return [ch.sync for ch in self.channels] if self.channels else [self._sync]

    def _header_like(self):
        from std_msgs.msg import Header
        camera = self.pipeline.camera if self.pipeline is not None else None
        return Header(stamp=self.get_clock().now().to_msg(), frame_id=camera.frame_id if camera else "")

    # ------------------------------------------------------------------ parameters
    def _validate_parameters(self, params) -> SetParametersResult:
        reason = refusal_reason({p.name: p.value for p in params}, self.pipeline.config if self.pipeline else None)
        return SetParametersResult(successful=reason is None, reason=reason or "")

    def _apply_parameters(self, params) -> None:
        changes = {p.name: p.value for p in params}
        if self.pipeline is not None and pipeline_settings(changes):
            for pipeline in {id(p): p for p in [self.pipeline] + [ch.pipeline for ch in self.channels]}.values():
                pipeline.reconfigure(**pipeline_settings(changes))
            if self.fusion is not None:
                self.fusion.reconfigure(**pipeline_settings(changes))
        if self.fusion is not None and "fusion_steps" in changes:
            self.fusion.reconfigure_multiview(steps=int(changes["fusion_steps"]))
        for sync in self._syncs() if {"sync_slop", "sync_queue"} & set(changes) else []:
            if sync is None:
                continue
            if self._mf:  # message_filters reads these attributes on every message
                sync.slop = float(changes.get("sync_slop", sync.slop))
                sync.queue_size = int(changes.get("sync_queue", sync.queue_size))
            else:
                sync.set_params(changes.get("sync_queue"), changes.get("sync_slop"))
        if "publish_overlay" in changes and self._sync is not None:
            self._toggle_image_input(bool(changes["publish_overlay"]))
        if changes:
            self.get_logger().info(f"parameters changed: {changes}")


def main(args=None) -> None:
    """Run the node alone (``ros2 run learned_energy_ros pose_lifter``), autostarting when ``autostart``."""
    spin_lifecycle_node(PoseLifterNode, args)


if __name__ == "__main__":
    main()
