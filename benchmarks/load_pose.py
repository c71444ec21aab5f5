"""Load test of pose_lifter: C cameras x R Hz x P persons through real nodes over loopback DDS.

Usage:
    python benchmarks/load_pose.py --duration 30 --out docs/benchmarks/load_pose_30s.json
    python benchmarks/load_pose.py --duration 600 --out docs/benchmarks/load_pose_600s.json --plot docs/img/load_pose_600s.png

One server process runs one pose_lifter per camera namespace (``/cam<i>/pose_lifter``);
this process publishes camera_info + keypoint clouds (sensor-data QoS, header
stamped at publish time), receives ``~/joints`` and ``/diagnostics``, and samples
the server's RSS and CPU from /proc. End-to-end latency = receipt time - stamp.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _load_common import (ProcMonitor, memory_growth, percentiles, plot, start_server, wait_until_connected,  # noqa: E402
                          write_json)


def serve(args) -> None:
    """Server process: one active pose_lifter per camera, spinning until SIGINT/SIGTERM."""
    import rclpy
    import torch
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from learned_energy_ros.ros.pose_lifter_node import PoseLifterNode
    torch.set_num_threads(args.threads)
    signal.signal(signal.SIGTERM, lambda *_: rclpy.shutdown())
    rclpy.init()
    params = {"device": args.device, "publish_overlay": False, "warn_period": 5.0, "max_pending": args.max_pending,
              "qos_depth": args.qos_depth}
    nodes = [PoseLifterNode(namespace=f"/cam{i}", parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
             for i in range(args.cameras)]
    for node in nodes:
        node.trigger_configure()
        node.trigger_activate()
    executor = SingleThreadedExecutor()  # callbacks only queue; each node lifts on its own worker thread
    for node in nodes:
        executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass


def make_scene(num_frames: int, persons: int, seed: int):
    """Return ``(camera, keypoints (T, P, 17, 2), scores (T, P, 17))``: P people walking in front of a camera."""
    from learned_energy_ros.core.camera import Camera
    from learned_energy_ros.core.skeleton import MOCAP_SKELETON, remap_joints
    from learned_energy_ros.pose.synthetic import random_poses
    rng = np.random.default_rng(seed)
    cam = Camera.from_fov(90.0, 640, 480, "camera_optical_frame")
    poses = random_poses(persons, rng)  # (P, 27, 3) world z-up
    poses -= poses[:, :1] * [1, 1, 0]
    start = np.stack([rng.uniform(-3, 3, persons), rng.uniform(4, 9, persons), np.zeros(persons)], -1)  # (P, 3)
    velocity = rng.uniform(-0.6, 0.6, (persons, 1)) * [1, 0, 0]
    frames = []
    for t in range(num_frames):
        world = poses + (start + velocity * t / 30.0)[:, None]  # (P, 27, 3)
        optical = np.stack([world[..., 0], -(world[..., 2] - 1.2), world[..., 1]], -1)
        frames.append(np.stack([remap_joints(p, np.ones(27), MOCAP_SKELETON, "coco17")[0] for p in optical]))
    pts = np.stack(frames)  # (T, P, 17, 3)
    px = cam.project(pts.reshape(-1, 3)).reshape(num_frames, persons, 17, 2)
    return cam, px, np.full(px.shape[:3], 0.9)


class Driver:
    """Publish C cameras at R Hz and record ~/joints latencies and /diagnostics."""

    def __init__(self, args):
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, PointCloud2
        from std_msgs.msg import Header
        from learned_energy_ros.ros.conversions import camera_to_camera_info, keypoints_to_cloud
        rclpy.init()
        self.args, self.node = args, rclpy.create_node("load_driver")
        self.t0 = time.monotonic()
        self.latencies, self.received, self.published = [], [0] * args.cameras, [0] * args.cameras
        self.diagnostics: dict[str, dict] = {}
        self.pubs, self.clouds, self.infos = [], [], []
        reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        for i in range(args.cameras):
            ns = f"/cam{i}"
            self.pubs.append((self.node.create_publisher(CameraInfo, f"{ns}/camera_info", qos_profile_sensor_data),
                              self.node.create_publisher(PointCloud2, f"{ns}/keypoints", qos_profile_sensor_data)))
            self.node.create_subscription(PointCloud2, f"{ns}/pose_lifter/joints",
                                          lambda m, i=i: self._on_joints(i, m), reliable)
            cam, px, scores = make_scene(90, args.persons, seed=i)
            self.infos.append(camera_to_camera_info(cam, Header(frame_id=cam.frame_id)))
            self.clouds.append([keypoints_to_cloud(Header(frame_id=cam.frame_id), px[t], scores[t],
                                                   np.arange(args.persons)) for t in range(len(px))])
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 50)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        threading.Thread(target=self._spin, daemon=True).start()

    def _spin(self):
        try:
            self.executor.spin()
        except Exception:  # noqa: BLE001 (shutdown)
            pass

    def _on_joints(self, cam: int, msg) -> None:
        now = time.time()
        stamp = msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec
        self.received[cam] += 1
        self.latencies.append((time.monotonic() - self.t0, now - stamp))

    def _on_diag(self, msg) -> None:
        for status in msg.status:
            if "pose_lifter" in status.name:
                self.diagnostics[status.hardware_id] = {kv.key: kv.value for kv in status.values}

    def wait_connected(self, timeout: float = 120.0) -> None:
        wait_until_connected(lambda: all(p[1].get_subscription_count() for p in self.pubs), timeout, "pose_lifter nodes")

    def publish_for(self, duration: float) -> float:
        """Publish every camera at the rate for ``duration`` s; return the achieved seconds."""
        from learned_energy_ros.ros.conversions import sec_to_stamp
        period, start, tick = 1.0 / self.args.rate, time.monotonic(), 0
        while time.monotonic() - start < duration:
            for i, (pub_info, pub_kp) in enumerate(self.pubs):
                stamp = sec_to_stamp(time.time())
                cloud = self.clouds[i][tick % len(self.clouds[i])]
                cloud.header.stamp = self.infos[i].header.stamp = stamp
                pub_info.publish(self.infos[i])
                pub_kp.publish(cloud)
                self.published[i] += 1
            tick += 1
            time.sleep(max(0.0, start + tick * period - time.monotonic()))
        return time.monotonic() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--persons", type=int, default=10)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds excluded from latency/RSS statistics")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-pending", type=int, default=2)
    parser.add_argument("--qos-depth", type=int, default=5, help="the node's reader/writer history depth")
    parser.add_argument("--out", default="load_pose.json")
    parser.add_argument("--plot", default="")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 101))
    if args.serve:
        serve(args)
        return 0
    server = start_server([os.path.abspath(__file__), "--serve", "--cameras", str(args.cameras), "--device", args.device,
                           "--threads", str(args.threads), "--max-pending", str(args.max_pending),
                           "--qos-depth", str(args.qos_depth)])
    try:
        driver = Driver(args)
        driver.wait_connected()
        monitor = ProcMonitor(server.pid)
        monitor.t0 = driver.t0 = time.monotonic()
        monitor.start()
        seconds = driver.publish_for(args.duration + args.warmup)
        time.sleep(2.0)  # last outputs and one more /diagnostics
        monitor.stop.set()
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except Exception:  # noqa: BLE001
            server.kill()
    steady = [lat for t, lat in driver.latencies if t >= args.warmup]
    cpu = [c for t, _, c in monitor.samples if t >= args.warmup]
    result = {
        "setup": {k: getattr(args, k) for k in ("cameras", "rate", "persons", "duration", "warmup", "device", "threads",
                                                 "max_pending", "qos_depth")},
        "cpu_count": os.cpu_count(), "load_average_at_end": os.getloadavg(),
        "published_frames": sum(driver.published), "received_joints": sum(driver.received),
        "input_rate_hz": sum(driver.published) / seconds, "output_rate_hz": sum(driver.received) / seconds,
        "latency_ms_after_warmup": percentiles(steady), "latency_ms_all": percentiles([x for _, x in driver.latencies]),
        "cpu_percent_mean": float(np.mean(cpu)) if cpu else float("nan"),
        "memory": memory_growth(monitor.samples, args.warmup), "diagnostics": driver.diagnostics,
        "rss_samples": [(round(t, 1), round(r, 1)) for t, r, _ in monitor.samples],
    }
    write_json(args.out, result)
    if args.plot:
        plot(args.plot, driver.latencies, monitor.samples,
             f"pose_lifter: {args.cameras} cameras x {args.rate:g} Hz x {args.persons} persons ({args.device})")
    summary = {k: result[k] for k in ("input_rate_hz", "output_rate_hz", "latency_ms_after_warmup", "cpu_percent_mean",
                                      "memory")}
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
