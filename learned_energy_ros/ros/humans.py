"""The pose node's REP-155 outputs: TF frames per person and joint, ``/humans/bodies/...`` topics.

``HumanOutputs.publish(result, header)`` is called once per lifted frame (and per camera
in the ``cameras`` mode). It publishes

* TF: ``body_<id>`` (parent: the camera optical frame of ``header``) and ``<joint>_<id>``
  (parent: ``body_<id>``) at the input stamp (``pose/body_frames.py``), through tf2_ros'
  ``TransformBroadcaster`` when importable, else as ``tf2_msgs/TFMessage`` on ``/tf``;
* with hri_msgs: ``<ns>/tracked`` (IdsList), ``<ns>/<id>/skeleton2d`` and ``<ns>/<id>/roi``,
  the per-body publishers living as long as the track (fused skeletons of several cameras have
  no single 2D: TF and ``tracked`` only).

Whatever is missing (tf2_msgs, hri_msgs, a frame_id) disables that part with one logged reason.
"""
from __future__ import annotations

import importlib.util
import time

from learned_energy_ros.pose.body_frames import body_frames
from learned_energy_ros.ros.body_tf import body_id, body_transforms, tf_message_cdr, transform_messages
from learned_energy_ros.ros.errors import ConversionError

__all__ = ["HumanOutputs", "missing_interfaces"]

_TF_DEPTH = 100  # tf2_ros' broadcaster QoS: reliable, volatile, depth 100


def missing_interfaces(*packages: str) -> list[str]:
    """The interface packages among ``packages`` that cannot be imported."""
    return [p for p in packages if importlib.util.find_spec(p) is None]


class HumanOutputs:
    """TF and REP-155 publishing of one pose node (all its cameras).

    Args:
        node: the ``PoseLifterNode`` (for publishers, parameters and its rate-limited ``_warn``).
    """

    def __init__(self, node):
        self.node = node
        self.ns = str(node.param("hri_namespace")).rstrip("/")
        self.prefix = str(node.param("body_id_prefix"))
        self.bodies: dict[str, tuple] = {}  # body id -> (skeleton2d publisher, roi publisher)
        self.tracked: dict[str, tuple[float, list[str]]] = {}  # camera -> (monotonic time, ids of its last frame)
        self.broadcaster = self.pub_tf = self.pub_tracked = None
        self.tf_missing = missing_interfaces("tf2_msgs")
        self.hri_missing = missing_interfaces("hri_msgs")
        for what, missing in (("TF frames", self.tf_missing), ("REP-155 /humans topics", self.hri_missing)):
            if missing:
                node.get_logger().warning(f"{what} disabled: {missing} not installed (scripts/env.sh builds them "
                                          "for pip installs; needs gcc, g++, make)")
        if not self.tf_missing:
            try:
                from tf2_ros import TransformBroadcaster
                self.broadcaster = TransformBroadcaster(node, qos=_TF_DEPTH)
            except ImportError:  # pip install: no tf2_ros, publish /tf ourselves
                from tf2_msgs.msg import TFMessage
                self.pub_tf = node.create_publisher(TFMessage, "/tf", _TF_DEPTH)
        if not self.hri_missing:
            from hri_msgs.msg import IdsList
            self.pub_tracked = node.create_publisher(IdsList, f"{self.ns}/tracked", int(node.param("qos_depth")))

    def publish(self, result, header, camera: str = "") -> None:
        """Publish one frame's people (``FrameResult``) with the input ``header``; ``camera``: its name in multi-camera mode."""
        ids = [body_id(t, self.prefix, camera) for t in result.track_ids]
        if len(ids) and (self.broadcaster or self.pub_tf) and self.node.param("publish_tf"):
            self._publish_tf(result, header, ids)
        if self.pub_tracked is not None and self.node.param("publish_hri"):
            self._publish_hri(result, header, ids, camera)
        for gone in result.vanished:
            self._drop(body_id(gone, self.prefix, camera))

    def _publish_tf(self, result, header, ids) -> None:
        if not header.frame_id:
            self.node._warn("tf_no_frame", "no TF frames: the input header has no frame_id to parent them to")
            return
        transforms = body_transforms(header.frame_id, body_frames(result.joints, result.skeleton), ids)
        if self.broadcaster is not None:
            self.broadcaster.sendTransform(transform_messages(header.stamp, transforms))
        else:
            self.pub_tf.publish(tf_message_cdr((header.stamp.sec, header.stamp.nanosec), transforms))

    def _publish_hri(self, result, header, ids, camera: str) -> None:
        from learned_energy_ros.ros.hri_io import ids_message, roi_message, skeleton2d_message

        keypoints = getattr(result, "keypoints", None)  # a fused result (several cameras) has no one 2D
        size = (int(result.camera.width), int(result.camera.height)) if keypoints is not None else None
        skeleton = self.node.pipeline.config.input_skeleton
        for n, bid in enumerate(ids if keypoints is not None else ()):
            pubs = self.bodies.get(bid) or self._make_body(bid)
            try:
                pubs[0].publish(skeleton2d_message(header, result.keypoints[n], result.scores[n], skeleton, *size))
                pubs[1].publish(roi_message(header, result.keypoints[n], result.scores[n], *size))
            except ConversionError as err:
                self.node._warn("hri_output", f"body {bid}: {err}")
        now = time.monotonic()
        self.tracked[camera] = (now, ids)
        timeout = float(self.node.param("track_timeout"))  # a camera that stopped sending: its people are gone
        self.tracked = {cam: seen for cam, seen in self.tracked.items() if now - seen[0] <= timeout}
        self.pub_tracked.publish(ids_message(header, [i for _, group in self.tracked.values() for i in group]))

    def _make_body(self, bid: str) -> tuple:
        from hri_msgs.msg import NormalizedRegionOfInterest2D, Skeleton2D

        depth = int(self.node.param("qos_depth"))
        pubs = (self.node.create_publisher(Skeleton2D, f"{self.ns}/{bid}/skeleton2d", depth),
                self.node.create_publisher(NormalizedRegionOfInterest2D, f"{self.ns}/{bid}/roi", depth))
        self.bodies[bid] = pubs
        return pubs

    def _drop(self, bid: str) -> None:
        for pub in self.bodies.pop(bid, ()):
            self.node.destroy_publisher(pub)

    def close(self) -> None:
        """Destroy every publisher (on deactivate); a later activation makes new ones."""
        for bid in list(self.bodies):
            self._drop(bid)
        for pub in (self.pub_tf, self.pub_tracked, getattr(self.broadcaster, "pub_tf", None)):
            if pub is not None:
                self.node.destroy_publisher(pub)
        self.broadcaster = self.pub_tf = self.pub_tracked = None
