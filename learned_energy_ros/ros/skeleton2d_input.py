"""2D input from a ROS4HRI body detector: per-body ``hri_msgs/Skeleton2D`` topics, gathered per image.

A REP-155 detector (e.g. hri_fullbody) publishes ``<ns>/tracked`` (IdsList) and, per
body, ``<ns>/<id>/skeleton2d`` stamped with the image. ``Skeleton2DInput`` follows
the tracked list (one subscription per listed body) and ``SkeletonGroups`` gathers the
skeletons of one stamp into a ``BodyGroup``, the equivalent of one keypoint cloud: it
is complete when every tracked body has sent its skeleton of that stamp, or when a
newer stamp shows the rest will not come.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learned_energy_ros.ros.sync import header_stamp_ns

__all__ = ["BodyGroup", "SkeletonGroups", "Skeleton2DInput"]


@dataclass
class BodyGroup:
    """The Skeleton2D messages of one image: ``header`` (the first one's), body ``ids`` and their messages."""

    header: object
    ids: list
    msgs: list


class SkeletonGroups:
    """Gather per-body messages by exact stamp; emit groups in stamp order (no rclpy: testable without spinning).

    Args:
        max_pending: stamps kept waiting for missing bodies; older ones are emitted as they are.
    """

    def __init__(self, max_pending: int = 5):
        self.expected: set[str] = set()
        self.pending: dict[int, dict[str, object]] = {}
        self.max_pending = max_pending
        self.last_emitted = -1

    def add(self, body: str, msg) -> list[BodyGroup]:
        """File ``msg`` of ``body``; return the groups now complete, oldest first."""
        stamp = header_stamp_ns(msg)
        if stamp <= self.last_emitted:
            return []  # that image was already handed on
        self.pending.setdefault(stamp, {})[body] = msg
        ready = [t for t in self.pending if t < stamp]  # a newer stamp: older ones are as complete as they get
        if self.expected and self.expected <= set(self.pending[stamp]):
            ready.append(stamp)
        ready += sorted(self.pending)[:max(len(self.pending) - self.max_pending, 0)]
        return self._emit(sorted(set(ready)))

    def _emit(self, stamps) -> list[BodyGroup]:
        out = []
        for t in stamps:
            bodies = self.pending.pop(t)
            ids = sorted(bodies)
            out.append(BodyGroup(bodies[ids[0]].header, ids, [bodies[i] for i in ids]))
            self.last_emitted = max(self.last_emitted, t)
        return out


class Skeleton2DInput:
    """Subscriptions that follow a REP-155 body namespace and hand each complete group to ``on_group``.

    Args:
        node: the node that owns the subscriptions.
        namespace: the detector's body namespace, e.g. ``/humans/bodies``.
        on_group: called with each ``BodyGroup`` (on the executor thread).
        qos: QoS of the subscriptions.
        callback_group: the node's input callback group.
    """

    def __init__(self, node, namespace: str, on_group, qos, callback_group=None):
        from hri_msgs.msg import IdsList

        self.node, self.ns, self.on_group, self.qos, self.group = node, namespace.rstrip("/"), on_group, qos, callback_group
        self.groups = SkeletonGroups()
        self.subs: dict[str, object] = {}
        self.tracked_sub = node.create_subscription(IdsList, f"{self.ns}/tracked", self._on_tracked, qos,
                                                    callback_group=callback_group)

    def _on_tracked(self, msg) -> None:
        from hri_msgs.msg import Skeleton2D

        ids = {i for i in msg.ids if i}
        for gone in set(self.subs) - ids:
            self.node.destroy_subscription(self.subs.pop(gone))
        for new in sorted(ids - set(self.subs)):
            try:
                self.subs[new] = self.node.create_subscription(
                    Skeleton2D, f"{self.ns}/{new}/skeleton2d", lambda m, body=new: self._on_skeleton(body, m),
                    self.qos, callback_group=self.group)
            except Exception as err:  # noqa: BLE001 (an id that is no valid topic token: skip it, keep the rest)
                self.node._warn("bad_body_id", f"cannot follow body {new!r}: {err}")
        self.groups.expected = set(self.subs)

    def _on_skeleton(self, body: str, msg) -> None:
        self.node.stats.arrived("skeleton2d")
        for group in self.groups.add(body, msg):
            self.on_group(group)

    def close(self) -> None:
        for sub in [self.tracked_sub, *self.subs.values()]:
            self.node.destroy_subscription(sub)
        self.subs.clear()


def group_points(group: BodyGroup) -> np.ndarray:
    """(N, 18, 3) normalized points of a group (``hri_io.skeleton2d_to_points``; raises ``ConversionError``)."""
    from learned_energy_ros.ros.hri_io import skeleton2d_to_points

    return np.stack([skeleton2d_to_points(m) for m in group.msgs]) if group.msgs else np.zeros((0, 18, 3))
