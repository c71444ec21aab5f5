"""QoS profiles by name, so topics' reliability is a parameter, not code.

Sensor inputs default to the sensor-data profile (best effort, small queue).
Images default to reliable keep-last: with the PyPI FastDDS build best-effort
readers in another process lost almost all full-size images (DESIGN.md).
"""
from __future__ import annotations

from rclpy.qos import (
    DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data,
)

__all__ = ["qos_from_name", "QOS_NAMES", "DEFAULT_SENSOR_QOS", "DEFAULT_IMAGE_QOS"]

QOS_NAMES = ("sensor_data", "reliable", "best_effort")
DEFAULT_SENSOR_QOS = "sensor_data"
DEFAULT_IMAGE_QOS = "reliable"


def qos_from_name(name: str, depth: int = 5) -> QoSProfile:
    """Return the QoS profile called ``name`` with keep-last ``depth``.

    Args:
        name: ``sensor_data`` (best effort, volatile), ``reliable`` or ``best_effort``.
        depth: history depth (>= 1); ``sensor_data`` uses it too.
    Raises:
        ValueError: unknown name or depth < 1.
    """
    if depth < 1:
        raise ValueError(f"QoS depth must be >= 1, got {depth}")
    if name == "sensor_data":
        profile = QoSProfile(**{k: getattr(qos_profile_sensor_data, k) for k in ("reliability", "durability", "history")},
                             depth=depth)
        return profile
    if name not in QOS_NAMES:
        raise ValueError(f"unknown QoS {name!r}; choose one of {', '.join(QOS_NAMES)}")
    reliability = ReliabilityPolicy.RELIABLE if name == "reliable" else ReliabilityPolicy.BEST_EFFORT
    return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=depth, reliability=reliability,
                      durability=DurabilityPolicy.VOLATILE)
