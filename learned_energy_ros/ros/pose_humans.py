"""The pose node's ecosystem inputs and outputs: Skeleton2D and Detection2DArray in, TF and REP-155 out.

A mixin of ``PoseLifterNode`` (needs its ``FrameWorker``, ``stats`` and parameters):

* ``skeleton2d_input``: the 2D comes from a ROS4HRI body detector (``skeleton2d_input.py``)
  instead of the keypoint cloud; each image's skeletons are synchronized with
  ``camera_info`` like a cloud and mapped to ``input_skeleton`` by joint name;
* ``person_detections``: ``detections`` (vision_msgs/Detection2DArray) matched by stamp
  give persons their box's tracking id as an association hint;
* ``HumanOutputs`` (``humans.py``) publishes TF and the ``/humans/bodies`` topics.
"""
from __future__ import annotations

import functools

from learned_energy_ros.pose.box_hints import IdTable
from learned_energy_ros.pose.pipeline import FrameSkipped
from learned_energy_ros.ros.humans import HumanOutputs, missing_interfaces
from learned_energy_ros.ros.pose_io import apply_box_hints, group_to_frame, messages_to_frame
from learned_energy_ros.ros.sync import ApproximateTimeSynchronizer, StampBuffer, header_stamp_ns

__all__ = ["HumanIOMixin"]


class HumanIOMixin:
    """Skeleton2D / Detection2DArray inputs and TF / REP-155 outputs of ``PoseLifterNode``."""

    humans = skeleton_input = None
    _detections: StampBuffer | None = None

    def _activate_human_io(self, sensor_qos) -> bool:
        """Create the outputs and optional inputs (on_activate); True when Skeleton2D replaces the keypoint cloud."""
        self.humans = HumanOutputs(self)
        self._ids = IdTable()
        wants = {"skeleton2d_input": ("hri_msgs", bool(self.param("skeleton2d_input"))),
                 "person_detections": ("vision_msgs", bool(self.param("person_detections")))}
        enabled = {}
        for name, (package, wanted) in wants.items():
            if wanted and self.channels:
                self.get_logger().warning(f"{name} serves one camera only: ignored with cameras={self.param('cameras')}")
            elif wanted and missing_interfaces(package):
                self.get_logger().error(f"{name} needs {package}, which is not installed: ignored "
                                        "(scripts/env.sh builds it for pip installs)")
            enabled[name] = wanted and not self.channels and not missing_interfaces(package)
        if enabled["person_detections"]:
            from vision_msgs.msg import Detection2DArray
            self._detections = StampBuffer(10)
            self._entities.append(self.create_subscription(Detection2DArray, "detections", self._on_detections,
                                                           sensor_qos, callback_group=self._input_group))
        if not enabled["skeleton2d_input"]:
            return False
        from sensor_msgs.msg import CameraInfo
        from learned_energy_ros.ros.skeleton2d_input import Skeleton2DInput

        # camera_info (index 0) + one image's skeletons (index 1); the groups are made here, so no message_filters
        self._sync = ApproximateTimeSynchronizer(2, int(self.param("sync_queue")), float(self.param("sync_slop")),
                                                 self._on_frame)
        self._mf = False
        self._entities.append(self.create_subscription(CameraInfo, "camera_info", functools.partial(self._on_input, 0),
                                                       sensor_qos, callback_group=self._input_group))
        self.skeleton_input = Skeleton2DInput(self, str(self.param("skeleton2d_input")), self._on_group, sensor_qos,
                                              self._input_group)
        return True

    def _deactivate_human_io(self) -> None:
        for part in (self.humans, self.skeleton_input):
            if part is not None:
                part.close()
        self.humans = self.skeleton_input = self._detections = None

    def _on_group(self, group) -> None:
        self.stats.arrived("keypoints")
        sync = self._sync
        if sync is not None:
            sync.add(1, group)

    def _on_detections(self, msg) -> None:
        self.stats.arrived("detections")
        if self._detections is not None:
            self._detections.add(msg)

    def _frame_of(self, info, msg):
        """The ``KeypointFrame`` of a synchronized pair (keypoint cloud or Skeleton2D group), with box hints."""
        skeleton = self.pipeline.config.input_skeleton
        if self.skeleton_input is not None:
            frame = group_to_frame(info, msg, skeleton, self._ids)
        else:
            frame = messages_to_frame(info, msg, skeleton)
        boxes = self._detections.nearest(header_stamp_ns(msg), float(self.param("sync_slop"))) \
            if self._detections is not None else None
        if boxes is not None:
            try:
                self.stats.count("box_hints", apply_box_hints(frame, boxes, list(self.param("person_classes")), self._ids))
            except FrameSkipped as bad:  # the boxes are only hints: a malformed one must not cost the frame
                self.stats.count(bad.reason)
                self._warn(bad.reason, f"box hints ignored: {bad}")
        return frame

    def _publish_humans(self, result, header, camera: str = "") -> None:
        if self.humans is not None:
            self.humans.publish(result, header, camera)

