"""Fusion mode of the multi-camera ``pose_lifter`` (``cameras: [...]`` + ``fusion: true``).

The frames of all cameras that arrive within ``fusion_slop`` of each other are one instant: their people
are associated across cameras and each person is lifted once on the sum of the per-camera consistency
energies (``pose.fusion.FusionPipeline``), in the common frame of the extrinsics (a rig YAML, or tf2). The
fused skeletons go out on the node's own ``~/skeletons`` and ``~/joints`` (same message contract, ``frame_id``
= the common frame); people seen by one camera are published there too. ``/diagnostics`` gets one status per
camera with its running consistency energy, its excess over its own single-view fit, its weight, and a WARN
naming a camera that disagrees with the others (a bad or stale extrinsic).
"""
from __future__ import annotations

import time

import numpy as np

from learned_energy_ros.pose.fusion import FusionPipeline
from learned_energy_ros.pose.multiview import MultiViewConfig
from learned_energy_ros.pose.pipeline import FrameSkipped
from learned_energy_ros.core.rotations import quaternion_to_matrix
from learned_energy_ros.pose.rig import CameraPose, RigError, load_rig
from learned_energy_ros.ros.pose_io import messages_to_frame, result_to_messages

__all__ = ["FusionMixin", "tf_pose_source"]


def tf_pose_source(node, frame_id: str):
    """``(camera name, frame) -> CameraPose`` looking up each camera's optical frame in ``frame_id`` with tf2.

    Raises:
        RigError: tf2_ros is not importable (use an extrinsics YAML), or, per call, no transform is known.
    """
    try:
        import tf2_ros
        from rclpy.time import Time
    except ImportError:
        raise RigError("extrinsics: 'tf' needs tf2_ros, which is not importable here: give a camera rig YAML "
                       "instead (README, 'Several cameras, one skeleton')") from None
    buffer = tf2_ros.Buffer()
    node._tf_listener = tf2_ros.TransformListener(buffer, node)

    def pose_of(name: str, frame) -> CameraPose:
        child = frame.camera.frame_id
        try:
            tf = buffer.lookup_transform(frame_id, child, Time(nanoseconds=int(frame.stamp * 1e9)))
        except Exception as err:  # noqa: BLE001 (every tf2 lookup failure means: no pose for this frame)
            raise RigError(f"no transform {frame_id} <- {child!r} (camera {name}) at {frame.stamp:.3f}: {err}") from None
        r, t = tf.transform.rotation, tf.transform.translation
        translation = np.array([t.x, t.y, t.z])
        try:
            rotation = quaternion_to_matrix([r.x, r.y, r.z, r.w])  # normalized: tf2 tolerates slightly non-unit ones
        except ValueError as err:
            raise RigError(f"transform {frame_id} <- {child!r} (camera {name}): {err}") from None
        if not np.all(np.isfinite(translation)):
            raise RigError(f"transform {frame_id} <- {child!r} (camera {name}) has a non-finite translation")
        return CameraPose(rotation, translation)
    return pose_of


class FusionMixin:
    """Fusion mode of ``PoseLifterNode`` (before ``MultiCameraMixin`` in its bases)."""

    fusion: FusionPipeline | None = None

    def _make_fusion(self, lifter, config) -> None:
        """Build the fusion pipeline and its pose source (on_configure); raises RigError or ValueError."""
        source, frame = str(self.param("extrinsics")).strip(), str(self.param("fusion_frame")).strip()
        names = self._camera_names()
        if not source:
            raise RigError("fusion needs 'extrinsics': a camera rig YAML file or 'tf'")
        if source == "tf":
            if not frame:
                raise RigError("extrinsics 'tf' needs 'fusion_frame' (the common frame, e.g. world)")
            pose_of = tf_pose_source(self, frame)
        else:
            rig = load_rig(source)
            rig.require(names)
            if frame and frame != rig.frame_id:
                raise RigError(f"fusion_frame {frame!r} differs from the frame_id {rig.frame_id!r} of {source}")
            frame = rig.frame_id
            pose_of = lambda name, _frame: rig.pose(name)  # noqa: E731
        self.fusion = FusionPipeline(lifter, config, pose_of, frame, MultiViewConfig(steps=int(self.param("fusion_steps"))))
        self.get_logger().info(f"fusion of {names} in frame {frame!r} (extrinsics: {source})")

    def _process_pending(self) -> None:
        """Wait up to ``fusion_wait`` for every camera's frame of this instant, then process as usual."""
        if self.fusion is not None and self.worker_thread:
            deadline = time.monotonic() + float(self.param("fusion_wait"))
            while self._accepting and time.monotonic() < deadline and not all(len(q) for q in self._queues):
                time.sleep(0.002)
        super()._process_pending()

    def _process_fused(self, batch) -> None:
        """Worker: group the oldest frame of each camera by stamp and fuse each group (one publish per group)."""
        start, frames = time.perf_counter(), []
        for k, (info, cloud) in batch:
            try:
                frames.append((cloud.header, self.channels[k].name, messages_to_frame(
                    info, cloud, self.fusion.config.input_skeleton)))
            except FrameSkipped as skipped:
                self._skip(skipped)
        frames.sort(key=lambda f: f[2].stamp)
        slop, groups = float(self.param("fusion_slop")), []
        for item in frames:
            if groups and item[2].stamp - groups[-1][0][2].stamp <= slop:
                groups[-1].append(item)
            else:
                groups.append([item])
        for group in groups:
            self._publish_fused(group)
        elapsed = time.perf_counter() - start
        for _ in frames:
            self.stats.processed(elapsed)

    def _publish_fused(self, group) -> None:
        result = self.fusion.process([(name, frame) for _, name, frame in group])
        for name, skipped in result.skipped:
            self._skip(FrameSkipped(skipped.reason, f"{name}: {skipped}"))
        if result.rejected:
            self.stats.count("rejected_energy", len(result.rejected))
        header = type(group[-1][0])(stamp=group[-1][0].stamp, frame_id=result.frame_id)
        outputs = result_to_messages(result, header, float(self.param("marker_lifetime")))
        self.pub_markers.publish(outputs.markers)
        self.pub_joints.publish(outputs.joints)
        self._publish_humans(result, header)  # TF in the common frame
        self.stats.count("skeletons_published", len(result.track_ids))
        self.stats.count("skeletons_fused", int(np.count_nonzero(result.views >= 2)))

    def _fusion_statuses(self) -> list:
        """One DiagnosticStatus per camera of the fusion (consistency, excess, weight; WARN when it disagrees)."""
        from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
        if self.fusion is None:
            return []
        out = []
        for name, r in self.fusion.health.report().items():
            s = DiagnosticStatus(name=f"{self.get_name()}: camera {name}", hardware_id=name)
            s.level, s.message = DiagnosticStatus.OK, "agrees with the other cameras"
            if r["disagrees"]:
                s.level = DiagnosticStatus.WARN
                s.message = (f"camera {name} disagrees with the other cameras (consistency energy "
                             f"{r['consistency_energy']:.2f}, {r['excess_energy']:.2f} above its own fit): check its "
                             f"extrinsics; weight {r['weight']:.2f}")
            s.values = [KeyValue(key=k, value=f"{v:.4g}" if isinstance(v, float) else str(v)) for k, v in r.items()]
            out.append(s)
        return out
