"""Per-frame cost of the pose node's TF and REP-155 publishing (``HumanOutputs.publish``), 1 and 10 people.

    .venv/bin/python benchmarks/humans_cost.py [--people 1 10] [--repeats 300] [--json FILE]

Times what the node's worker adds to a lifted frame: body frames (numpy), the
transforms serialized and published on ``/tf`` (``publish_tf``), and the
``/humans/bodies`` messages (``publish_hri``: tracked list, per body Skeleton2D and
ROI), each alone and both, with a subscriber on every topic so the messages really
go out. For comparison it also times the message-object path a tf2_ros
``TransformBroadcaster`` needs (``transform_messages`` + publish).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from types import SimpleNamespace

import numpy as np
import rclpy
from rclpy.parameter import Parameter
from std_msgs.msg import Header

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.skeleton import MOCAP_SKELETON, remap_joints
from learned_energy_ros.pose.body_frames import body_frames
from learned_energy_ros.pose.synthetic import random_poses
from learned_energy_ros.ros.body_tf import body_id, body_transforms, transform_messages
from learned_energy_ros.ros.conversions import sec_to_stamp
from learned_energy_ros.ros.humans import HumanOutputs

CAMERA = Camera.pinhole(500.0, 500.0, 319.5, 239.5, 640, 480, "camera_optical_frame")


def fake_result(people: int, rng) -> SimpleNamespace:
    """A ``FrameResult``-like frame of ``people`` lifted persons 3-6 m away (h36m17 3D, coco17 2D)."""
    poses = random_poses(people, rng).astype(np.float64)  # (P, 27, 3) world, z up
    cam = np.stack([poses[..., 0], -(poses[..., 2] - 1.0), poses[..., 1] + rng.uniform(3, 6, (people, 1))], -1)
    joints = remap_joints(cam, np.ones(cam.shape[:2]), MOCAP_SKELETON, "h36m17")[0]
    coco = remap_joints(cam, np.ones(cam.shape[:2]), MOCAP_SKELETON, "coco17")[0]
    return SimpleNamespace(track_ids=np.arange(people), joints=joints, skeleton="h36m17", camera=CAMERA,
                           keypoints=CAMERA.project(coco), scores=np.full((people, 17), 0.9), vanished=[])


def measure(node, outputs, result, header, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        outputs.publish(result, header)
        times.append(time.perf_counter() - start)
        node.executor_spin()
    return 1000 * float(np.median(times))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--json", help="also write the table here")
    args = parser.parse_args(argv)
    rclpy.init()
    node = rclpy.create_node("humans_cost", parameter_overrides=[])
    values = {"publish_tf": True, "publish_hri": True, "hri_namespace": "/humans/bodies", "body_id_prefix": "b",
              "qos_depth": 5}
    node.param = values.__getitem__
    node.pipeline = SimpleNamespace(config=SimpleNamespace(input_skeleton="coco17"))
    node._warn = lambda reason, text: node.get_logger().warning(text)
    sink = rclpy.create_node("humans_cost_sink")  # a subscriber on each topic, so publishing is real
    executor = rclpy.executors.SingleThreadedExecutor()
    executor.add_node(sink)
    node.executor_spin = lambda: executor.spin_once(timeout_sec=0)
    outputs = HumanOutputs(node)
    from hri_msgs.msg import IdsList, NormalizedRegionOfInterest2D, Skeleton2D
    from tf2_msgs.msg import TFMessage
    sink.create_subscription(TFMessage, "/tf", lambda m: None, 100)
    sink.create_subscription(IdsList, "/humans/bodies/tracked", lambda m: None, 5)
    rows = []
    for people in args.people:
        for n in range(people):
            for kind, topic in ((Skeleton2D, "skeleton2d"), (NormalizedRegionOfInterest2D, "roi")):
                sink.create_subscription(kind, f"/humans/bodies/{body_id(n)}/{topic}", lambda m: None, 5)
        result = fake_result(people, np.random.default_rng(people))
        header = Header(stamp=sec_to_stamp(100.0), frame_id=CAMERA.frame_id)
        row = {"people": people}
        for label, tf, hri in (("tf_ms", True, False), ("hri_ms", False, True), ("both_ms", True, True)):
            values["publish_tf"], values["publish_hri"] = tf, hri
            row[label] = measure(node, outputs, result, header, args.repeats)
        frames = body_frames(result.joints, "h36m17")
        transforms = body_transforms(CAMERA.frame_id, frames, [body_id(t) for t in result.track_ids])
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            TFMessage(transforms=transform_messages(header.stamp, transforms))
            times.append(time.perf_counter() - start)
        row["tf_message_objects_ms"] = 1000 * float(np.median(times))
        row["transforms"] = len(transforms)
        rows.append(row)
        print(f"{people:>3} people: TF {row['tf_ms']:.2f} ms ({len(transforms)} transforms), "
              f"REP-155 topics {row['hri_ms']:.2f} ms, both {row['both_ms']:.2f} ms; "
              f"TransformStamped objects alone {row['tf_message_objects_ms']:.2f} ms", flush=True)
    outputs.close()
    rclpy.shutdown()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"per_frame_median": rows, "repeats": args.repeats}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
