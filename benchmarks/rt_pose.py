"""Real-time regression benchmark of pose_lifter: answered share and stamp -> joints latency.

Usage:
    python benchmarks/rt_pose.py --persons 1 --duration 60 --out docs/benchmarks/rt/1cam_1p.json
    python benchmarks/rt_pose.py --cameras 4 --persons 10 --multi --out docs/benchmarks/rt/4cam_10p.json
    python benchmarks/rt_pose.py --code-root OLD_CHECKOUT ...   # the same load against another checkout
    python benchmarks/rt_pose.py --cameras 4 --persons 10 --fusion --fusion-steps 16 \
        --val ../shared/data/cmu_mocap/val --out docs/benchmarks/rt/fusion_4cam_10p_16steps.json

The server is the user's command, ``learned-energy-ros run --params-file``, in its own
process (one ``pose_lifter``; with ``--multi`` it serves every camera through the
``cameras`` parameter, else one ``run`` process per camera). The driver is
independent and cheap: every CameraInfo and keypoint cloud is serialized once up
front and only the 8 stamp bytes of the CDR buffer are patched before each raw
publish; ``~/joints`` is subscribed raw and its stamp read from the same bytes, so
the driver costs ~1-2 % of a core and does not disturb what it measures.

With ``--fusion`` the one node fuses the cameras (``fusion: true``, a rig YAML written for the run): 4 cameras
at the corners of a 6 x 6 m floor look at the same people (``val`` motion, 2 px noise), every camera's
keypoints are the projection of the same 3D skeletons, and all cameras of one instant carry the same stamp.
An instant is *answered* when at least one fused ``/pose_lifter/joints`` with its stamp arrives; its latency
runs from the last camera's keypoint publish of that instant to the first such output.
"""
from __future__ import annotations

import argparse
import os
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _load_common import (ProcMonitor, busy_loops, machine_load, memory_growth, percentiles, thread_cpu, wait_until_connected,  # noqa: E402
                          write_json)
from load_pose import make_scene  # noqa: E402

_STAMP = struct.Struct("<iI")  # CDR: 4-byte encapsulation header, then header.stamp (sec, nanosec)


def write_params(path: str, cameras: int, multi: bool, extra: dict) -> None:
    """Write the server's params file (no overlay; ``cameras`` list when ``multi``)."""
    lines = ["/**/pose_lifter:", "  ros__parameters:", '    device: "cpu"', "    publish_overlay: false"]
    if multi:
        lines.append(f"    cameras: [{', '.join(f'cam{i}' for i in range(cameras))}]")
    lines += [f"    {k}: {v}" for k, v in extra.items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def start_servers(args, params: str) -> list[subprocess.Popen]:
    """Start the nodes under test: ``learned-energy-ros run`` (one process with ``--multi``, else one
    per camera), or with ``--in-one-process`` the checkout's ``load_pose.py --serve`` (one node per
    camera in one process: the layout of the issue's first measurement)."""
    env = dict(os.environ)
    # `python -m` puts the working directory first on sys.path: run from the checkout under test
    root = os.path.abspath(args.code_root or os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = str(args.threads)
    if args.in_one_process:
        return [subprocess.Popen([sys.executable, os.path.join(root, "benchmarks", "load_pose.py"), "--serve",
                                  "--cameras", str(args.cameras), "--device", "cpu", "--threads", str(args.threads)],
                                 env=env, cwd=root)]
    cmd = [sys.executable, "-m", "learned_energy_ros.cli", "run", "--params-file", params]
    if args.multi:
        return [subprocess.Popen(cmd, env=env, cwd=root)]
    return [subprocess.Popen(cmd + ["--namespace", f"/cam{i}"], env=env, cwd=root) for i in range(args.cameras)]


def corner_poses(cameras: int) -> dict:
    """``{cam<k>: CameraPose}``: cameras at the corners of a 6 x 6 m floor, 6 m out, 2.5 m high, facing its centre."""
    from learned_energy_ros.pose.rig import CameraPose
    return {f"cam{k}": CameraPose.look_at([6.0 * np.cos(a), 6.0 * np.sin(a), 2.5], [0, 0, 0.9])
            for k, a in enumerate(np.radians(45 + 90 * np.arange(cameras)))}


def fusion_scene(val: str, persons: int, cameras: int, frames: int, seed: int = 0):
    """Return ``(camera, {name: CameraPose}, px (T, C, P, 17, 2), scores (T, C, P, 17))``.

    ``persons`` people with ``val`` motion on a 6 x 6 m floor, seen by ``cameras`` cameras at its corners,
    6 m from the centre, 2.5 m high (the scene of ``pose_multiview.py``'s latency), 2 px noise.
    """
    from learned_energy_ros.core.camera import Camera
    from learned_energy_ros.core.skeleton import MOCAP_SKELETON, remap_joints
    from learned_energy_ros.data.mocap import load_mocap_dir
    from learned_energy_ros.pose.dataset import stack_frames
    rng = np.random.default_rng(seed)
    world = stack_frames(load_mocap_dir(val, progress=False), 30.0)
    starts = rng.integers(0, len(world) - frames, size=persons)
    spots = np.stack(np.meshgrid(np.linspace(-2.4, 2.4, 4), np.linspace(-2.4, 2.4, 3)), -1).reshape(-1, 2)[:persons]
    cam = Camera.pinhole(640.0, 640.0, 640.0, 360.0, 1280, 720, "camera_optical_frame")  # ~90 deg wide
    poses = corner_poses(cameras)
    px, scores = [], []
    for t in range(frames):
        people = world[starts + t].astype(np.float64)
        people[..., :2] += spots[:, None] - people[:, :1, :2]
        coco = np.stack([remap_joints(p, np.ones(27), MOCAP_SKELETON, "coco17")[0] for p in people])
        px.append([]), scores.append([])
        for pose in poses.values():
            local = pose.to_camera(coco)
            uv = cam.project(local) + rng.normal(size=coco.shape[:2] + (2,)) * 2.0
            px[-1].append(uv)
            scores[-1].append(np.where(cam.in_image(uv) & (local[..., 2] > 0.1), 0.9, 0.0))
    return cam, poses, np.asarray(px), np.asarray(scores)


def write_rig(path: str, poses: dict) -> None:
    """The extrinsics YAML of ``poses`` (frame ``world``)."""
    lines = ["frame_id: world", "cameras:"]
    for name, pose in poses.items():
        rows = ", ".join("[" + ", ".join(f"{v:.9f}" for v in row) + "]" for row in pose.rotation)
        lines += [f"  {name}:", f"    translation: [{', '.join(f'{v:.9f}' for v in pose.translation)}]",
                  f"    rotation_matrix: [{rows}]"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


class RawDriver:
    """Publish pre-serialized inputs for C cameras and time the raw ``joints`` outputs."""

    def __init__(self, args):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
        from rclpy.serialization import serialize_message
        from sensor_msgs.msg import CameraInfo, PointCloud2
        from std_msgs.msg import Header
        from learned_energy_ros.ros.conversions import camera_to_camera_info, keypoints_to_cloud
        rclpy.init()
        self.args, self.node = args, rclpy.create_node("rt_driver")
        self.t0 = time.monotonic()
        self.latencies: list[tuple[float, float]] = []
        self.received, self.published = [0] * args.cameras, [0] * args.cameras
        self.pubs, self.infos, self.clouds = [], [], []
        self.instants: dict[bytes, float] = {}  # fusion: stamp bytes -> monotonic time of the last camera's publish
        self.answers: dict[bytes, list[float]] = {}  # fusion: stamp bytes -> monotonic receipt times
        reliable = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        fusion = getattr(args, "fusion", False)
        self.diagnostics: dict[str, dict] = {}  # fusion: the node's last /diagnostics (counts, per-camera health)
        if fusion:
            from diagnostic_msgs.msg import DiagnosticArray
            self.node.create_subscription(PointCloud2, "/pose_lifter/joints", self._on_fused, reliable, raw=True)
            self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)
            self.rig = fusion_scene(args.val, args.persons, args.cameras, 150)
        for i in range(args.cameras):
            ns = f"/cam{i}"
            out = f"{ns}/pose_lifter/joints"  # the same topic whether one node serves every camera or not
            self.pubs.append((self.node.create_publisher(CameraInfo, f"{ns}/camera_info", qos_profile_sensor_data),
                              self.node.create_publisher(PointCloud2, f"{ns}/keypoints", qos_profile_sensor_data)))
            if fusion:  # frames play forwards then backwards: no jump when the clip repeats
                cam, px, scores = self.rig[0], self.rig[2][:, i], self.rig[3][:, i]
                px, scores = np.concatenate([px, px[-2:0:-1]]), np.concatenate([scores, scores[-2:0:-1]])
            else:
                self.node.create_subscription(PointCloud2, out, lambda m, i=i: self._on_joints(i, m), reliable,
                                              raw=True)
                cam, px, scores = make_scene(90, args.persons, seed=i)
            header = Header(frame_id=f"{cam.frame_id}_{i}" if args.multi or fusion else cam.frame_id)
            self.infos.append(bytearray(serialize_message(camera_to_camera_info(cam, header))))
            self.clouds.append([bytearray(serialize_message(keypoints_to_cloud(header, px[t], scores[t],
                                                                              np.arange(args.persons))))
                                for t in range(len(px))])
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        threading.Thread(target=self._spin, daemon=True).start()

    def _spin(self) -> None:
        try:
            self.executor.spin()
        except Exception:  # noqa: BLE001 (shutdown)
            pass

    def _on_joints(self, cam: int, data: bytes) -> None:
        now = time.time()
        sec, nsec = _STAMP.unpack_from(data, 4)
        self.received[cam] += 1
        self.latencies.append((time.monotonic() - self.t0, now - (sec + 1e-9 * nsec)))

    def _on_diag(self, msg) -> None:
        for status in msg.status:
            self.diagnostics[status.name] = {kv.key: kv.value for kv in status.values}

    def _on_fused(self, data: bytes) -> None:
        self.answers.setdefault(bytes(data[4:12]), []).append(time.monotonic())
        self.received[0] += 1

    def fused_latencies(self, warmup: float) -> tuple[list[tuple[float, float]], int, int]:
        """``[(t, latency s)]`` of the answered instants published after ``warmup``, their count, extra outputs."""
        out, instants, extra = [], 0, 0
        for stamp, t_pub in self.instants.items():
            if t_pub - self.t0 < warmup:
                continue
            instants += 1
            got = self.answers.get(stamp)
            if got:
                out.append((t_pub - self.t0, min(got) - t_pub))
                extra += len(got) - 1
        return out, instants, extra

    def wait_connected(self, timeout: float = 180.0) -> None:
        wait_until_connected(lambda: all(p[1].get_subscription_count() for p in self.pubs)
                             and all(s.get_publisher_count() for s in self.node.subscriptions), timeout, "pose_lifter")

    def publish_for(self, duration: float) -> float:
        """Publish every camera at the rate for ``duration`` s; return the achieved seconds."""
        period, start, tick = 1.0 / self.args.rate, time.monotonic(), 0
        fusion = getattr(self.args, "fusion", False)
        while time.monotonic() - start < duration:
            now = time.time()
            for i, (pub_info, pub_kp) in enumerate(self.pubs):
                if not fusion:  # fusion: one stamp for all cameras of the instant
                    now = time.time()
                stamp = _STAMP.pack(int(now), int((now % 1.0) * 1e9))
                cloud = self.clouds[i][tick % len(self.clouds[i])]
                self.infos[i][4:12] = cloud[4:12] = stamp
                pub_info.publish(bytes(self.infos[i]))
                if fusion and i == len(self.pubs) - 1:
                    self.instants[stamp] = time.monotonic()
                pub_kp.publish(bytes(cloud))
                self.published[i] += 1
            tick += 1
            time.sleep(max(0.0, start + tick * period - time.monotonic()))
        return time.monotonic() - start


def latency_record(steady: list[float], keep: int = 20000) -> dict:
    """Every latency (ms) of a short run; the 1001 quantiles of a long one (the JSON stays small)."""
    if len(steady) <= keep:
        return {"latencies_ms": [round(1e3 * x, 2) for x in steady]}
    return {"latency_quantiles_ms": [round(float(q), 2) for q in np.quantile(np.asarray(steady) * 1e3,
                                                                             np.linspace(0, 1, 1001))]}


def answered_windows(driver, warmup: float, window: float = 5.0) -> list[float]:
    """Answered share per ``window`` seconds after warm-up (does the node tip over?)."""
    times = np.array([t for t, _ in driver.latencies if t >= warmup])
    expected = driver.args.rate * (1 if getattr(driver.args, "fusion", False) else driver.args.cameras) * window
    edges = np.arange(warmup, warmup + driver.args.duration + 1e-9, window)
    return [round(float(np.sum((times >= a) & (times < a + window)) / expected), 3) for a in edges[:-1]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", type=int, default=1)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--persons", type=int, default=1)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds excluded from the statistics")
    parser.add_argument("--threads", type=int, default=1, help="torch/OpenMP threads of the server")
    parser.add_argument("--multi", action="store_true", help="one node serving every camera (cameras parameter)")
    parser.add_argument("--in-one-process", action="store_true", help="one node per camera, all in one process")
    parser.add_argument("--fusion", action="store_true", help="one node fusing every camera (fusion: true, a rig YAML)")
    parser.add_argument("--fusion-steps", type=int, default=16, help="the node's fusion_steps (with --fusion)")
    parser.add_argument("--val", default="../shared/data/cmu_mocap/val", help="mocap motion of the fusion scene")
    parser.add_argument("--code-root", default="", help="import learned_energy_ros from this checkout instead")
    parser.add_argument("--background-load", type=int, default=0,
                        help="also spin this many busy-loop processes during the run (a busy robot computer)")
    parser.add_argument("--label", default="", help="free text stored in the JSON (e.g. 'before', 'after')")
    parser.add_argument("--out", default="rt_pose.json")
    args = parser.parse_args(argv)
    args.multi = args.multi or args.fusion  # fusion: one node serves every camera
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 101))
    load_before = machine_load()
    with tempfile.TemporaryDirectory() as tmp:
        params = os.path.join(tmp, "params.yaml")
        extra = {}
        if args.fusion:
            rig = os.path.join(tmp, "rig.yaml")
            write_rig(rig, corner_poses(args.cameras))
            extra = {"fusion": "true", "extrinsics": f'"{rig}"', "fusion_steps": args.fusion_steps}
        write_params(params, args.cameras, args.multi, extra)
        servers, hogs = start_servers(args, params), []
        try:
            driver = RawDriver(args)
            driver.wait_connected()
            hogs = busy_loops(args.background_load)
            monitors = [ProcMonitor(s.pid) for s in servers]
            for m in monitors:
                m.t0 = driver.t0 = time.monotonic()
                m.start()
            seconds = driver.publish_for(args.warmup)
            threads0 = thread_cpu(servers[0].pid)
            seconds += driver.publish_for(args.duration)
            threads1 = thread_cpu(servers[0].pid)
            time.sleep(1.0)
            for m in monitors:
                m.stop.set()
        finally:
            for h in hogs:
                h.kill()
            for s in servers:
                s.send_signal(signal.SIGINT)
            for s in servers:
                try:
                    s.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    s.kill()
    fused = {}
    if args.fusion:
        driver.latencies, instants, extra_outputs = driver.fused_latencies(args.warmup)
        fused = {"node_diagnostics_at_end": driver.diagnostics, "instants_published_after_warmup": instants,
                 "instants_answered": len(driver.latencies), "extra_outputs_for_an_answered_instant": extra_outputs,
                 "answered_definition": f"an instant ({args.cameras} camera frames with one stamp) is answered "
                                        "when a fused /pose_lifter/joints with its stamp arrives; latency: last "
                                        "camera's keypoint publish -> first such output"}
    steady = [lat for t, lat in driver.latencies if t >= args.warmup]
    expected = fused["instants_published_after_warmup"] if args.fusion else args.rate * args.cameras * args.duration
    result = {
        "label": args.label,
        "setup": {k: getattr(args, k) for k in ("cameras", "rate", "persons", "duration", "warmup", "threads", "multi",
                                                 "in_one_process", "fusion", "fusion_steps")},
        **fused,
        "code": "the checkout before (--code-root)" if args.code_root else "this checkout",
        "machine_load_before": load_before, "machine_load_after": machine_load(),
        "published_frames": sum(driver.published), "received_joints": sum(driver.received),
        "seconds": seconds, "answered": len(steady) / expected,
        "answered_per_5s": answered_windows(driver, args.warmup),
        "latency_ms": percentiles(steady, qs=(50, 95, 99)),
        "server_cpu_percent_mean": float(sum(np.mean([c for t, _, c in m.samples if t >= args.warmup] or [0.0])
                                             for m in monitors)),
        "server_threads_cpu_percent": sorted((round(100 * (threads1[t] - threads0.get(t, 0.0)) / args.duration, 1)
                                              for t in threads1), reverse=True)[:6],
        "background_load_processes": args.background_load,
        "memory": memory_growth(monitors[0].samples, args.warmup),
        "memory_last_8_min": memory_growth(monitors[0].samples, max(args.warmup, args.warmup + args.duration - 480)),
        "rss_samples": [(round(t, 1), round(r, 1)) for t, r, _ in monitors[0].samples],
        **latency_record(steady),
    }
    write_json(args.out, result)
    print({k: result[k] for k in ("label", "setup", "answered", "latency_ms", "server_cpu_percent_mean",
                                  "server_threads_cpu_percent", "machine_load_before", "machine_load_after")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
