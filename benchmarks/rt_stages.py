"""Profile mode: per-stage cost of one pose_lifter frame (deserialize ... publish), for 1 and 10 people.

Usage:
    python benchmarks/rt_stages.py --persons 1 10 --frames 300 --out docs/benchmarks/rt/stages.json
    python benchmarks/rt_stages.py --cprofile stages.prof   # also a cProfile of the whole loop

Runs in one process, no DDS traffic: the node's own functions are called in the
node's order on pre-serialized messages of the load driver's scene, each stage
timed with ``perf_counter`` (median and p95 over the frames, after 30 warm-up
frames). ``validate`` = parsing the messages + the pipeline minus its track, lift
and smooth parts; ``markers`` = ``result_to_messages`` minus a separately timed
``joints_to_cloud``. Works against an older checkout too (``PYTHONPATH=OLD``). ``publish`` is a real rclpy publisher (serialization + rcl); with no
subscriber FastDDS sends nothing, so transport is not part of it.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import sys
import time
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _load_common import machine_load, write_json  # noqa: E402
from load_pose import make_scene  # noqa: E402

STAGES = ("deserialize", "sync", "validate", "track", "lift", "smooth", "markers", "joints_cloud", "publish")


class Timer:
    """Accumulate per-stage wall times of the current frame."""

    def __init__(self):
        self.frame, self.all = {}, defaultdict(list)

    def wrap(self, name, fn):
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.frame[name] = self.frame.get(name, 0.0) + time.perf_counter() - t
        return timed

    def end_frame(self, keep: bool) -> None:
        if keep:
            for name in STAGES:
                self.all[name].append(self.frame.get(name, 0.0))
        self.frame = {}


def run(persons: int, frames: int, warmup: int = 30) -> dict:
    import rclpy
    from rclpy.serialization import deserialize_message, serialize_message
    from sensor_msgs.msg import CameraInfo, PointCloud2
    from std_msgs.msg import Header
    from visualization_msgs.msg import MarkerArray
    from learned_energy_ros.pose.lifter import load_lifter
    from learned_energy_ros.pose.pipeline import PipelineConfig, PosePipeline
    from learned_energy_ros.ros.clouds import joints_to_cloud
    from learned_energy_ros.ros.conversions import camera_to_camera_info, keypoints_to_cloud, sec_to_stamp
    from learned_energy_ros.ros.params import POSE_LIFTER_PARAMETERS, pipeline_settings
    from learned_energy_ros.ros.pose_io import messages_to_frame, result_to_messages
    from learned_energy_ros.ros.sync import ApproximateTimeSynchronizer

    cam, px, scores = make_scene(90, persons, seed=0)
    info_b = serialize_message(camera_to_camera_info(cam, Header(frame_id=cam.frame_id)))
    clouds_b = [serialize_message(keypoints_to_cloud(Header(frame_id=cam.frame_id), px[t], scores[t],
                                                     np.arange(persons))) for t in range(len(px))]
    defaults = {k: v[0] for k, v in POSE_LIFTER_PARAMETERS.items()}
    pipeline = PosePipeline(load_lifter("default", device="cpu"), PipelineConfig(**pipeline_settings(defaults)))
    timer = Timer()
    pipeline.tracker.update = timer.wrap("track", pipeline.tracker.update)
    pipeline._smooth_depth = timer.wrap("smooth", pipeline._smooth_depth)
    pipeline._confidence = timer.wrap("smooth", pipeline._confidence)
    try:  # this checkout: one batched lifter call per tick
        from learned_energy_ros.pose import multi
        multi.lift_prepared = timer.wrap("lift", multi.lift_prepared)
    except ImportError:  # an older checkout (--code-root): the pipeline calls lifter.lift
        pipeline.lifter.lift = timer.wrap("lift", pipeline.lifter.lift)
    sync = ApproximateTimeSynchronizer(2, 10, 0.02)
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("rt_stages", context=context)
    pub_markers = node.create_publisher(MarkerArray, "skeletons", 5)
    pub_joints = node.create_publisher(PointCloud2, "joints", 5)
    t0 = time.time() - 100.0
    try:
        for i in range(frames + warmup):
            stamp = sec_to_stamp(t0 + i / 30.0)
            t = time.perf_counter()
            info = deserialize_message(info_b, CameraInfo)
            cloud = deserialize_message(clouds_b[i % len(clouds_b)], PointCloud2)
            info.header.stamp = cloud.header.stamp = stamp
            timer.frame["deserialize"] = time.perf_counter() - t
            t = time.perf_counter()
            sync.add(0, info)
            pair = sync.add(1, cloud)
            timer.frame["sync"] = time.perf_counter() - t
            t = time.perf_counter()
            result = pipeline.process(messages_to_frame(*pair, pipeline.config.input_skeleton))
            timer.frame["validate"] = time.perf_counter() - t - sum(timer.frame.get(k, 0.0) for k in
                                                                    ("track", "lift", "smooth"))
            t = time.perf_counter()
            outputs = result_to_messages(result, cloud.header, 0.5)
            timer.frame["markers"] = time.perf_counter() - t
            t = time.perf_counter()
            joints = joints_to_cloud(cloud.header, result.joints, result.track_ids, result.confidence, result.energy)
            timer.frame["joints_cloud"] = time.perf_counter() - t
            timer.frame["markers"] -= timer.frame["joints_cloud"]  # result_to_messages builds both
            t = time.perf_counter()
            pub_markers.publish(outputs.markers)
            pub_joints.publish(outputs.joints)
            timer.frame["publish"] = time.perf_counter() - t
            timer.end_frame(i >= warmup)
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)
    stages = {name: {"median_ms": 1e3 * float(np.median(v)), "p95_ms": 1e3 * float(np.percentile(v, 95))}
              for name, v in timer.all.items()}
    per_frame = np.sum([timer.all[n] for n in STAGES if n != "lift"], axis=0)  # (frames,)
    return {"persons": persons, "frames": frames, "stages": stages,
            "outside_model_ms": {"median": 1e3 * float(np.median(per_frame)),
                                 "p95": 1e3 * float(np.percentile(per_frame, 95))}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--label", default="")
    parser.add_argument("--cprofile", default="", help="also write a cProfile of every run to this file")
    parser.add_argument("--out", default="rt_stages.json")
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    load_before = machine_load()
    profiler = cProfile.Profile() if args.cprofile else None
    if profiler:
        profiler.enable()
    runs = [run(p, args.frames) for p in args.persons]
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.cprofile)
    result = {"label": args.label, "machine_load_before": load_before, "machine_load_after": machine_load(),
              "torch_threads": args.threads, "runs": runs}
    write_json(args.out, result)
    for r in runs:
        print(f"{r['persons']:>3} persons: outside the model {r['outside_model_ms']['median']:.2f} ms median, "
              + ", ".join(f"{k} {v['median_ms']:.3f}" for k, v in r["stages"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
