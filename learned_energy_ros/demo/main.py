"""``learned-energy-ros demo``: the main job on embedded defaults.

A person (procedural motion, or ``--data`` mocap clips) is seen by a virtual
camera whose lens is swapped midway; keypoints, CameraInfo and rendered images
go over ROS 2 to the real ``pose_lifter`` node, twice (without and with
temporal smoothing); an object image goes to the ``voxel_reconstructor``.
Accuracy against ground truth is printed per phase and everything is written
to ``--out``: overlay video, frame strip, 3D plot, rosbag2, summary.json.
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import time
from pathlib import Path

import numpy as np

from learned_energy_ros.demo.person_motion import procedural_motion
from learned_energy_ros.demo.person_scene import build_scene

__all__ = ["main", "build_parser", "load_motion"]

log = logging.getLogger(__name__)



def build_parser() -> argparse.ArgumentParser:
    """Return the ``demo`` command-line parser."""
    p = argparse.ArgumentParser(prog="learned-energy-ros demo", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="demo_out", help="output folder (default ./demo_out)")
    p.add_argument("--frames", type=int, default=120, help="frames of the person scene (30 fps)")
    p.add_argument("--data", default=None, help="replay real mocap clips from this directory instead of the procedural motion")
    p.add_argument("--seed", type=int, default=0, help="seed of the motion, noise and object")
    p.add_argument("--no-voxel", action="store_true", help="skip the object reconstruction part")
    p.add_argument("--no-real", action="store_true", help="skip the real-image stage (detector + lifter on real photos)")
    p.add_argument("--device", default="auto", help="torch device of the nodes: auto, cpu, cuda")
    p.add_argument("--checkpoint", default="default", help="pose lifter checkpoint (default: the shipped one)")
    p.add_argument("--bag-storage", choices=("mcap", "sqlite3"), default="mcap", help="rosbag2 storage format")
    p.add_argument("--domain-id", type=int, default=None, help="ROS_DOMAIN_ID (default: a random private one)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each frame's answer")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return p


def _isolate_ros(domain_id: int | None) -> int:
    """Keep DDS traffic on this machine and in a domain no other demo uses; return the domain id."""
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    domain = domain_id if domain_id is not None else random.SystemRandom().randint(120, 230)  # above the test suite's 1..101
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    return domain


def load_motion(data: str | None, frames: int, seed: int):
    """Return ``(joints (T, 27, 3) world, fps, segments, source name)`` from the procedural clip or ``--data``."""
    if data is None:
        motion = procedural_motion(frames, fps=30.0, seed=seed)
        return motion.joints, motion.fps, motion.segments, motion.name
    from learned_energy_ros.data.mocap import load_mocap_dir

    clips = [c for c in load_mocap_dir(data, fps=30) if len(c.joints) >= 8]
    if not clips:
        raise SystemExit(f"no usable motion-capture clips (>= 8 frames) in {data}")
    clip = clips[np.random.default_rng(seed).integers(len(clips))] if len(clips) > 1 else clips[0]
    longest = max(clips, key=lambda c: len(c.joints))
    clip = clip if len(clip.joints) >= frames else longest
    start = int(np.random.default_rng(seed).integers(0, max(1, len(clip.joints) - frames + 1)))
    joints = np.asarray(clip.joints[start:start + frames], dtype=np.float64)
    joints = joints - np.array([*np.median(joints[:, 0, :2], axis=0), 0.0])  # centre the path on the origin
    return joints, float(clip.fps), [("mocap", 0, len(joints))], f"{clip.name}[{start}:{start + len(joints)}]"


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return 0 on success, 1 when a part failed (with the reason printed)."""
    from learned_energy_ros.demo.pipeline import run_demo
    from learned_energy_ros.demo.session import DemoError

    args = build_parser().parse_args(argv)
    if args.frames < 8:
        raise SystemExit("--frames must be at least 8")
    domain = _isolate_ros(args.domain_id)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    joints, fps, segments, source = load_motion(args.data, args.frames, args.seed)
    scene = build_scene(joints, fps=fps, seed=args.seed, segments=segments)
    print(f"demo: {len(scene)} frames of {source}, camera swap at frame {scene.swap_frame}, "
          f"ROS_DOMAIN_ID={domain}, output in {out}/")
    try:
        summary = run_demo(scene, args, out, source=source, domain_id=domain)
    except DemoError as err:
        print(f"demo failed: {err}")
        return 1
    print(f"done in {time.perf_counter() - t0:.1f} s; outputs in {out}/")
    return 0 if summary.get("ok", False) else 1
