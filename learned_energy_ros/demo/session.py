"""Play a ``DemoScene`` through the real ``pose_lifter`` node over ROS 2 and collect its answers.

The node runs in this process (its own rclpy node on the same executor as the
player), so messages still cross DDS exactly as between processes, but the
demo can drive it frame by frame: publish a frame, spin until the node's
skeleton for that stamp comes back (or a timeout), next frame.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["DemoError", "PassResult", "PoseSession"]

log = logging.getLogger(__name__)

# Stamps of successive passes are this far apart, longer than any track_timeout, so tracks restart.
_PASS_GAP_S = 100.0


class DemoError(RuntimeError):
    """Raised when a part of the demo cannot run (missing component, node failure)."""


@dataclass
class PassResult:
    """What the node answered in one pass over the scene."""

    name: str
    params: dict
    joints: np.ndarray  # (T, 17, 3) optical frame, NaN where no skeleton came back
    energy: np.ndarray  # (T,)
    latency_s: np.ndarray  # (T,) publish -> joints received, NaN when none
    overlays: list = field(default_factory=list)  # (T,) RGB images or None
    marker_arrays: int = 0
    wall_s: float = 0.0


class PoseSession:
    """Own rclpy, the ``pose_lifter`` node and the ``DemoPlayer`` for the demo's lifetime.

    Args:
        lifter_params: parameter overrides of the node (``device``, ...).
        topics: ``DemoTopics`` (the node's inputs are remapped onto them).
    """

    def __init__(self, lifter_params: dict, topics=None) -> None:
        try:
            import rclpy
            from rclpy.executors import SingleThreadedExecutor
            from rclpy.parameter import Parameter

            from learned_energy_ros.demo.player import DemoPlayer, DemoTopics
            from learned_energy_ros.ros.pose_lifter_node import PoseLifterNode
        except ImportError as err:
            raise DemoError(f"the ROS side of the demo is unavailable: {err}") from err
        self._rclpy = rclpy
        self.topics = topics or DemoTopics()
        rclpy.init()
        remaps = ["--ros-args", "-r", f"camera_info:={self.topics.camera_info}", "-r",
                  f"keypoints:={self.topics.keypoints}", "-r", f"image:={self.topics.image}"]
        self.node = PoseLifterNode("pose_lifter", cli_args=remaps,
                                   parameter_overrides=[Parameter(k, value=v) for k, v in lifter_params.items()])
        self.player = DemoPlayer(self.topics)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)
        self.executor.add_node(self.player)
        self._start_node()

    def _start_node(self) -> None:
        from rclpy.lifecycle import TransitionCallbackReturn

        t0 = time.perf_counter()
        if self.node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
            self.close()
            raise DemoError("pose_lifter failed to configure (see its log above: is the lifter checkpoint installed?)")
        if self.node.trigger_activate() != TransitionCallbackReturn.SUCCESS:
            self.close()
            raise DemoError("pose_lifter failed to activate")
        self.startup_s = time.perf_counter() - t0
        deadline = time.monotonic() + 10.0
        pubs = (self.player._info_pub, self.player._kp_pub, self.player._image_pub)
        while time.monotonic() < deadline and not all(p.get_subscription_count() > 0 for p in pubs):
            self.executor.spin_once(timeout_sec=0.05)
        if not all(p.get_subscription_count() > 0 for p in pubs):
            raise DemoError("the pose_lifter node never subscribed to the demo topics (DDS discovery failed)")

    def play(self, name: str, scene, render, params: dict, index: int, bag=None, timeout: float = 5.0,
             progress: bool = True) -> PassResult:
        """Stream the whole scene once with the given run-time node parameters.

        Args:
            name: label of this pass.
            scene: the ``DemoScene``.
            render: callable frame -> RGB image (or None to send no images).
            params: node parameters set (at run time) before the pass, e.g. ``temporal_weight``.
            index: pass number; offsets the stamps so tracks of earlier passes time out.
            bag: ``BagRecorder`` to record this pass's traffic into, or None.
            timeout: seconds to wait for each frame's answer.
        Returns:
            The ``PassResult``.
        """
        from rclpy.parameter import Parameter
        from tqdm import tqdm

        results = self.node.set_parameters([Parameter(k, value=v) for k, v in params.items()])
        refused = [r.reason for r in results if not r.successful]
        if refused:
            raise DemoError(f"pose_lifter refused parameters {params}: {refused}")
        self.player.bag = bag
        T = len(scene)
        joints, energy, latency = np.full((T, 17, 3), np.nan), np.full(T, np.nan), np.full(T, np.nan)
        # Stamps lie in the past (pass k at now - (2 - k) * gap): later passes are newer, so tracks of
        # earlier passes time out, and no stamp is ahead of the node's clock.
        overlays, base = [None] * T, time.time() // 1 - (2 - index) * _PASS_GAP_S
        markers0, start = self.player.marker_arrays, time.perf_counter()
        for i in tqdm(range(T), desc=f"pose {name}", unit="frame", disable=not progress, leave=True):
            stamp_s, cam = base + i / scene.fps, scene.camera(i)
            image = render(i) if render is not None else None
            sent = time.perf_counter()
            if image is not None:
                self._hand_over_image(stamp_s, cam, image)
            stamp = self.player.publish_detections(stamp_s, cam, scene.keypoints[i][None], scene.scores[i][None])
            if self.player.wait_for(self.executor, stamp, timeout, overlay_timeout=0.5 if image is not None else 0.0):
                latency[i] = time.perf_counter() - sent
                people = self.player.joints.pop(stamp)
                if people:
                    person = people[min(people)]
                    joints[i], energy[i] = person["joints"], person["energy"]
            overlays[i] = self.player.overlays.pop(stamp, None)
        self.player.bag = None
        return PassResult(name, dict(params), joints, energy, latency, overlays,
                          self.player.marker_arrays - markers0, time.perf_counter() - start)

    def _hand_over_image(self, stamp_s: float, camera, image, timeout: float = 1.0) -> None:
        """Publish the image and spin until the node has taken it, so it is there when the frame completes."""
        before = self.node.stats.counts["received_image"]
        self.player.publish_image(stamp_s, camera, image)
        deadline = time.monotonic() + timeout
        while self.node.stats.counts["received_image"] == before and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.01)

    def close(self) -> None:
        """Shut the node and rclpy down."""
        if self._rclpy is None:
            return
        try:
            self.executor.shutdown()
            self.node.destroy_node()
            self.player.destroy_node()
        finally:
            if self._rclpy.ok():
                self._rclpy.shutdown()
            self._rclpy = None
