"""``learned-energy-ros run``: start the nodes in one process and bring them to active.

The pip-install equivalent of ``launch/perception.launch.py``. ``NodeRunner``
is the in-process API the demo and the tests use::

    with NodeRunner(["pose_lifter"], parameters={"pose_lifter": {"device": "cpu"}},
                    remappings={"keypoints": "/camera/keypoints"}) as runner:
        ...  # nodes are active, spinning in a SingleThreadedExecutor thread
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter

from learned_energy_ros.ros.camera_profile import add_camera_arguments, camera_profile
from learned_energy_ros.ros.worker import spin_resilient

logger = logging.getLogger(__name__)

__all__ = ["NodeRunner", "NODE_MODULES", "spin_nodes", "main"]

#: node name -> module defining it (imported lazily: the voxel node is optional)
NODE_MODULES = {
    "pose_lifter": "learned_energy_ros.ros.pose_lifter_node",
    "voxel_reconstructor": "learned_energy_ros.ros.voxel_node",
    "keypoint_detector": "learned_energy_ros.ros.keypoint_detector_node",
    "video_camera": "learned_energy_ros.ros.video_camera",
}


def node_class(name: str):
    """Return the node class for ``name``; raises ImportError when its module is absent."""
    module = importlib.import_module(NODE_MODULES[name])
    explicit = getattr(module, "NODE_CLASS", None)
    if explicit is not None:
        return explicit
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass)
               if issubclass(c, Node) and c.__module__ == module.__name__]
    if len(classes) != 1:
        raise ImportError(f"{module.__name__} defines {len(classes)} node classes; set NODE_CLASS")
    return classes[0]


class NodeRunner:
    """Context manager: create nodes in a private context, spin them in a thread, configure + activate.

    Args:
        nodes: node names (keys of ``NODE_MODULES``); absent optional modules are skipped with a warning.
        params_file: ROS 2 parameter YAML (``<node>: ros__parameters: ...``).
        parameters: per-node overrides ``{node: {name: value}}`` (win over the file).
        remappings: topic remappings ``{from: to}`` applied to every node.
        namespace: namespace of every node.
        ros_args: extra ``--ros-args`` arguments.
        activate: bring lifecycle nodes to active (else leave them unconfigured).
    Raises:
        RuntimeError: on entry, when a node fails to configure or activate.
    """

    def __init__(self, nodes=("pose_lifter",), params_file: str | Path | None = None, parameters: dict | None = None,
                 remappings: dict | None = None, namespace: str = "", ros_args=(), activate: bool = True):
        self.names, self.params_file, self.parameters = list(nodes), params_file, parameters or {}
        self.remappings, self.namespace, self.ros_args, self.activate = remappings or {}, namespace, list(ros_args), activate
        self.nodes: dict[str, Node] = {}
        self.context = self.executor = self._thread = None

    def _args(self) -> list[str]:
        args = ["--ros-args"]
        if self.params_file:
            args += ["--params-file", str(self.params_file)]
        for src, dst in self.remappings.items():
            args += ["-r", f"{src}:={dst}"]
        return args + self.ros_args

    def __enter__(self) -> "NodeRunner":
        self.context = rclpy.Context()
        rclpy.init(args=self._args(), context=self.context)
        try:
            self._create_nodes()
            # one thread for every callback: they only translate and queue; each node's model
            # runs on its own worker thread (worker.py explains why not a MultiThreadedExecutor)
            self.executor = SingleThreadedExecutor(context=self.context)
            for node in self.nodes.values():
                self.executor.add_node(node)
            self._thread = threading.Thread(target=self._spin, name="node-runner", daemon=True)
            self._thread.start()
            if self.activate:
                for name, node in self.nodes.items():
                    self._transition(name, node, "configure")
                    self._transition(name, node, "activate")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _create_nodes(self) -> None:
        for name in self.names:
            if name not in NODE_MODULES:
                raise ValueError(f"unknown node {name!r}; known: {', '.join(NODE_MODULES)}")
            try:
                cls = node_class(name)
            except ImportError as err:
                logger.warning("skipping node %s: %s", name, err)
                continue
            overrides = [Parameter(k, value=v) for k, v in self.parameters.get(name, {}).items()]
            self.nodes[name] = cls(node_name=name, namespace=self.namespace, context=self.context,
                                   parameter_overrides=overrides)

    def _spin(self) -> None:
        try:
            spin_resilient(self.executor)
        except (ExternalShutdownException, rclpy.executors.ShutdownException):
            pass

    @staticmethod
    def _transition(name: str, node, which: str) -> None:
        if not isinstance(node, LifecycleNode):
            return
        result = getattr(node, f"trigger_{which}")()
        if result != TransitionCallbackReturn.SUCCESS:
            raise RuntimeError(f"node {name} failed to {which} ({result.name}); see its log")

    def __exit__(self, *exc) -> None:
        for name, node in self.nodes.items():
            if isinstance(node, LifecycleNode) and node._state_machine.current_state[1] == "active":
                try:
                    node.trigger_deactivate()
                    node.trigger_cleanup()
                except Exception as err:  # noqa: BLE001 (best effort on the way out)
                    logger.warning("stopping %s: %s", name, err)
        if self.executor is not None:
            self.executor.shutdown(timeout_sec=2.0)
        for node in self.nodes.values():
            node.destroy_node()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self.context is not None and self.context.ok():
            rclpy.shutdown(context=self.context)


def spin_nodes(nodes=("pose_lifter",), params_file=None, **kwargs) -> None:
    """Run ``NodeRunner`` until Ctrl-C or an external shutdown."""
    with NodeRunner(nodes, params_file, **kwargs) as runner:
        logger.info("active: %s (Ctrl-C to stop)", ", ".join(runner.nodes) or "no nodes")
        try:
            while runner.context.ok() and runner._thread.is_alive():
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass


def run_camera_groups(groups: list[str], argv: list[str], ros_args: list[str]) -> int:
    """Start one ``run`` process per camera group (``"cam0,cam1"``) and wait for them all.

    Group k is a ``pose_lifter`` in namespace ``/pose_group<k>`` serving its cameras by
    absolute name, so every camera keeps the topics it would have alone
    (``/<cam>/camera_info`` ... -> ``/<cam>/pose_lifter/joints``) whatever the grouping;
    a group that exits stops the others. Ctrl-C / SIGTERM stop every group (SIGTERM: a
    background shell leaves its children deaf to SIGINT).
    """
    cameras = [["/" + c.strip().strip("/") for c in g.split(",") if c.strip()] for g in groups]
    procs = [subprocess.Popen([sys.executable, "-m", "learned_energy_ros.cli", "run", *argv, "--namespace",
                               f"/pose_group{k}", "--cameras", ",".join(cams), *(["--ros-args", *ros_args] if ros_args else [])])
             for k, cams in enumerate(cameras)]
    logger.info("camera groups: %s", "; ".join(f"pid {p.pid}: {' '.join(c)}" for p, c in zip(procs, cameras)))
    stop = lambda *_: [p.terminate() for p in procs if p.poll() is None]  # noqa: E731
    signal.signal(signal.SIGTERM, stop)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    stop()
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(timeout=20))
        except subprocess.TimeoutExpired:
            p.kill()
            codes.append(p.wait())
    return max(abs(c) for c in codes)


def main(argv: list[str] | None = None) -> int:
    """Parse ``run`` arguments (``--params-file``, ``--nodes``, ``--namespace``, ``--cameras``,
    ``--camera-groups``, ``--ros-args ...``) and spin."""
    argv = list(argv or [])
    ros_args = argv[argv.index("--ros-args") + 1:] if "--ros-args" in argv else []
    argv = argv[: argv.index("--ros-args")] if "--ros-args" in argv else argv
    parser = argparse.ArgumentParser(prog="learned-energy-ros run", description=__doc__.split("\n")[0])
    parser.add_argument("--params-file", help="ROS 2 parameter YAML, e.g. config/pose_lifter.yaml")
    parser.add_argument("--nodes", default="pose_lifter", help=f"comma-separated, from: {', '.join(NODE_MODULES)}")
    parser.add_argument("--namespace", default="", help="namespace for every node")
    parser.add_argument("--no-activate", action="store_true", help="leave lifecycle nodes unconfigured")
    add_camera_arguments(parser)
    parser.add_argument("--cameras", default="", help="comma-separated camera namespaces one pose_lifter serves "
                        "(its 'cameras' parameter), e.g. cam0,cam1")
    parser.add_argument("--camera-groups", nargs="+", metavar="CAMS", default=[],
                        help="one process per group of cameras, e.g. cam0,cam1 cam2,cam3 (docs/reliability.md)")
    args = parser.parse_args(argv)
    if args.camera_groups:
        rest = [a for a in argv if a not in args.camera_groups and a != "--camera-groups"]
        return run_camera_groups(args.camera_groups, rest, ros_args)
    if args.params_file and not Path(args.params_file).is_file():
        parser.error(f"params file {args.params_file} does not exist")
    nodes, profile = camera_profile(args, parser)
    names = [n.strip() for n in nodes.split(",") if n.strip()]
    unknown = [n for n in names if n not in NODE_MODULES]
    if unknown:
        parser.error(f"unknown node(s) {unknown}; choose from {', '.join(NODE_MODULES)}")
    parameters = dict(profile.get("parameters") or {})
    if args.cameras:
        cameras = [c.strip() for c in args.cameras.split(",") if c.strip()]
        parameters["pose_lifter"] = {**parameters.get("pose_lifter", {}), "cameras": cameras}
    try:
        spin_nodes(names, args.params_file, namespace=args.namespace, parameters=parameters,
                   remappings=profile.get("remappings"), ros_args=profile.get("ros_args", []) + ros_args,
                   activate=not args.no_activate)
    except RuntimeError as err:
        print(f"error: {err}")
        return 1
    return 0
