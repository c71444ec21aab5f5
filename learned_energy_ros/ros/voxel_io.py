"""Messages of the voxel node <-> core objects: boxes in, occupancy cloud, CUBE_LISTs and occupancy grid out.

``vision_msgs`` and ``nav_msgs`` are optional: nothing here imports them at module
level (boxes are read by field name; the grid type is imported when one is built).
"""
from __future__ import annotations

import array
import math

import numpy as np

from learned_energy_ros.core.rotations import rotation_to_quaternion, quaternion_to_matrix
from learned_energy_ros.ros.clouds import points_to_cloud
from learned_energy_ros.ros.detections import best_hypothesis, box_of
from learned_energy_ros.ros.errors import ConversionError
from learned_energy_ros.ros.markers import cube_lists_cdr
from learned_energy_ros.vox.objects import ObjectBox

__all__ = ["probability_colors", "result_to_messages", "objects_to_messages", "detections_to_boxes",
           "transform_to_plane", "grid_to_message", "class_number", "DEFAULT_NS"]

#: Marker namespace of objects without a class id (and of the ``roi`` reconstruction).
DEFAULT_NS = "occupancy"


def probability_colors(prob: np.ndarray) -> np.ndarray:
    """RGBA (P, 4) in [0, 1]: blue (uncertain) to yellow-red (certain), more opaque when certain."""
    p = np.clip(np.asarray(prob, dtype=np.float64), 0, 1)
    return np.stack([p, 0.3 + 0.5 * p * (1 - p) * 4 * 0.5, 1 - p, 0.4 + 0.6 * p], axis=-1)


def class_number(class_id: str) -> int:
    """The class id as a number for the cloud's ``class_id`` field: the integer it spells, else -1."""
    try:
        value = int(str(class_id).strip())
    except ValueError:
        return -1
    return value if -2**31 <= value < 2**31 else -1


def objects_to_messages(objects, header, threshold: float, lifetime_s: float):
    """Return (PointCloud2, serialized MarkerArray) of the occupied voxels of several objects.

    Cloud fields: ``x, y, z`` (m, the header's optical frame), ``occupancy``, ``object`` (uint32, the
    object's index: its detection's position in the Detection2DArray) and ``class_id`` (int32, the class
    id when it is an integer, else -1). One CUBE_LIST per object, ``ns`` = its class id (``occupancy``
    without one), ``id`` = its index.

    Args:
        objects: ``[(VoxelResult, class_id str, index int), ...]``.
        header: std_msgs/Header of the input (stamp + optical frame).
        threshold: occupancy threshold.
        lifetime_s: marker lifetime.
    """
    points, fields, cubes = [], {"occupancy": [], "object": [], "class_id": []}, []
    for result, class_id, index in objects:
        xyz, prob = result.occupied(threshold)  # (P, 3), (P,)
        points.append(xyz)
        fields["occupancy"].append(prob.astype(np.float32))
        fields["object"].append(np.full(len(xyz), index, np.uint32))
        fields["class_id"].append(np.full(len(xyz), class_number(class_id), np.int32))
        cubes.append((class_id or DEFAULT_NS, index, xyz, max(result.grid.voxel_size()), probability_colors(prob)))
    dtypes = {"occupancy": np.float32, "object": np.uint32, "class_id": np.int32}
    cloud = points_to_cloud(header, np.concatenate(points) if points else np.zeros((0, 3), np.float32),
                            {k: np.concatenate(v) if v else np.zeros(0, dtypes[k]) for k, v in fields.items()})
    return cloud, cube_lists_cdr(header, cubes, lifetime_s)


def result_to_messages(result, header, threshold: float, lifetime_s: float):
    """``objects_to_messages`` of one ``VoxelResult`` (object 0, no class id)."""
    return objects_to_messages([(result, "", 0)], header, threshold, lifetime_s)


def detections_to_boxes(msg) -> tuple[list[ObjectBox], list[tuple[int, str]]]:
    """Read a ``vision_msgs/Detection2DArray`` into ``ObjectBox`` es.

    Box coordinates are raw pixels of the image, read in the ``roi`` convention.

    Returns:
        (boxes, [(detection index, why it was left out), ...]) for unusable bounding boxes.
    """
    boxes, bad = [], []
    for index, detection in enumerate(msg.detections):
        try:
            roi = box_of(detection)
        except ConversionError as err:
            bad.append((index, str(err)))
            continue
        class_id, score = best_hypothesis(detection)
        boxes.append(ObjectBox(roi, class_id, score if math.isfinite(score) else 0.0, index))
    return boxes, bad


def transform_to_plane(transform):
    """``SupportPlane`` of a ``geometry_msgs/Transform`` (camera frame -> plane frame, as TF looks it up).

    Raises:
        ValueError: for a degenerate rotation or a camera not above the plane's z = 0.
    """
    from learned_energy_ros.vox.placement import SupportPlane
    q, t = transform.rotation, transform.translation
    return SupportPlane(quaternion_to_matrix([q.x, q.y, q.z, q.w]), [t.x, t.y, t.z])


def grid_to_message(cells: np.ndarray, spec, header, plane=None):
    """Build the ``nav_msgs/OccupancyGrid`` of ``cells`` (``project_to_grid``'s output).

    Args:
        cells: (height, width) int8 -1/0/100.
        spec: its ``GridSpec`` (cell (0, 0)'s corner at ``spec.origin`` in the plane frame).
        header: stamp and frame of the grid: the plane frame itself (``plane`` None), or the camera's
            optical frame, in which ``plane`` says where the plane frame lies.
        plane: the ``SupportPlane`` (optical -> plane frame) when ``header`` is the optical frame.
    """
    from geometry_msgs.msg import Pose
    from nav_msgs.msg import OccupancyGrid

    corner = np.array([spec.origin[0], spec.origin[1], 0.0])
    rotation = np.eye(3)
    if plane is not None:  # plane frame -> optical frame
        rotation = plane.rotation.T
        corner = rotation @ (corner - plane.translation)
    msg = OccupancyGrid(header=header)
    msg.info.map_load_time = header.stamp
    msg.info.resolution = float(spec.resolution)
    msg.info.width, msg.info.height = int(spec.width), int(spec.height)
    pose = Pose()
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in corner)
    qx, qy, qz, qw = (float(v) for v in rotation_to_quaternion(rotation))
    pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = qx, qy, qz, qw
    msg.info.origin = pose
    msg.data = array.array("b", np.ascontiguousarray(cells, dtype=np.int8).tobytes())
    return msg
