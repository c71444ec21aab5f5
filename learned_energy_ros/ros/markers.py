"""RViz markers: skeletons (SPHERE_LIST + LINE_LIST + energy text) and voxel cube lists.

The node publishes the serialized form (``*_cdr``: numpy straight to CDR bytes,
``marker_cdr.py``); the message-object functions deserialize those same bytes,
so both are one implementation.
"""
from __future__ import annotations

import colorsys

import numpy as np
from rclpy.serialization import deserialize_message
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from learned_energy_ros.core.skeleton import get_skeleton
from learned_energy_ros.ros.errors import ConversionError
from learned_energy_ros.ros.marker_cdr import MarkerSpec, marker_array_cdr

__all__ = ["skeletons_to_markers", "skeletons_to_cdr", "delete_markers", "delete_cdr", "cube_list_marker",
           "cube_list_cdr", "cube_lists_cdr", "track_color", "MARKER_IDS"]

#: Marker ids inside each person's namespace (stable, so updates replace in RViz).
MARKER_IDS = {"joints": 0, "bones": 1, "label": 2}
_GOLDEN = 0.618033988749895  # hue step that keeps consecutive track colours far apart
_GREY = (0.6, 0.6, 0.6, 1.0)


def _rgba(track_id: int, alpha: float = 1.0) -> tuple:
    r, g, b = colorsys.hsv_to_rgb((int(track_id) * _GOLDEN) % 1.0, 0.75, 0.95)
    return (float(r), float(g), float(b), float(alpha))


def track_color(track_id: int, alpha: float = 1.0) -> ColorRGBA:
    """Return a distinct, stable colour for a track id."""
    r, g, b, a = _rgba(track_id, alpha)
    return ColorRGBA(r=r, g=g, b=b, a=a)


def _duration(seconds: float) -> tuple:
    ns = int(round(max(seconds, 0.0) * 1e9))
    return (ns // 1_000_000_000, ns % 1_000_000_000)


def _stamp(header) -> tuple:
    return (int(header.stamp.sec), int(header.stamp.nanosec))


def _delete_specs(track_ids, ns_prefix: str) -> list:
    return [MarkerSpec(f"{ns_prefix}_{int(t)}", marker_id, Marker.ARROW, Marker.DELETE)
            for t in track_ids for marker_id in MARKER_IDS.values()]


def skeletons_to_cdr(header, joints, track_ids, skeleton="h36m17", energies=None, lifetime_s: float = 0.5,
                     vanished_ids=(), joint_radius: float = 0.05, ns_prefix: str = "person",
                     deleted_ids=()) -> bytes:
    """Build the ``~/skeletons`` MarkerArray, serialized (what the node publishes).

    Args:
        header: frame and stamp of the input (markers live in the camera optical frame).
        joints: (N, K, 3) meters.
        track_ids: (N,) stable track ids; each gets namespace ``{ns_prefix}_{id}`` and its own colour.
        skeleton: layout name or ``Skeleton`` of the K joints (for the bones).
        energies: (N,) final energies, shown in the label (None: no label).
        lifetime_s: marker lifetime, so skeletons disappear if the node stops.
        vanished_ids: track ids whose markers get DELETE.
        joint_radius: sphere diameter / line width scale in meters.
        deleted_ids: more track ids whose markers get DELETE, after the vanished ones (e.g. rejected).
    """
    skeleton = get_skeleton(skeleton)
    joints = np.asarray(joints, dtype=np.float64).reshape(-1, len(skeleton), 3)  # (N, K, 3)
    ids = np.asarray(track_ids, dtype=np.int64).reshape(-1)
    if ids.shape[0] != joints.shape[0]:
        raise ConversionError(f"{joints.shape[0]} skeletons but {ids.shape[0]} track ids")
    lifetime, r = _duration(lifetime_s), float(joint_radius)
    bones = joints[:, skeleton.bone_indices.reshape(-1)]  # (N, 2B, 3)
    tops = joints[np.arange(len(ids)), np.argmin(joints[..., 1], axis=1)] if len(ids) else joints[:, 0]  # (N, 3)
    labels = np.asarray(energies, dtype=np.float64).reshape(-1) if energies is not None else None
    specs = []
    for n, track in enumerate(ids.tolist()):
        ns, color = f"{ns_prefix}_{track}", _rgba(track)
        specs.append(MarkerSpec(ns, MARKER_IDS["joints"], Marker.SPHERE_LIST, Marker.ADD, scale=(r, r, r),
                                color=color, lifetime=lifetime, points=joints[n]))
        specs.append(MarkerSpec(ns, MARKER_IDS["bones"], Marker.LINE_LIST, Marker.ADD, scale=(r * 0.4, 0.0, 0.0),
                                color=color, lifetime=lifetime, points=bones[n]))
        if labels is not None:
            top = tops[n]  # highest joint (optical y points down)
            specs.append(MarkerSpec(ns, MARKER_IDS["label"], Marker.TEXT_VIEW_FACING, Marker.ADD,
                                    position=(float(top[0]), float(top[1]) - 0.15, float(top[2])),
                                    scale=(0.0, 0.0, 0.1), color=color, lifetime=lifetime,
                                    text=f"id {track}  E={float(labels[n]):.3g}"))
    specs += _delete_specs(vanished_ids, ns_prefix) + _delete_specs(deleted_ids, ns_prefix)
    return marker_array_cdr(_stamp(header), header.frame_id, specs)


def skeletons_to_markers(header, joints, track_ids, skeleton="h36m17", energies=None, lifetime_s: float = 0.5,
                         vanished_ids=(), joint_radius: float = 0.05, ns_prefix: str = "person") -> MarkerArray:
    """``skeletons_to_cdr`` as a MarkerArray message (same arguments)."""
    return deserialize_message(skeletons_to_cdr(header, joints, track_ids, skeleton, energies, lifetime_s,
                                                 vanished_ids, joint_radius, ns_prefix), MarkerArray)


def delete_cdr(header, track_ids, ns_prefix: str = "person") -> bytes:
    """Serialized MarkerArray of DELETE markers for every marker of the given tracks."""
    return marker_array_cdr(_stamp(header), header.frame_id, _delete_specs(track_ids, ns_prefix))


def delete_markers(header, track_ids, ns_prefix: str = "person") -> MarkerArray:
    """Return DELETE markers for every marker of the given tracks."""
    return deserialize_message(delete_cdr(header, track_ids, ns_prefix), MarkerArray)


def cube_list_cdr(header, centers, size: float, colors=None, ns: str = "occupancy", marker_id: int = 0,
                  lifetime_s: float = 0.0) -> bytes:
    """Serialized MarkerArray holding one CUBE_LIST marker of axis-aligned cubes.

    Args:
        centers: (P, 3) cube centres in the header's frame.
        size: cube edge length in meters.
        colors: (P, 4) RGBA in [0, 1] per cube, or None for a uniform grey.
    """
    return cube_lists_cdr(header, [(ns, marker_id, centers, size, colors)], lifetime_s)


def cube_lists_cdr(header, cubes, lifetime_s: float = 0.0) -> bytes:
    """Serialized MarkerArray of one CUBE_LIST marker per entry of ``cubes``.

    Args:
        cubes: ``[(ns, id, centers (P, 3), size, colors (P, 4) or None), ...]`` (see ``cube_list_cdr``).
        lifetime_s: lifetime of every marker.
    """
    specs = []
    for ns, marker_id, centers, size, colors in cubes:
        centers = np.asarray(centers, dtype=np.float64).reshape(-1, 3)
        if colors is not None:
            colors = np.asarray(colors, dtype=np.float64).reshape(-1, 4)
            if colors.shape[0] != centers.shape[0]:
                raise ConversionError(f"{centers.shape[0]} cubes but {colors.shape[0]} colours")
        size = float(size)
        specs.append(MarkerSpec(str(ns), int(marker_id), Marker.CUBE_LIST, Marker.ADD, scale=(size, size, size),
                                color=_GREY, lifetime=_duration(lifetime_s), points=centers, colors=colors))
    return marker_array_cdr(_stamp(header), header.frame_id, specs)


def cube_list_marker(header, centers, size: float, colors=None, ns: str = "occupancy", marker_id: int = 0,
                     lifetime_s: float = 0.0) -> Marker:
    """Build one CUBE_LIST marker of axis-aligned cubes (``cube_list_cdr`` as a message)."""
    return deserialize_message(cube_list_cdr(header, centers, size, colors, ns, marker_id, lifetime_s),
                               MarkerArray).markers[0]
