"""RViz markers: skeletons (SPHERE_LIST + LINE_LIST + energy text) and voxel cube lists."""
from __future__ import annotations

import colorsys

import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from learned_energy_ros.core.skeleton import get_skeleton
from learned_energy_ros.ros.errors import ConversionError

__all__ = ["skeletons_to_markers", "delete_markers", "cube_list_marker", "track_color", "MARKER_IDS"]

#: Marker ids inside each person's namespace (stable, so updates replace in RViz).
MARKER_IDS = {"joints": 0, "bones": 1, "label": 2}
_GOLDEN = 0.618033988749895  # hue step that keeps consecutive track colours far apart


def track_color(track_id: int, alpha: float = 1.0) -> ColorRGBA:
    """Return a distinct, stable colour for a track id."""
    r, g, b = colorsys.hsv_to_rgb((int(track_id) * _GOLDEN) % 1.0, 0.75, 0.95)
    return ColorRGBA(r=float(r), g=float(g), b=float(b), a=float(alpha))


def _duration(seconds: float) -> Duration:
    ns = int(round(max(seconds, 0.0) * 1e9))
    return Duration(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def _marker(header, ns: str, kind: str, marker_type: int, lifetime_s: float) -> Marker:
    m = Marker()
    m.header = header
    m.ns, m.id, m.type, m.action = ns, MARKER_IDS[kind], marker_type, Marker.ADD
    m.pose.orientation.w = 1.0
    m.lifetime = _duration(lifetime_s)
    return m


def _points(xyz: np.ndarray) -> list:
    return [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in xyz]


def skeletons_to_markers(header, joints, track_ids, skeleton="h36m17", energies=None, lifetime_s: float = 0.5,
                         vanished_ids=(), joint_radius: float = 0.05, ns_prefix: str = "person") -> MarkerArray:
    """Build the ``~/skeletons`` MarkerArray.

    Args:
        header: frame and stamp of the input (markers live in the camera optical frame).
        joints: (N, K, 3) meters.
        track_ids: (N,) stable track ids; each gets namespace ``{ns_prefix}_{id}`` and its own colour.
        skeleton: layout name or ``Skeleton`` of the K joints (for the bones).
        energies: (N,) final energies, shown in the label (None: no label).
        lifetime_s: marker lifetime, so skeletons disappear if the node stops.
        vanished_ids: track ids whose markers get DELETE.
        joint_radius: sphere diameter / line width scale in meters.
    """
    skeleton = get_skeleton(skeleton)
    joints = np.asarray(joints, dtype=np.float64).reshape(-1, len(skeleton), 3)  # (N, K, 3)
    ids = np.asarray(track_ids, dtype=np.int64).reshape(-1)
    if ids.shape[0] != joints.shape[0]:
        raise ConversionError(f"{joints.shape[0]} skeletons but {ids.shape[0]} track ids")
    out = MarkerArray()
    bones = skeleton.bone_indices  # (B, 2)
    for n, track in enumerate(ids):
        ns, color = f"{ns_prefix}_{track}", track_color(track)
        spheres = _marker(header, ns, "joints", Marker.SPHERE_LIST, lifetime_s)
        spheres.scale.x = spheres.scale.y = spheres.scale.z = joint_radius
        spheres.color, spheres.points = color, _points(joints[n])
        lines = _marker(header, ns, "bones", Marker.LINE_LIST, lifetime_s)
        lines.scale.x = joint_radius * 0.4
        lines.color, lines.points = color, _points(joints[n][bones.reshape(-1)])
        out.markers += [spheres, lines]
        if energies is not None:
            label = _marker(header, ns, "label", Marker.TEXT_VIEW_FACING, lifetime_s)
            top = joints[n][np.argmin(joints[n][:, 1])]  # highest joint (optical y points down)
            label.pose.position = Point(x=float(top[0]), y=float(top[1]) - 0.15, z=float(top[2]))
            label.scale.z = 0.1
            label.color = color
            label.text = f"id {track}  E={float(np.asarray(energies).reshape(-1)[n]):.3g}"
            out.markers.append(label)
    out.markers += delete_markers(header, vanished_ids, ns_prefix).markers
    return out


def delete_markers(header, track_ids, ns_prefix: str = "person") -> MarkerArray:
    """Return DELETE markers for every marker of the given tracks."""
    out = MarkerArray()
    for track in track_ids:
        for marker_id in MARKER_IDS.values():
            m = Marker()
            m.header, m.ns, m.id, m.action = header, f"{ns_prefix}_{int(track)}", marker_id, Marker.DELETE
            out.markers.append(m)
    return out


def cube_list_marker(header, centers, size: float, colors=None, ns: str = "occupancy", marker_id: int = 0,
                     lifetime_s: float = 0.0) -> Marker:
    """Build one CUBE_LIST marker of axis-aligned cubes.

    Args:
        centers: (P, 3) cube centres in the header's frame.
        size: cube edge length in meters.
        colors: (P, 4) RGBA in [0, 1] per cube, or None for a uniform grey.
    """
    centers = np.asarray(centers, dtype=np.float64).reshape(-1, 3)
    m = Marker()
    m.header, m.ns, m.id, m.type, m.action = header, ns, int(marker_id), Marker.CUBE_LIST, Marker.ADD
    m.pose.orientation.w = 1.0
    m.scale.x = m.scale.y = m.scale.z = float(size)
    m.lifetime = _duration(lifetime_s)
    m.points = _points(centers)
    m.color = ColorRGBA(r=0.6, g=0.6, b=0.6, a=1.0)
    if colors is not None:
        colors = np.asarray(colors, dtype=np.float64).reshape(-1, 4)
        if colors.shape[0] != centers.shape[0]:
            raise ConversionError(f"{centers.shape[0]} cubes but {colors.shape[0]} colours")
        m.colors = [ColorRGBA(r=float(r), g=float(g), b=float(b), a=float(a)) for r, g, b, a in colors]
    return m
