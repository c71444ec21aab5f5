"""PointCloud2 <-> numpy: the keypoint cloud, the joints cloud and generic point clouds.

``sensor_msgs_py`` is not on PyPI, so the (small) packing logic lives here:
a cloud is a numpy structured array whose field offsets match ``PointField``.
"""
from __future__ import annotations

import numpy as np
from sensor_msgs.msg import PointCloud2, PointField

from learned_energy_ros.ros.errors import ConversionError

__all__ = [
    "structured_to_cloud", "cloud_to_structured", "keypoints_to_cloud", "cloud_to_keypoints",
    "points_to_cloud", "joints_to_cloud", "KEYPOINT_FIELDS",
]

# PointField datatype codes <-> numpy dtypes (little-endian, as every ROS 2 platform is).
_DTYPES = {
    PointField.INT8: np.dtype("i1"), PointField.UINT8: np.dtype("u1"),
    PointField.INT16: np.dtype("<i2"), PointField.UINT16: np.dtype("<u2"),
    PointField.INT32: np.dtype("<i4"), PointField.UINT32: np.dtype("<u4"),
    PointField.FLOAT32: np.dtype("<f4"), PointField.FLOAT64: np.dtype("<f8"),
}
_CODES = {dtype.newbyteorder("<"): code for code, dtype in _DTYPES.items()}

#: Fields of the keypoint cloud (DESIGN.md "2D detections in").
KEYPOINT_FIELDS = (("u", "<f4"), ("v", "<f4"), ("score", "<f4"), ("person", "<u4"), ("joint", "<u2"))
_JOINT_FIELDS = (("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("person", "<u4"), ("joint", "<u2"),
                 ("confidence", "<f4"), ("energy", "<f4"))


def structured_to_cloud(header, points: np.ndarray) -> PointCloud2:
    """Pack a 1-D numpy structured array into an unordered PointCloud2 (height 1).

    Args:
        header: ``std_msgs/Header`` copied into the message.
        points: (P,) structured array; every field must be a scalar of a PointField type.
    Returns:
        The PointCloud2, dense, little-endian.
    """
    points = np.ascontiguousarray(points).reshape(-1)
    if points.dtype.names is None:
        raise ConversionError("points must be a structured array with named fields")
    fields = []
    for name in points.dtype.names:
        dtype, offset = points.dtype.fields[name][:2]
        code = _CODES.get(dtype.newbyteorder("<") if dtype.byteorder != "|" else dtype)
        if code is None or dtype.shape:
            raise ConversionError(f"field {name!r} has unsupported dtype {dtype}")
        fields.append(PointField(name=name, offset=int(offset), datatype=code, count=1))
    msg = PointCloud2()
    msg.header = header
    msg.height, msg.width = 1, int(points.shape[0])
    msg.fields = fields
    msg.is_bigendian = False
    msg.point_step = int(points.dtype.itemsize)
    msg.row_step = msg.point_step * msg.width
    msg.is_dense = True
    msg.data = points.astype(points.dtype.newbyteorder("<")).tobytes()
    return msg


def cloud_to_structured(msg) -> np.ndarray:
    """Unpack a PointCloud2 into a (P,) structured array (fields with count 1 only).

    For an unordered cloud (height 1) it is a read-only structured view of a copy of
    the message's bytes (no per-field parsing); ``.copy()`` it to write into it.

    Raises:
        ConversionError: on inconsistent sizes or unsupported field types.
    """
    names, formats, offsets = [], [], []
    for field in msg.fields:
        dtype = _DTYPES.get(field.datatype)
        if dtype is None or field.count != 1:
            raise ConversionError(f"field {field.name!r}: unsupported datatype {field.datatype} count {field.count}")
        names.append(field.name)
        formats.append(dtype.newbyteorder(">") if msg.is_bigendian else dtype)
        offsets.append(field.offset)
    n = int(msg.width) * int(msg.height)
    step = int(msg.point_step)
    if any(o + np.dtype(f).itemsize > step for o, f in zip(offsets, formats)):
        raise ConversionError("a field lies beyond point_step")
    data = bytes(msg.data)
    if msg.height > 1 and msg.row_step < msg.width * step:
        raise ConversionError(f"row_step {msg.row_step} < width*point_step {msg.width * step}")
    row_step = int(msg.row_step) if msg.height > 1 else n * step
    if len(data) < row_step * max(int(msg.height) - 1, 0) + int(msg.width) * step:
        raise ConversionError(f"cloud data has {len(data)} bytes, expected {int(msg.height) * row_step}")
    dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": step})
    if n == 0:
        return np.zeros(0, dtype=dtype)
    if msg.height == 1:  # the usual unordered cloud: a structured view of the buffer, no per-row copy
        return np.frombuffer(data, dtype=dtype, count=int(msg.width))
    rows = [np.frombuffer(data, dtype=dtype, count=int(msg.width), offset=r * row_step) for r in range(int(msg.height))]
    return np.concatenate(rows)


def keypoints_to_cloud(header, keypoints, scores, person_ids=None, min_score: float = 0.0) -> PointCloud2:
    """Build the keypoint cloud a detector publishes (one point per detected joint).

    Args:
        header: stamp = image capture time, frame_id = camera optical frame.
        keypoints: (N, J, 2) raw (distorted) pixel coordinates.
        scores: (N, J) confidences; joints with ``score <= min_score`` are omitted.
        person_ids: (N,) detector person/track ids (default: 0..N-1).
        min_score: omission threshold.
    Returns:
        PointCloud2 with fields u, v, score (float32), person (uint32), joint (uint16).
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[-1] != 2 or scores.shape != keypoints.shape[:2]:
        raise ConversionError(f"expected keypoints (N, J, 2) and scores (N, J), got {keypoints.shape} and {scores.shape}")
    N, J = scores.shape
    ids = np.arange(N) if person_ids is None else np.asarray(person_ids).reshape(-1)
    if ids.shape != (N,) or np.any(ids < 0):
        raise ConversionError(f"person_ids must be {N} non-negative integers, got {ids}")
    present = scores > min_score  # (N, J)
    if not np.all(np.isfinite(keypoints[present])) or not np.all(np.isfinite(scores)):
        raise ConversionError("keypoints or scores contain NaN/inf for a joint that is not missing")
    person, joint = np.nonzero(present)
    points = np.zeros(person.size, dtype=np.dtype(list(KEYPOINT_FIELDS)))
    points["u"], points["v"] = keypoints[person, joint, 0], keypoints[person, joint, 1]
    points["score"], points["person"], points["joint"] = scores[person, joint], ids[person], joint
    return structured_to_cloud(header, points)


def cloud_to_keypoints(msg, num_joints: int):
    """Parse a keypoint cloud into dense per-person arrays.

    Joints absent from the cloud get score 0 (and pixel 0, 0). A ``joint``
    index ``>= num_joints`` raises rather than being dropped: it almost always
    means the detector publishes a different layout than ``input_skeleton``,
    and dropping joints would lift a silently wrong skeleton.

    Args:
        msg: the PointCloud2 (fields u, v, score, person, joint; any numeric types).
        num_joints: J, the size of the node's input skeleton layout.
    Returns:
        ``(keypoints (N, J, 2) float64, scores (N, J) float64, person_ids (N,) int64)``,
        persons sorted by id.
    Raises:
        ConversionError: missing fields, joint index out of range, duplicated joints.
    """
    points = cloud_to_structured(msg)
    missing = [name for name, _ in KEYPOINT_FIELDS if name not in (points.dtype.names or ())]
    if missing:
        raise ConversionError(f"keypoint cloud lacks field(s) {missing}")
    joint = points["joint"].astype(np.int64)
    if joint.size and (joint.min() < 0 or joint.max() >= num_joints):
        raise ConversionError(
            f"joint index {int(joint.max())} out of range for a {num_joints}-joint input_skeleton "
            "(does the detector publish another layout?)"
        )
    ids, person = np.unique(points["person"].astype(np.int64), return_inverse=True)
    flat = person.reshape(-1) * num_joints + joint  # (P,) index into (N * J)
    if flat.size and np.bincount(flat).max() > 1:
        raise ConversionError("keypoint cloud lists the same (person, joint) twice")
    keypoints = np.zeros((ids.size * num_joints, 2))
    scores = np.zeros(ids.size * num_joints)
    keypoints[flat, 0], keypoints[flat, 1], scores[flat] = points["u"], points["v"], points["score"]
    return keypoints.reshape(ids.size, num_joints, 2), scores.reshape(ids.size, num_joints), ids


def points_to_cloud(header, xyz, extra_fields: dict | None = None) -> PointCloud2:
    """Build an x, y, z float32 cloud with optional extra per-point fields.

    Args:
        xyz: (P, 3) points.
        extra_fields: name -> (P,) array; its dtype becomes the field type.
    """
    xyz = np.asarray(xyz)
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise ConversionError(f"expected xyz (P, 3), got {xyz.shape}")
    extra = {name: np.asarray(values) for name, values in (extra_fields or {}).items()}
    for name, values in extra.items():
        if values.shape != (xyz.shape[0],):
            raise ConversionError(f"field {name!r} has shape {values.shape}, expected ({xyz.shape[0]},)")
    dtype = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")] + [(n, v.dtype.newbyteorder("<")) for n, v in extra.items()]
    points = np.zeros(xyz.shape[0], dtype=dtype)
    points["x"], points["y"], points["z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    for name, values in extra.items():
        points[name] = values
    return structured_to_cloud(header, points)


def joints_to_cloud(header, joints, person_ids, confidence, energy) -> PointCloud2:
    """Build the ``~/joints`` cloud: x, y, z, person, joint, confidence, energy.

    Args:
        joints: (N, K, 3) meters, optical frame.
        person_ids: (N,) track ids.
        confidence: (N, K) per-joint confidence.
        energy: (N,) final energy of each skeleton (its plausibility; lower is better).
    """
    joints = np.asarray(joints, dtype=np.float64)  # (N, K, 3)
    if joints.ndim != 3 or joints.shape[-1] != 3:
        raise ConversionError(f"expected joints (N, K, 3), got {joints.shape}")
    N, K = joints.shape[:2]
    if np.shape(person_ids) != (N,) or np.shape(confidence) != (N, K) or np.shape(energy) != (N,):
        raise ConversionError(f"person_ids {np.shape(person_ids)}, confidence {np.shape(confidence)} and energy "
                              f"{np.shape(energy)} do not match joints {joints.shape}")
    points = np.zeros(N * K, dtype=np.dtype(list(_JOINT_FIELDS)))
    flat = joints.reshape(-1, 3)
    points["x"], points["y"], points["z"] = flat[:, 0], flat[:, 1], flat[:, 2]
    points["person"] = np.repeat(np.asarray(person_ids, dtype=np.int64), K)
    points["joint"] = np.tile(np.arange(K), N)
    points["confidence"] = np.asarray(confidence, dtype=np.float64).reshape(-1)
    points["energy"] = np.repeat(np.asarray(energy, dtype=np.float64), K)
    return structured_to_cloud(header, points)
