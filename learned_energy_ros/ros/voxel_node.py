"""Lifecycle node ``voxel_reconstructor``: image + CameraInfo -> occupancy of the object in view.

Callbacks only translate messages around one ``Reconstructor.reconstruct`` call.
The model is loaded in ``on_configure``; publishers, subscriptions and the
synchronizer live from ``on_activate`` to ``on_deactivate``. Overload policy
(``FrameWorker``): input callbacks only synchronize and queue; the oldest pending
frames are dropped and counted when images arrive faster than they are processed.
"""
from __future__ import annotations

import time

from rcl_interfaces.msg import SetParametersResult
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from visualization_msgs.msg import MarkerArray

from learned_energy_ros.ros.conversions import camera_info_to_camera, image_to_rgb
from learned_energy_ros.core.device import resolve_device
from learned_energy_ros.ros.diagnostics import FrameStats
from learned_energy_ros.ros.errors import ConversionError
from learned_energy_ros.ros.params import check_node_values
from learned_energy_ros.ros.voxel_io import result_to_messages
from learned_energy_ros.ros.voxel_params import VOXEL_PARAMETERS, check_values, roi_or_none
from learned_energy_ros.ros.image_node import ImageFrameNode
from learned_energy_ros.ros.worker import spin_lifecycle_node

__all__ = ["VoxelReconstructorNode", "main", "NODE_CLASS"]



class VoxelReconstructorNode(ImageFrameNode, LifecycleNode):
    """Managed node publishing frustum occupancy (cloud + CUBE_LIST) of the object in the image."""

    MODEL_ATTR = "reconstructor"

    def __init__(self, node_name: str = "voxel_reconstructor", **kwargs):
        super().__init__(node_name, **kwargs)
        self._declare_parameters(VOXEL_PARAMETERS)
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.stats = FrameStats()
        self.reconstructor = None
        self._init_worker()

    # ------------------------------------------------------------------ lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        from learned_energy_ros.vox.reconstructor import load_reconstructor  # heavy (torch): only when configuring
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

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        depth = int(self.param("qos_depth"))
        self.pub_cloud = self.create_publisher(PointCloud2, "~/occupancy", depth)
        self.pub_markers = self.create_publisher(MarkerArray, "~/occupancy_markers", depth)
        self._activate_image_inputs([self.pub_cloud, self.pub_markers])
        return super().on_activate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._destroy_entities()
        self.reconstructor = None  # frees the model (and its GPU memory)
        return TransitionCallbackReturn.SUCCESS

    # ------------------------------------------------------------------ callbacks
    def _process(self, image: Image, info: CameraInfo) -> None:
        from learned_energy_ros.vox.reconstructor import ReconstructionError
        start = time.perf_counter()
        frames = (image.header.frame_id, info.header.frame_id)
        if all(frames) and frames[0] != frames[1]:
            self.stats.skip("frame_id_mismatch")
            self._warn("frame_id_mismatch", f"frame skipped: image frame {frames[0]!r} != camera_info frame {frames[1]!r}")
            return
        try:
            rgb, camera = image_to_rgb(image), camera_info_to_camera(info)
            result = self.reconstructor.reconstruct(
                rgb, camera, roi=roi_or_none(self.param("roi")), near=self.param("near"), far=self.param("far"),
                steps=int(self.param("num_steps")) or None)
        except (ConversionError, ReconstructionError) as err:
            reason = "bad_camera_info" if "CameraInfo" in str(err) else "bad_image"
            self.stats.skip(reason)
            self._warn(reason, f"frame skipped: {err}")
            return
        header = image.header
        header.frame_id = info.header.frame_id or image.header.frame_id
        cloud, markers = result_to_messages(result, header, float(self.param("occupancy_threshold")),
                                            float(self.param("marker_lifetime")))
        self.pub_cloud.publish(cloud)
        self.pub_markers.publish(markers)
        self.stats.processed(time.perf_counter() - start)

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
