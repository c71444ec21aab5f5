"""REP-155 TF frames of tracked people: ``body_<id>`` in the camera frame, ``<joint>_<id>`` in it.

``body_transforms`` lists what to broadcast (ROS-free data); ``tf_message_cdr`` writes
it straight to a serialized ``tf2_msgs/TFMessage`` (what the node publishes on ``/tf``
without tf2_ros: 10 people are 180 transforms, and building them as rclpy message
objects costs milliseconds, like the markers of ``marker_cdr.py``);
``transform_messages`` gives ``geometry_msgs/TransformStamped`` objects for
tf2_ros' ``TransformBroadcaster``. Both come from the same list, and a test checks
the bytes deserialize to the same messages.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from learned_energy_ros.pose.body_frames import BodyFrames

__all__ = ["Transform", "body_id", "body_transforms", "tf_message_cdr", "transform_messages", "ID_PREFIX_PATTERN"]

#: A body id must start with a letter: it is a token of topic names (``/humans/bodies/<id>/roi``).
ID_PREFIX_PATTERN = r"[A-Za-z][A-Za-z0-9_]*"
_U32, _STAMP, _POSE = struct.Struct("<I"), struct.Struct("<iI"), struct.Struct("<7d")


@dataclass(frozen=True)
class Transform:
    """One TF edge: ``child`` in ``parent`` at ``translation`` (3,) m, ``rotation`` (x, y, z, w)."""

    parent: str
    child: str
    translation: tuple
    rotation: tuple


def body_id(track_id: int, prefix: str = "b", camera: str = "") -> str:
    """The REP-155 id of a track: ``<prefix><track>``, ``<camera>_<prefix><track>`` for one camera of several."""
    own = f"{prefix}{int(track_id)}"
    return f"{re.sub(r'[^A-Za-z0-9_]', '_', camera.strip('/'))}_{own}" if camera else own


def body_transforms(camera_frame: str, frames: BodyFrames, ids) -> list[Transform]:
    """Every person's body frame (parent ``camera_frame``) followed by its joint frames (parent the body)."""
    out = []
    identity = (0.0, 0.0, 0.0, 1.0)  # joint frames keep the body's orientation
    for n, bid in enumerate(ids):
        body = f"body_{bid}"
        out.append(Transform(camera_frame, body, tuple(frames.origins[n].tolist()),
                             tuple(frames.quaternions[n].tolist())))
        out.extend(Transform(body, f"{stem}_{bid}", tuple(p), identity)
                   for stem, p in zip(frames.stems, frames.local[n].tolist()))
    return out


def tf_message_cdr(stamp: tuple, transforms) -> bytes:
    """Serialize a ``tf2_msgs/TFMessage`` of ``transforms`` all stamped ``(sec, nanosec)`` (XCDR1, little endian)."""
    buf = bytearray(_U32.pack(len(transforms)))  # alignment counts from here (after the encapsulation header)
    stamp_bytes = _STAMP.pack(int(stamp[0]), int(stamp[1]))

    def pad(n: int) -> None:
        buf.extend(b"\x00" * (-len(buf) % n))

    def string(text: str) -> None:
        data = text.encode()
        pad(4)
        buf.extend(_U32.pack(len(data) + 1))
        buf.extend(data)
        buf.append(0)

    for t in transforms:
        pad(4)
        buf.extend(stamp_bytes)
        string(t.parent)
        string(t.child)
        pad(8)
        buf.extend(_POSE.pack(*t.translation, *t.rotation))
    return b"\x00\x01\x00\x00" + bytes(buf)


def transform_messages(stamp, transforms) -> list:
    """``geometry_msgs/TransformStamped`` objects of ``transforms`` stamped ``stamp`` (builtin_interfaces/Time)."""
    from geometry_msgs.msg import TransformStamped

    out = []
    for t in transforms:
        msg = TransformStamped()
        msg.header.stamp, msg.header.frame_id, msg.child_frame_id = stamp, t.parent, t.child
        v, q = msg.transform.translation, msg.transform.rotation
        v.x, v.y, v.z = (float(c) for c in t.translation)
        q.x, q.y, q.z, q.w = (float(c) for c in t.rotation)
        out.append(msg)
    return out

