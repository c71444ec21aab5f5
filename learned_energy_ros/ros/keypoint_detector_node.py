"""Lifecycle node ``keypoint_detector``: image + CameraInfo -> keypoint cloud (``mediapipe33``) of every person.

Callbacks only translate messages around one ``KeypointDetector.detect`` call.
The model is loaded in ``on_configure``; publishers, subscriptions and the
synchronizer live from ``on_activate`` to ``on_deactivate``. The cloud keeps
the image's stamp and the camera's frame_id, so ``pose_lifter`` (with
``input_skeleton: mediapipe33``) synchronizes it with the same CameraInfo.
Bad images (unknown encoding, zero size, size unlike the CameraInfo) are
skipped with a warning and counted in ``/diagnostics``.
"""
from __future__ import annotations

import time

from rcl_interfaces.msg import SetParametersResult
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header

from learned_energy_ros.detect.detector import DetectorError, KeypointDetector
from learned_energy_ros.ros.clouds import keypoints_to_cloud
from learned_energy_ros.ros.detector_params import CONFIG_KEYS, DETECTOR_PARAMETERS, detector_config
from learned_energy_ros.core.device import resolve_device
from learned_energy_ros.ros.diagnostics import FrameStats
from learned_energy_ros.ros.errors import ConversionError
from learned_energy_ros.ros.images import image_to_rgb, rgb_to_image
from learned_energy_ros.ros.params import check_node_values
from learned_energy_ros.ros.qos import qos_from_name
from learned_energy_ros.ros.image_node import ImageFrameNode
from learned_energy_ros.ros.worker import spin_lifecycle_node

__all__ = ["KeypointDetectorNode", "main", "NODE_CLASS"]



class KeypointDetectorNode(ImageFrameNode, LifecycleNode):
    """Managed node publishing the 2D keypoints of every person in the image as a keypoint cloud."""

    MODEL_ATTR = "detector"

    def __init__(self, node_name: str = "keypoint_detector", **kwargs):
        super().__init__(node_name, **kwargs)
        self._declare_parameters(DETECTOR_PARAMETERS)
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)
        self.stats = FrameStats()
        self.detector: KeypointDetector | None = None
        self._init_worker()

    # ------------------------------------------------------------------ lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            from learned_energy_ros.detect.mediapipe_backend import MediaPipePose
            config = detector_config({k: self.param(k) for k in DETECTOR_PARAMETERS})
            device = resolve_device(self.param("device"), bool(self.param("device_fallback")), self.get_logger().warning)
            if device.type != "cpu":
                self.get_logger().warning(f"device {device!r}: the MediaPipe Python wheel has no GPU path; using the CPU")
            backend = MediaPipePose(float(self.param("min_detection_score")))
        except Exception as err:  # noqa: BLE001 (any load failure must fail the transition, not crash)
            self.get_logger().error(f"configure failed ({type(err).__name__}): {err}")
            return TransitionCallbackReturn.FAILURE
        self.detector = KeypointDetector(backend, config)
        self.get_logger().info(f"keypoint detector {self.param('backend')!r} ({self.detector.layout}), "
                               f"up to {config.max_persons} people, tiles {config.tiles}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        depth = int(self.param("qos_depth"))
        self.pub_keypoints = self.create_publisher(PointCloud2, "keypoints", depth)
        self.pub_overlay = self.create_publisher(Image, "~/overlay", qos_from_name(self.param("image_qos"), depth))
        self._activate_image_inputs([self.pub_keypoints, self.pub_overlay])
        return super().on_activate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._destroy_entities()
        if self.detector is not None:
            self.detector.close()
        self.detector = None
        return TransitionCallbackReturn.SUCCESS

    # ------------------------------------------------------------------ callbacks
    def _process(self, image: Image, info: CameraInfo) -> None:
        start = time.perf_counter()
        reason, why = _mismatch(image, info)
        if reason is None:
            try:
                rgb = image_to_rgb(image)
                found = self.detector.detect(rgb)
            except (ConversionError, DetectorError) as err:
                reason, why = "bad_image", str(err)
        if reason is not None:
            self.stats.skip(reason)
            self._warn(reason, f"frame skipped: {why}")
            return
        header = Header(stamp=image.header.stamp, frame_id=info.header.frame_id or image.header.frame_id)
        self.pub_keypoints.publish(keypoints_to_cloud(header, found.keypoints, found.scores, found.ids))
        self.stats.count("people_detected", len(found))
        if self.param("publish_overlay"):
            from learned_energy_ros.detect.draw import draw_detections
            self.pub_overlay.publish(rgb_to_image(draw_detections(rgb, found), header, "bgr8"))
        self.stats.processed(time.perf_counter() - start)

    def _publish_diagnostics(self) -> None:
        self._publish_worker_diagnostics("keypoint detector")

    # ------------------------------------------------------------------ parameters
    def _validate_parameters(self, params) -> SetParametersResult:
        changes = {p.name: p.value for p in params}
        refusal = self._late_refusal(changes, DETECTOR_PARAMETERS)
        if refusal is not None:
            return SetParametersResult(successful=False, reason=refusal)
        current = {k: self.param(k) for k in DETECTOR_PARAMETERS if self.has_parameter(k)}
        try:
            detector_config({**current, **changes})
            check_node_values(changes)
        except (ValueError, TypeError) as err:
            return SetParametersResult(successful=False, reason=str(err))
        return SetParametersResult(successful=True)

    def _apply_parameters(self, params) -> None:
        changes = {p.name: p.value for p in params}
        if self.detector is not None and set(CONFIG_KEYS) & set(changes):
            self.detector.config = detector_config({k: self.param(k) for k in DETECTOR_PARAMETERS})
            self.detector.tracker.min_iou = self.detector.config.track_iou
        self._apply_sync_slop(changes)


def _mismatch(image, info) -> tuple[str | None, str]:
    """(reason, text) when the image cannot belong to the CameraInfo, else (None, "")."""
    frames = (image.header.frame_id, info.header.frame_id)
    if all(frames) and frames[0] != frames[1]:
        return "frame_id_mismatch", f"image frame {frames[0]!r} != camera_info frame {frames[1]!r}"
    if info.width and info.height and (image.width, image.height) != (info.width, info.height):
        return "size_mismatch", (f"image is {image.width}x{image.height} but camera_info says "
                                 f"{info.width}x{info.height}")
    return None, ""


NODE_CLASS = KeypointDetectorNode


def main(args=None) -> None:
    """Run the node alone (``ros2 run learned_energy_ros keypoint_detector``), autostarting when ``autostart``."""
    spin_lifecycle_node(KeypointDetectorNode, args)


if __name__ == "__main__":
    main()
