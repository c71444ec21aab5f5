"""Lifecycle node ``voxel_reconstructor``: image + CameraInfo (+ object boxes) -> occupancy of the objects in view.

Callbacks only translate messages around one ``reconstruct_objects`` call (and one
``project_to_grid`` for the occupancy grid). The model is loaded in ``on_configure``;
publishers, subscriptions, the TF listener and the synchronizer live from
``on_activate`` to ``on_deactivate``. Overload policy (``FrameWorker``): input
callbacks only synchronize and queue; the oldest pending frames are dropped and
counted when images arrive faster than they are processed.

Optional interfaces: ``vision_msgs`` (boxes in, ``use_detections``), ``tf2_ros``
(the support plane from TF, ``plane_frame``) and ``nav_msgs`` (``~/occupancy_grid``).
Without one, its feature is off and the node says why in its log.
"""
from __future__ import annotations

import time

from rcl_interfaces.msg import SetParametersResult
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from learned_energy_ros.ros.conversions import camera_info_to_camera, image_to_rgb
from learned_energy_ros.core.device import resolve_device
from learned_energy_ros.ros.diagnostics import FrameStats
from learned_energy_ros.ros.errors import ConversionError
from learned_energy_ros.ros.params import check_node_values
from learned_energy_ros.ros.voxel_io import detections_to_boxes, grid_to_message, objects_to_messages, transform_to_plane
from learned_energy_ros.ros.voxel_params import (VOXEL_PARAMETERS, check_values, grid_spec, placement_config,
                                                 plane_from_parameters, roi_or_none)
from learned_energy_ros.ros.image_node import ImageFrameNode
from learned_energy_ros.ros.worker import spin_lifecycle_node

__all__ = ["VoxelReconstructorNode", "main", "NODE_CLASS"]


class VoxelReconstructorNode(ImageFrameNode, LifecycleNode):
    """Managed node publishing frustum occupancy (cloud + CUBE_LISTs) of the objects in the image and its ground grid."""

    MODEL_ATTR = "reconstructor"

    def __init__(self, node_name: str = "voxel_reconstructor", **kwargs):
        super().__init__(node_name, **kwargs)
        self._declare_parameters(VOXEL_PARAMETERS)
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.stats = FrameStats()
        self.reconstructor = None
        self._detection_type = self._grid_type = self._tf = self._tf_listener = None
        self._tf_errors: tuple = ()
        self.pub_grid = None
        self._init_worker()

    def values(self) -> dict:
        """Current value of every parameter of the table."""
        return {name: self.param(name) for name in VOXEL_PARAMETERS}

    # ------------------------------------------------------------------ lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        from learned_energy_ros.vox.reconstructor import load_reconstructor  # heavy (torch): only when configuring
        try:
            check_values(self.values())
            self._import_interfaces()
        except (ValueError, TypeError, ImportError) as err:
            self.get_logger().error(f"configure failed: {err}")
            return TransitionCallbackReturn.FAILURE
        checkpoint, resolution = self.param("checkpoint"), int(self.param("resolution"))
        if checkpoint == "default" and resolution > 0:
            checkpoint = f"voxel_ige_{resolution}"
        try:
            if checkpoint.startswith("voxel_ige_"):
                from learned_energy_ros.vox.checkpoint import resolve_checkpoint
                checkpoint = str(resolve_checkpoint("default").with_name(f"{checkpoint}.pt"))
            device = resolve_device(self.param("device"), bool(self.param("device_fallback")),
                                    self.get_logger().warning)
            self.reconstructor = load_reconstructor(checkpoint, device)
        except Exception as err:  # noqa: BLE001 (any load failure must fail the transition, not crash)
            self.get_logger().error(f"configure failed ({type(err).__name__}): {err}")
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info(f"voxel model {checkpoint!r}: {self.reconstructor.resolution}^3 on "
                               f"{self.reconstructor.device}")
        return TransitionCallbackReturn.SUCCESS

    def _import_interfaces(self) -> None:
        """Import the optional message packages the parameters ask for; ImportError when TF is asked for but absent."""
        log = self.get_logger()
        self._detection_type = None
        if self.param("use_detections"):
            try:
                from vision_msgs.msg import Detection2DArray
                self._detection_type = Detection2DArray
            except ImportError as err:
                log.warning(f"use_detections: vision_msgs is not importable ({err}); reconstructing roi instead")
        try:
            from nav_msgs.msg import OccupancyGrid
            self._grid_type = OccupancyGrid
        except ImportError as err:
            self._grid_type = None
            log.warning(f"nav_msgs is not importable ({err}): ~/occupancy_grid is not published")
        if self.param("plane_frame"):
            try:
                import tf2_ros
            except ImportError as err:
                raise ImportError(f"plane_frame={self.param('plane_frame')!r} needs tf2_ros, which is not importable "
                                  f"({err}); set camera_height and camera_pitch or support_plane instead") from None
            self._tf_errors = (tf2_ros.TransformException,)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        depth = int(self.param("qos_depth"))
        self.pub_cloud = self.create_publisher(PointCloud2, "~/occupancy", depth)
        self.pub_markers = self.create_publisher(MarkerArray, "~/occupancy_markers", depth)
        publishers = [self.pub_cloud, self.pub_markers]
        if self._grid_type is not None:
            self.pub_grid = self.create_publisher(self._grid_type, "~/occupancy_grid", depth)
            publishers.append(self.pub_grid)
        if self.param("plane_frame"):
            from tf2_ros import Buffer, TransformListener
            self._tf = Buffer()
            self._tf_listener = TransformListener(self._tf, self)
        extra = [(self._detection_type, "detections")] if self._detection_type is not None else []
        self._activate_image_inputs(publishers, extra)
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        result = super().on_deactivate(state)
        if self._tf_listener is not None:
            self._tf_listener.unregister()
        self._tf = self._tf_listener = self.pub_grid = None
        return result

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._destroy_entities()
        self.reconstructor = None  # frees the model (and its GPU memory)
        return TransitionCallbackReturn.SUCCESS

    # ------------------------------------------------------------------ callbacks
    def _process(self, image: Image, info: CameraInfo, detections=None) -> None:
        from learned_energy_ros.vox.objects import ObjectBox, PlacementConfig, reconstruct_objects
        from learned_energy_ros.vox.reconstructor import ReconstructionError
        start = time.perf_counter()
        frames = {image.header.frame_id, info.header.frame_id} | ({detections.header.frame_id} if detections else set())
        if len(frames - {""}) > 1:
            self._skip("frame_id_mismatch", f"frame skipped: image, camera_info (and detections) frames differ: "
                                            f"{sorted(frames)}")
            return
        values = self.values()
        header = image.header
        header.frame_id = info.header.frame_id or image.header.frame_id
        try:
            rgb, camera = image_to_rgb(image), camera_info_to_camera(info)
            plane = self._plane(header, values)
        except ConversionError as err:
            reason = "bad_camera_info" if "CameraInfo" in str(err) else "bad_image"
            self._skip(reason, f"frame skipped: {err}")
            return
        except (ValueError, *self._tf_errors) as err:
            source = f"TF {values['plane_frame']!r} <- {header.frame_id!r}" if values["plane_frame"] else "parameters"
            self._skip("no_support_plane", f"frame skipped: no usable support plane ({source}): {err}")
            return
        if detections is not None:
            boxes, bad = detections_to_boxes(detections)
            config = placement_config(values)
        else:
            boxes, bad = [ObjectBox(roi_or_none(values["roi"]))], []
            config = PlacementConfig(max_objects=1)  # the roi frames the object as it is
        try:
            scene = reconstruct_objects(self.reconstructor, rgb, camera, boxes, plane, config, values["near"],
                                        values["far"], int(values["num_steps"]) or None)
        except ReconstructionError as err:
            self._skip("bad_image", f"frame skipped: {err}")
            return
        self._note_skipped_objects(bad + [(b.index, why) for b, why in scene.skipped])
        threshold = float(values["occupancy_threshold"])
        cloud, markers = objects_to_messages([(o.result, o.box.class_id, o.box.index) for o in scene.objects],
                                             header, threshold, float(values["marker_lifetime"]))
        self.pub_cloud.publish(cloud)
        self.pub_markers.publish(markers)
        if plane is not None and self.pub_grid is not None and values["publish_grid"]:
            self._publish_grid(scene, plane, header, values, threshold)
        self.stats.processed(time.perf_counter() - start)

    def _plane(self, header, values):
        """The support plane at this frame (TF, parameters or None); ValueError or a TF error when unusable."""
        if not values["plane_frame"]:
            return plane_from_parameters(values)
        from rclpy.time import Time
        stamped = self._tf.lookup_transform(values["plane_frame"], header.frame_id, Time.from_msg(header.stamp))
        return transform_to_plane(stamped.transform)

    def _publish_grid(self, scene, plane, header, values, threshold: float) -> None:
        from learned_energy_ros.vox.ground_grid import project_to_grid
        spec = grid_spec(values)
        cells = project_to_grid([o.result for o in scene.objects], plane.rotation, plane.translation, spec, threshold)
        if values["plane_frame"]:  # in the plane frame itself
            self.pub_grid.publish(grid_to_message(cells, spec, Header(stamp=header.stamp, frame_id=values["plane_frame"])))
        else:  # in the optical frame, its origin pose lying in the plane
            self.pub_grid.publish(grid_to_message(cells, spec, header, plane))

    def _skip(self, reason: str, text: str) -> None:
        self.stats.skip(reason)
        self._warn(reason, text)

    def _note_skipped_objects(self, skipped) -> None:
        """Count boxes left out of a processed frame and say why (rate-limited)."""
        if skipped:
            self.stats.count("objects_skipped", len(skipped))
            self._warn("object_skipped", "boxes skipped: " + "; ".join(f"#{i}: {why}" for i, why in skipped))

    def _publish_diagnostics(self) -> None:
        self._publish_worker_diagnostics("voxel reconstructor")

    # ------------------------------------------------------------------ parameters
    def _validate_parameters(self, params) -> SetParametersResult:
        changes = {p.name: p.value for p in params}
        refusal = self._late_refusal(changes, VOXEL_PARAMETERS)
        if refusal is not None:
            return SetParametersResult(successful=False, reason=refusal)
        current = {k: (self.param(k) if self.has_parameter(k) else VOXEL_PARAMETERS[k][0]) for k in VOXEL_PARAMETERS}
        try:
            check_values({**current, **changes})
            check_node_values(changes)
        except (ValueError, TypeError) as err:
            return SetParametersResult(successful=False, reason=str(err))
        self._apply_sync_slop(changes)
        return SetParametersResult(successful=True)


NODE_CLASS = VoxelReconstructorNode


def main(args=None) -> None:
    """Run the node alone (``ros2 run learned_energy_ros voxel_reconstructor``), autostarting when ``autostart``."""
    spin_lifecycle_node(VoxelReconstructorNode, args)


if __name__ == "__main__":
    main()
