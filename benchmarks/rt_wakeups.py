"""Executor wake-ups per frame: how much interpreter work each keypoint frame costs outside the model.

Usage:
    python benchmarks/rt_wakeups.py --out docs/benchmarks/rt/wakeups_after.json
    PYTHONPATH=OLD_CHECKOUT python benchmarks/rt_wakeups.py --out .../wakeups_before.json

Load-independent evidence for the one-camera tip-over: the checkout's own
``NodeRunner`` (its executor and worker design) runs one ``pose_lifter``; a driver
in another context publishes 1 camera x 30 Hz x 1 person for ``--seconds``. Counted
in the runner's process: wait sets the executor built (each is a Python rebuild of
every entity of every node, then an ``rcl_wait``), callbacks/tasks it dispatched,
and the Python threads that took the interpreter lock for the node's work.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _load_common import machine_load, write_json  # noqa: E402
from load_pose import make_scene  # noqa: E402


def count_wait_sets(counter: Counter) -> None:
    """Count ``WaitSet`` constructions per thread name (rclpy builds one per executor wait)."""
    from rclpy import executors
    original = executors._rclpy.WaitSet

    def counting(*args, **kwargs):
        counter[threading.current_thread().name.split("_")[0]] += 1
        return original(*args, **kwargs)
    executors._rclpy.WaitSet = counting


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--persons", type=int, default=1)
    parser.add_argument("--label", default="")
    parser.add_argument("--out", default="wakeups.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    import rclpy
    import torch
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, PointCloud2
    from std_msgs.msg import Header
    from learned_energy_ros.ros.conversions import camera_to_camera_info, keypoints_to_cloud, sec_to_stamp
    from learned_energy_ros.ros.run import NodeRunner
    torch.set_num_threads(1)
    waits: Counter = Counter()
    count_wait_sets(waits)
    cam, px, scores = make_scene(90, args.persons, seed=0)
    load_before = machine_load()
    with NodeRunner(["pose_lifter"], parameters={"pose_lifter": {"device": "cpu", "publish_overlay": False}}) as runner:
        node = runner.nodes["pose_lifter"]
        context = rclpy.Context()
        rclpy.init(context=context)
        driver = rclpy.create_node("wakeup_driver", context=context)
        pub_info = driver.create_publisher(CameraInfo, "camera_info", qos_profile_sensor_data)
        pub_kp = driver.create_publisher(PointCloud2, "keypoints", qos_profile_sensor_data)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(driver)
        deadline = time.time() + 30
        while pub_kp.get_subscription_count() == 0 and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        before, processed0, cpu0 = Counter(waits), node.stats.counts["frames_processed"], time.process_time()
        start, tick = time.monotonic(), 0
        while time.monotonic() - start < args.seconds:
            header = Header(stamp=sec_to_stamp(time.time()), frame_id=cam.frame_id)
            pub_info.publish(camera_to_camera_info(cam, header))
            pub_kp.publish(keypoints_to_cloud(header, px[tick % len(px)], scores[tick % len(px)]))
            tick += 1
            time.sleep(max(0.0, start + tick / 30.0 - time.monotonic()))
        time.sleep(1.0)
        cpu = time.process_time() - cpu0
        frames = node.stats.counts["frames_processed"] - processed0
        runner_waits = {k: v - before.get(k, 0) for k, v in waits.items() if k != "MainThread"}
        executor.shutdown()
        driver.destroy_node()
        rclpy.shutdown(context=context)
    result = {"label": args.label, "persons": args.persons, "frames_published": tick, "frames_processed": frames,
              "wait_sets_built_by_thread": runner_waits,
              "wait_sets_per_frame": sum(runner_waits.values()) / max(tick, 1),
              "process_cpu_ms_per_frame": 1e3 * cpu / max(tick, 1),
              "machine_load_before": load_before, "machine_load_after": machine_load()}
    write_json(args.out, result)
    print({k: result[k] for k in ("label", "frames_published", "frames_processed", "wait_sets_built_by_thread",
                                  "wait_sets_per_frame", "process_cpu_ms_per_frame")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
