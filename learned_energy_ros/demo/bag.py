"""Write the demo's rosbag2 with the ``rosbags`` library and verify it by reading it back.

Messages arrive already CDR-serialized (``rclpy.serialization.serialize_message``),
so this module needs no rclpy: it only stores bytes under a topic and a type
whose definition comes from the rosbags type store. MCAP storage with zstd
chunk compression keeps rendered images small and is what ``ros2 bag`` reads
by default; sqlite3 is available too.
"""
from __future__ import annotations

import logging
import shutil
from collections import Counter
from pathlib import Path

__all__ = ["BagError", "BagRecorder", "read_back"]

log = logging.getLogger(__name__)

_STORE = "ROS2_KILTED"


class BagError(RuntimeError):
    """Raised when the bag cannot be written or does not read back as written."""


def _typestore():
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(getattr(Stores, _STORE))


class BagRecorder:
    """Record serialized messages into a new rosbag2 folder.

    Args:
        path: bag folder to create (replaced if it exists).
        storage: ``"mcap"`` (zstd-compressed chunks) or ``"sqlite3"``.
    """

    def __init__(self, path: str | Path, storage: str = "mcap") -> None:
        from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer

        if storage not in ("mcap", "sqlite3"):
            raise BagError(f"unsupported bag storage {storage!r}; use mcap or sqlite3")
        self.path = Path(path)
        if self.path.exists():
            shutil.rmtree(self.path)
        self.storage = storage
        self._typestore = _typestore()
        plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
        self._writer = Writer(self.path, version=9, storage_plugin=plugin)
        if storage == "mcap":
            self._writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        self._writer.open()
        self._connections: dict[str, object] = {}
        self.counts: Counter = Counter()

    def write(self, topic: str, msgtype: str, stamp_ns: int, data: bytes) -> None:
        """Store one CDR-serialized message.

        Args:
            topic: absolute topic name.
            msgtype: ROS 2 type, e.g. ``"sensor_msgs/msg/Image"``.
            stamp_ns: receive/log time in nanoseconds.
            data: the CDR bytes.
        """
        if topic not in self._connections:
            self._connections[topic] = self._writer.add_connection(topic, msgtype, typestore=self._typestore)
        self._writer.write(self._connections[topic], int(stamp_ns), data)
        self.counts[topic] += 1

    def close(self) -> None:
        """Finish the bag (writes metadata.yaml)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> "BagRecorder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_back(path: str | Path, expected: dict | None = None) -> dict:
    """Read every message of a bag with rosbags, deserializing each one.

    Args:
        path: the bag folder.
        expected: optional ``{topic: count}`` the bag must hold.
    Returns:
        ``{topic: {"type": msgtype, "count": n}}``.
    Raises:
        BagError: on a read or decode failure, or counts that differ from ``expected``.
    """
    from rosbags.rosbag2 import Reader

    store = _typestore()
    found: dict[str, dict] = {}
    try:
        with Reader(Path(path)) as reader:
            for connection, _, raw in reader.messages():
                store.deserialize_cdr(raw, connection.msgtype)
                entry = found.setdefault(connection.topic, {"type": connection.msgtype, "count": 0})
                entry["count"] += 1
    except Exception as err:  # rosbags raises several unrelated types
        raise BagError(f"bag {path} does not read back: {err}") from err
    if expected is not None:
        got = {topic: entry["count"] for topic, entry in found.items()}
        if got != dict(expected):
            raise BagError(f"bag {path} holds {got}, expected {dict(expected)}")
    log.info("bag %s reads back: %s", path, ", ".join(f"{t} x{e['count']}" for t, e in sorted(found.items())))
    return found
