"""Load test of voxel_reconstructor: one camera, per resolution, at the highest rate it sustains.

Usage:
    python benchmarks/load_voxel.py --resolutions 32 64 128 --rate 30 --duration 20 \
        --out docs/benchmarks/load_voxel.json

For each resolution a server process runs the real node (``NodeRunner``) and this
process publishes 640x480 bgr8 images + CameraInfo at ``--rate`` Hz (reliable, as
the node's default image QoS), stamped at publish time, and receives
``~/occupancy``. The node lifts what it can and drops the rest, so the output
rate is its maximum sustainable rate. 32 uses the shipped checkpoint; other
resolutions an untrained model of the same architecture (cost does not depend
on the weights).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _load_common import ProcMonitor, percentiles, start_server, write_json  # noqa: E402


def checkpoint_for(resolution: int, workdir: str) -> str:
    """The shipped checkpoint for its resolution, else an untrained one with the shipped architecture."""
    import torch
    from learned_energy_ros.vox.checkpoint import load_model, resolve_checkpoint, save_checkpoint
    from learned_energy_ros.vox.model import IGEConfig, IGEVoxelModel
    shipped = resolve_checkpoint("default").with_name(f"voxel_ige_{resolution}.pt")
    if shipped.is_file():
        return str(shipped)
    _, view, raw = load_model("default")
    args = {**raw["model_args"], "resolution": resolution}
    torch.manual_seed(0)
    model = IGEVoxelModel(IGEConfig(**args))
    view = type(view)(**{**view.__dict__, "resolution": resolution})
    return str(save_checkpoint(os.path.join(workdir, f"untrained_{resolution}.pt"), "ige", model, view,
                               {"untrained": True}))


def serve(args) -> None:
    import torch
    from learned_energy_ros.ros.run import NodeRunner
    torch.set_num_threads(args.threads)
    params = {"device": args.device, "checkpoint": args.checkpoint, "warn_period": 5.0}
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with NodeRunner(["voxel_reconstructor"], parameters={"voxel_reconstructor": params},
                    remappings={"image": "/lv/image", "camera_info": "/lv/camera_info"}):
        stop.wait()


def drive(args, server_pid: int) -> dict:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2
    from std_msgs.msg import Header
    from learned_energy_ros.core.camera import Camera
    from learned_energy_ros.ros.conversions import camera_to_camera_info, rgb_to_image, sec_to_stamp
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("load_voxel_driver", context=context)
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    pub_image, pub_info = node.create_publisher(Image, "/lv/image", qos), node.create_publisher(CameraInfo, "/lv/camera_info", qos)
    latencies, t0 = [], time.monotonic()
    node.create_subscription(PointCloud2, "/voxel_reconstructor/occupancy", lambda m: latencies.append(
        (time.monotonic() - t0, time.time() - (m.header.stamp.sec + 1e-9 * m.header.stamp.nanosec))), 50)
    diagnostics = {}
    node.create_subscription(DiagnosticArray, "/diagnostics", lambda m: diagnostics.update(
        {kv.key: kv.value for s in m.status if "voxel" in s.name for kv in s.values}), 10)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    threading.Thread(target=executor.spin, daemon=True).start()
    camera = Camera.from_fov(60.0, 640, 480, "camera_optical_frame")
    rgb = np.random.default_rng(0).integers(0, 255, (480, 640, 3), dtype=np.uint8)
    image, info = rgb_to_image(rgb, Header(frame_id=camera.frame_id)), camera_to_camera_info(camera, Header(frame_id=camera.frame_id))
    deadline = time.time() + 120
    while time.time() < deadline and not (pub_image.get_subscription_count() and node.count_publishers(
            "/voxel_reconstructor/occupancy")):
        time.sleep(0.2)
    time.sleep(1.0)
    monitor = ProcMonitor(server_pid)
    monitor.start()
    published, start, period = 0, time.monotonic(), 1.0 / args.rate
    t0 = start
    while time.monotonic() - start < args.duration + args.warmup:
        image.header.stamp = info.header.stamp = sec_to_stamp(time.time())
        pub_info.publish(info)
        pub_image.publish(image)
        published += 1
        time.sleep(max(0.0, start + published * period - time.monotonic()))
    elapsed = time.monotonic() - start
    time.sleep(2.0)
    monitor.stop.set()
    steady = [(t, lat) for t, lat in latencies if t >= args.warmup]
    executor.shutdown(timeout_sec=1.0)
    rclpy.shutdown(context=context)
    cpu = [c for t, _, c in monitor.samples if t >= args.warmup]
    return {"input_rate_hz": published / elapsed, "output_rate_hz_steady": len(steady) / max(args.duration, 1e-9),
            "received": len(latencies), "published": published,
            "latency_ms_after_warmup": percentiles([lat for _, lat in steady]),
            "cpu_percent_mean": float(np.mean(cpu)) if cpu else float("nan"),
            "rss_mib_last": monitor.samples[-1][1] if monitor.samples else float("nan"),
            "diagnostics": {k: v for k, v in diagnostics.items() if k.startswith(("skipped", "lost", "received",
                                                                                  "frames", "latency", "sync"))}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resolutions", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--rate", type=float, default=30.0, help="input rate (above what the node sustains)")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="load_voxel.json")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", default="default", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 101))
    if args.serve:
        serve(args)
        return 0
    results = {"setup": {k: getattr(args, k) for k in ("rate", "duration", "warmup", "device", "threads")},
               "cpu_count": os.cpu_count(), "load_average_at_start": os.getloadavg(), "resolutions": {}}
    with tempfile.TemporaryDirectory() as workdir:
        for resolution in args.resolutions:
            checkpoint = checkpoint_for(resolution, workdir)
            server = start_server([os.path.abspath(__file__), "--serve", "--checkpoint", checkpoint, "--device",
                                   args.device, "--threads", str(args.threads)])
            try:
                results["resolutions"][str(resolution)] = {"checkpoint": os.path.basename(checkpoint),
                                                           **drive(args, server.pid)}
            finally:
                server.send_signal(signal.SIGINT)
                try:
                    server.wait(timeout=20)
                except Exception:  # noqa: BLE001
                    server.kill()
            print(resolution, results["resolutions"][str(resolution)])
    write_json(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
