"""Cost of the voxel node's outputs per frame: occupancy cloud + CUBE_LIST markers, built and serialized.

Usage:
    python benchmarks/rt_voxel_outputs.py --out docs/benchmarks/rt/voxel_outputs.json
    PYTHONPATH=OLD_CHECKOUT python benchmarks/rt_voxel_outputs.py ...   # the same on another checkout

Times ``voxel_io.result_to_messages`` plus ``serialize_message`` of what it returns
(what ``publish`` does) for 500 .. 8000 occupied voxels (a 32^3 grid has 32768).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _load_common import machine_load, write_json  # noqa: E402


class _Grid:
    def voxel_size(self):
        return np.array([0.016, 0.016, 0.016])


class _Result:
    """Stands in for a ``VoxelResult`` with ``count`` occupied voxels."""

    def __init__(self, count: int, rng):
        self.grid, self._points, self._prob = _Grid(), rng.normal(size=(count, 3)), rng.uniform(0.5, 1.0, count)

    def occupied(self, threshold):
        return self._points, self._prob


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voxels", type=int, nargs="+", default=[500, 2000, 8000])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--label", default="")
    parser.add_argument("--out", default="voxel_outputs.json")
    args = parser.parse_args(argv)
    from rclpy.serialization import serialize_message
    from std_msgs.msg import Header
    from learned_energy_ros.ros.voxel_io import result_to_messages
    load_before, rng, rows = machine_load(), np.random.default_rng(0), []
    for count in args.voxels:
        result, times = _Result(count, rng), []
        for _ in range(args.repeats):
            t = time.perf_counter()
            cloud, markers = result_to_messages(result, Header(frame_id="cam"), 0.5, 1.0)
            for msg in (cloud, markers):
                msg if isinstance(msg, bytes) else serialize_message(msg)
            times.append(time.perf_counter() - t)
        rows.append({"voxels": count, "median_ms": 1e3 * float(np.median(times)),
                     "p95_ms": 1e3 * float(np.percentile(times, 95))})
        print(rows[-1])
    write_json(args.out, {"label": args.label, "machine_load_before": load_before, "machine_load_after": machine_load(),
                          "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
