"""Serialize ``visualization_msgs/MarkerArray`` straight from numpy to CDR bytes.

rclpy builds every ``Marker`` and ``Point`` as a Python object and converts each
field back in C when publishing: ~25 us per empty Marker plus ~1 us per point,
2-3 ms per frame for 10 skeletons. Publishers take serialized bytes as well, so
the node writes the little-endian CDR (XCDR1, the encoding rmw_fastrtps uses)
here with one ``tobytes`` per point list. ``test_marker_cdr.py`` checks that
``serialize_message(deserialize_message(b))`` gives back ``b`` byte for byte and
that the fields are what was asked for.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

__all__ = ["MarkerSpec", "marker_array_cdr"]

_HEADER = b"\x00\x01\x00\x00"  # CDR, little endian; alignment restarts after these 4 bytes


@dataclass
class MarkerSpec:
    """The Marker fields this package sets; everything else keeps the message default."""

    ns: str
    id: int
    type: int
    action: int
    position: tuple = (0.0, 0.0, 0.0)
    scale: tuple = (0.0, 0.0, 0.0)
    color: tuple = (0.0, 0.0, 0.0, 0.0)
    lifetime: tuple = (0, 0)  # (sec, nanosec)
    points: np.ndarray | None = None  # (P, 3)
    colors: np.ndarray | None = None  # (P, 4)
    text: str = ""


_U32, _IDS, _POSE_SCALE = struct.Struct("<I"), struct.Struct("<iii"), struct.Struct("<10d")
_COLOR_LIFETIME = struct.Struct("<4fiI?")  # color, lifetime, frame_locked (no padding inside)
# Constant runs of an otherwise empty Marker, each starting 4-aligned:
# texture_resource "", texture (header 0 s, frame_id "", format "", data []), uv_coordinates []
_TEXTURE = b"".join([_U32.pack(1), b"\x00" * 4, b"\x00" * 8, _U32.pack(1), b"\x00" * 4, _U32.pack(1), b"\x00" * 4,
                     _U32.pack(0), _U32.pack(0)])
# mesh_resource "", mesh_file (filename "", data []), mesh_use_embedded_materials false
_MESH = b"".join([_U32.pack(1), b"\x00" * 4, _U32.pack(1), b"\x00" * 4, _U32.pack(0), b"\x00"])


def marker_array_cdr(stamp: tuple, frame_id: str, specs) -> bytes:
    """Serialize a MarkerArray whose markers all carry the header ``(sec, nanosec)``, ``frame_id``.

    Field order follows visualization_msgs/Marker (ROS 2 Kilted, the texture/UV/mesh
    fields included), so the result deserializes to an ordinary MarkerArray. Every
    primitive is aligned to its size, counted from the end of the encapsulation header.
    """
    buf = bytearray(_U32.pack(len(specs)))  # offsets count from here

    def pad(n: int) -> None:
        buf.extend(b"\x00" * (-len(buf) % n))

    def string(data: bytes) -> None:
        pad(4)
        buf.extend(_U32.pack(len(data) + 1))
        buf.extend(data)
        buf.append(0)

    def sequence(values, dtype: str, width: int) -> None:
        values = np.zeros((0, width)) if values is None else np.asarray(values).reshape(-1, width)
        pad(4)
        buf.extend(_U32.pack(values.shape[0]))
        if values.shape[0]:
            pad(np.dtype(dtype).itemsize)
            buf.extend(np.ascontiguousarray(values, dtype=dtype).tobytes())

    frame = frame_id.encode()
    header = struct.pack("<iII", int(stamp[0]), int(stamp[1]), len(frame) + 1) + frame + b"\x00"
    for s in specs:
        pad(4)
        buf.extend(header)
        string(s.ns.encode())
        pad(4)
        buf.extend(_IDS.pack(s.id, s.type, s.action))
        pad(8)
        buf.extend(_POSE_SCALE.pack(*s.position, 0.0, 0.0, 0.0, 1.0, *s.scale))  # identity orientation
        buf.extend(_COLOR_LIFETIME.pack(*s.color, *s.lifetime, False))
        sequence(s.points, "<f8", 3)
        sequence(s.colors, "<f4", 4)
        pad(4)
        buf.extend(_TEXTURE)
        string(s.text.encode())
        pad(4)
        buf.extend(_MESH)
    return _HEADER + bytes(buf)
