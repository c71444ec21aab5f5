"""Per-stage latency on real images: detector, lifter, and the ROS overhead of the node chain.

    python benchmarks/real_latency.py [--frames 12] [--json out.json]

Core: ``KeypointDetector.detect`` and ``Lifter.lift`` timed in-process on each real
image (median of ``--repeats``). ROS: ``keypoint_detector`` and ``pose_lifter``
(``mediapipe33``) in one NodeRunner; a driver publishes basketball1 image +
CameraInfo and waits for ``/pose_lifter/joints``; overhead = end-to-end minus the
two nodes' own processing times (their ``/diagnostics`` latency).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time



def core_latency(repeats: int) -> list[dict]:
    from learned_energy_ros.detect.real_stage import RealLifter, real_inputs

    lifter, rows = RealLifter(device="cpu"), []
    inputs = real_inputs(vtest_frames=1)
    lifter(*inputs[0])  # warm-up: first model calls allocate and initialise
    for name, rgb, tiles in inputs:
        runs = [lifter(name, rgb, tiles).timing_ms for _ in range(repeats)]
        rows.append({"image": name, "size": f"{rgb.shape[1]}x{rgb.shape[0]}", "tiles": tiles,
                     "people": runs[0]["people"], "detect_ms": statistics.median(r["detect"] for r in runs),
                     "lift_ms": statistics.median(r["lift"] for r in runs)})
    lifter.close()
    return rows


def ros_latency(frames: int) -> dict:
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2
    from std_msgs.msg import Header

    from learned_energy_ros.core.calibration import guess_camera
    from learned_energy_ros.detect.samples import basketball
    from learned_energy_ros.ros.conversions import camera_to_camera_info, sec_to_stamp
    from learned_energy_ros.ros.images import rgb_to_image
    from learned_energy_ros.ros.run import NodeRunner

    rgb = basketball(1)
    camera = guess_camera(rgb.shape[1], rgb.shape[0])
    params = {"keypoint_detector": {"device": "cpu", "publish_overlay": False},
              "pose_lifter": {"device": "cpu", "input_skeleton": "mediapipe33", "publish_overlay": False}}
    got, e2e = {}, []
    with NodeRunner(["keypoint_detector", "pose_lifter"], parameters=params) as runner:
        import rclpy
        node = rclpy.create_node("latency_driver", context=runner.context)
        qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        pub_image, pub_info = node.create_publisher(Image, "/image", qos), node.create_publisher(CameraInfo, "/camera_info", qos)
        node.create_subscription(PointCloud2, "/pose_lifter/joints",
                                 lambda m: got.setdefault((m.header.stamp.sec, m.header.stamp.nanosec), time.perf_counter()), qos)
        runner.executor.add_node(node)
        time.sleep(2.0)
        for i in range(frames + 2):
            stamp = time.time()
            header = Header(stamp=sec_to_stamp(stamp), frame_id=camera.frame_id)
            image, info = rgb_to_image(rgb, header, "bgr8"), camera_to_camera_info(camera, header)
            start = time.perf_counter()
            pub_image.publish(image)
            pub_info.publish(info)
            key = (header.stamp.sec, header.stamp.nanosec)
            while key not in got and time.perf_counter() - start < 10:
                time.sleep(0.001)
            if i >= 2 and key in got:  # the first frames warm up
                e2e.append(1e3 * (got[key] - start))
            time.sleep(0.3)
        det = runner.nodes["keypoint_detector"].stats.summary()
        lift = runner.nodes["pose_lifter"].stats.summary()
        node.destroy_node()
    end_to_end = statistics.median(e2e)
    return {"frames": len(e2e), "end_to_end_ms": end_to_end, "detector_node_ms": det["latency_mean_ms"],
            "lifter_node_ms": lift["latency_mean_ms"],
            "overhead_ms": end_to_end - det["latency_mean_ms"] - lift["latency_mean_ms"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--frames", type=int, default=12)
    p.add_argument("--threads", type=int, default=1, help="torch threads (the lifter is small: 1 avoids waits on a busy CPU)")
    p.add_argument("--json")
    args = p.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    core = core_latency(args.repeats)
    for r in core:
        print(f"{r['image']:<22}{r['size']:>9} tiles {r['tiles']} people {r['people']}: detect {r['detect_ms']:6.0f} ms, "
              f"lift {r['lift_ms']:5.1f} ms")
    ros = ros_latency(args.frames)
    print(f"ROS chain (basketball1, {ros['frames']} frames): end to end {ros['end_to_end_ms']:.0f} ms = detector node "
          f"{ros['detector_node_ms']:.0f} + lifter node {ros['lifter_node_ms']:.1f} + overhead {ros['overhead_ms']:.0f} ms")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"core": core, "ros": ros, "cpu_count": os.cpu_count(), "torch_threads": args.threads,
                       "load_1min": os.getloadavg()[0]}, f, indent=1, default=float)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
