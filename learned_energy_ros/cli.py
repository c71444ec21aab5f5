"""Console entry point ``learned-energy-ros <command>``: dispatch to thin ``main(argv)`` functions."""
from __future__ import annotations

import importlib
import logging
import sys

# command -> (module, one-line help). Each module exposes ``main(argv) -> int``.
COMMANDS = {
    "demo": ("learned_energy_ros.demo.main", "play the built-in scene through the real nodes and report accuracy"),
    "demo-multiview": ("learned_energy_ros.demo.multiview", "two calibrated cameras, one skeleton: a picture of fused vs single-view lifts"),
    "run": ("learned_energy_ros.ros.run", "start the nodes in one process with a params file (pip equivalent of the launch file)"),
    "train-lifter": ("learned_energy_ros.pose.train_cli", "train the IGE pose lifter or a baseline on motion capture"),
    "eval-lifter": ("learned_energy_ros.pose.eval_cli", "evaluate lifter checkpoints and baselines on motion capture"),
    "train-voxel": ("learned_energy_ros.vox.train_cli", "train the IGE voxel reconstructor or its baseline on meshes"),
    "eval-voxel": ("learned_energy_ros.vox.eval_cli", "evaluate voxel checkpoints on meshes"),
    "process-bag": ("learned_energy_ros.ros.process_bag", "run the pipeline offline on a rosbag2 and write the outputs"),
    "process-video": ("learned_energy_ros.ros.process_video", "detector + lifter offline on a video file: overlay, 3D plot, rosbag2, joints.json"),
}


def _usage() -> str:
    lines = ["usage: learned-energy-ros <command> [options]", "", "commands:"]
    lines += [f"  {name:<15} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines.append("\n`learned-energy-ros <command> --help` shows a command's options.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run one sub-command and return its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(name)s: %(message)s")
    module = importlib.import_module(COMMANDS[command][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
