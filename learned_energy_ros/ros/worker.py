"""Mixin for the lifecycle nodes: bounded, oldest-dropping hand-over from input callbacks to the model.

Input callbacks (run by the executor) count arrivals and reader-history losses,
check the stamp and push synchronized frames into a ``FrameQueue``; a dedicated
worker thread, woken through a ``threading.Event``, calls the node's
``_process(*frame)`` for each pending frame, oldest first (``_process_pending``).

Why a plain thread and not a guard condition in a MultiThreadedExecutor (docs/reliability.md,
"Real time"): rclpy's MultiThreadedExecutor hands every callback to a thread pool,
wakes its wait set twice per callback and rebuilds it from Python each time, and
re-yields (re-submits) a handler that a busy pool has not started yet. With the
model holding the pool's other thread, every keypoint message then costs several
GIL hand-overs between three threads; on two cores the node tipped into overload
at 1 camera x 30 Hz. Now only two threads want the interpreter: the executor
thread (taking and synchronizing messages, sleeping in ``rcl_wait`` otherwise)
and this worker, which never goes through the executor. Needs the node to have
``stats`` (``FrameStats``) and the parameters ``max_pending``,
``max_stamp_future``, ``max_stamp_age``, ``warn_period`` and ``qos_depth``.
"""
from __future__ import annotations

import logging

import functools
import threading
import time

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup

from learned_energy_ros.ros.conversions import stamp_to_sec
from learned_energy_ros.ros.frame_queue import FrameQueue, SequenceGaps, StampRejected, check_stamp
from learned_energy_ros.ros.sync import ApproximateTimeSynchronizer

__all__ = ["FrameWorker"]


class _Wake(threading.Event):
    """Wakes one worker thread; ``stopped`` tells it to exit (each activation has its own)."""

    stopped = False


class FrameWorker:
    """Mixin for an rclpy ``LifecycleNode`` subclass (see the module docstring).

    Attributes:
        worker_thread: False = start no thread; whoever drives the node calls
            ``_process_pending()`` itself (the callback-level fault tests, no executor).
    """

    worker_thread = True

    #: Topic names of the synchronized inputs, in synchronizer order (for counting and diagnostics).
    INPUT_NAMES: tuple[str, ...] = ()

    def param(self, name: str):
        """The current value of parameter ``name``."""
        return self.get_parameter(name).value

    def _declare_parameters(self, table: dict) -> None:
        """Declare every ``name: (default, description, applies)`` of ``table`` with its description."""
        from rcl_interfaces.msg import ParameterDescriptor

        for name, (default, description, applies) in table.items():
            self.declare_parameter(name, default, ParameterDescriptor(
                description=f"{description} [change applies: {applies}]"))

    def _init_worker(self) -> None:
        self._entities, self._sync, self._mf = [], None, False
        self._queues = [FrameQueue(int(self.get_parameter("max_pending").value))]  # one per camera
        self._work_lock = threading.Lock()  # one frame at a time; deactivation waits for it
        self._input_group = MutuallyExclusiveCallbackGroup()
        self._wake, self._accepting = None, False
        self._gaps = SequenceGaps()
        self._last_warn: dict[str, float] = {}

    @property
    def _queue(self) -> FrameQueue:
        """The (first) camera's queue."""
        return self._queues[0]

    def _pending(self) -> int:
        return sum(len(q) for q in self._queues)

    def _start_worker(self, channels: int = 1) -> None:
        """Start accepting frames of ``channels`` cameras (one queue each) and the worker thread (on_activate)."""
        self._queues = [FrameQueue(int(self.get_parameter("max_pending").value)) for _ in range(channels)]
        self._accepting = True
        if self.worker_thread:
            self._wake = wake = _Wake()  # an old activation's thread exits on its own event
            threading.Thread(target=self._work_loop, args=(wake,), name=f"{self.get_name()}-worker",
                             daemon=True).start()

    def _stop_worker(self) -> None:
        """Stop accepting frames, drop the pending ones and end the thread (call while holding ``_work_lock``)."""
        self._accepting, wake, self._wake = False, self._wake, None
        if wake is not None:
            wake.stopped = True
            wake.set()
        pending = sum(q.clear() for q in self._queues)
        if pending:
            self.stats.skip("deactivated", pending)

    def _work_loop(self, wake: _Wake) -> None:
        """Worker thread: sleep until frames are queued, then process them all; exit when stopped."""
        while True:
            wake.wait()
            wake.clear()  # cleared before draining: a frame queued from now on sets it again
            if wake.stopped:
                return
            self._process_pending()

    def _on_input(self, index: int, msg, info) -> None:
        """Subscription callback of the internal synchronizer: count the message, then synchronize it."""
        self._note_input(self.INPUT_NAMES[index], info)
        sync = self._sync
        if sync is not None:
            sync.add(index, msg)

    def _on_frame(self, *msgs) -> None:
        """Synchronizer callback: queue the messages for the worker under the first one's header."""
        self._enqueue(msgs[0].header, *msgs)

    def _activate_image_inputs(self, publishers: list, extra_inputs=()) -> None:
        """Finish ``on_activate`` of an image + camera_info node: /diagnostics, worker, synchronizer, timer.

        Args:
            publishers: the node's own publishers (destroyed again on deactivation).
            extra_inputs: more ``(msg type, topic)`` synchronized after image and camera_info (sensor QoS);
                their topics extend ``INPUT_NAMES`` for this activation.
        """
        from diagnostic_msgs.msg import DiagnosticArray
        from sensor_msgs.msg import CameraInfo, Image

        from learned_energy_ros.ros.qos import qos_from_name

        depth = int(self.param("qos_depth"))
        sensor, image = qos_from_name(self.param("sensor_qos"), depth), qos_from_name(self.param("image_qos"), depth)
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", depth)
        self._entities = [*publishers, self.pub_diag]
        self._start_worker()
        self.INPUT_NAMES = (*type(self).INPUT_NAMES, *(topic for _, topic in extra_inputs))
        self._make_sync([(Image, "image", image), (CameraInfo, "camera_info", sensor),
                         *((kind, topic, sensor) for kind, topic in extra_inputs)])
        self._entities.append(self.create_timer(float(self.param("diagnostics_period")), self._publish_diagnostics))

    def _deactivate_worker(self) -> None:
        """Body of ``on_deactivate``: wait for the frame in progress, stop the worker, destroy the entities."""
        with self._work_lock:  # none starts after this
            self._stop_worker()
            self._destroy_entities()

    def _publish_worker_diagnostics(self, what: str) -> None:
        """Publish ``/diagnostics`` (on ``self.pub_diag``) with the synchronizer and queue counts added."""
        from learned_energy_ros.ros.diagnostics import to_diagnostic_array

        if self._sync is not None and not self._mf:
            self.stats.counts["sync_dropped"] = self._sync.dropped
        self.stats.counts["pending_frames"] = self._pending()
        self.pub_diag.publish(to_diagnostic_array(
            self.stats, f"{self.get_name()}: {what}", self.get_fully_qualified_name(),
            self.get_clock().now().to_msg(), warn_topics=self.INPUT_NAMES))

    def _note_input(self, topic: str, info=None) -> None:
        """Count one message on ``topic`` and the messages lost before it (from its MessageInfo)."""
        self.stats.arrived(topic)
        if info is not None and (lost := self._gaps.note(topic, info)):
            self.stats.count(f"lost_{topic}", lost)
            self._warn("input_lost", f"{lost} {topic} message(s) overwritten before the node could take them "
                       f"(reader history qos_depth={self.get_parameter('qos_depth').value} full: processing is too slow)")

    def _enqueue(self, header, *frame, channel: int = 0) -> None:
        """Check ``header``'s stamp against the node clock, queue ``frame`` on camera ``channel``'s queue
        (dropping its oldest) and wake the worker."""
        param = lambda name: float(self.get_parameter(name).value)  # noqa: E731
        try:
            check_stamp(stamp_to_sec(header.stamp), self.get_clock().now().nanoseconds * 1e-9,
                        param("max_stamp_future"), param("max_stamp_age"))
        except StampRejected as bad:
            self.stats.skip(bad.reason)
            self._warn(bad.reason, f"frame skipped: {bad}")
            return
        queue = self._queues[channel]
        queue.set_depth(int(param("max_pending")))
        evicted = queue.push(frame)
        if evicted:
            self.stats.skip("overload", evicted)
            self._warn("overload", f"input outruns processing: dropped the {evicted} oldest pending frame(s) "
                       f"(max_pending={queue.depth})")
        wake = self._wake
        if wake is not None:
            wake.set()

    def _process_pending(self) -> None:
        """Process pending frames, oldest first, until the queues are empty (the worker thread's job).

        One camera: ``_process(*frame)`` per frame. Several: each tick takes the oldest
        frame of every camera with one pending and hands them together to
        ``_process_batch([(camera index, frame), ...])`` (one lifter call).
        """
        while True:
            ticks = [(k, q.pop()) for k, q in enumerate(self._queues)]
            batch = [(k, item[1]) for k, item in ticks if item is not None]
            if not batch:
                return
            with self._work_lock:
                if not self._accepting:  # deactivated meanwhile
                    return
                try:
                    if len(self._queues) == 1:
                        self._process(*batch[0][1])
                    else:
                        self._process_batch(batch)
                except Exception as err:  # noqa: BLE001 (a bug on one frame must not stop the executor)
                    self.stats.skip("internal_error", len(batch))
                    self._warn("internal_error", f"frame failed unexpectedly ({type(err).__name__}): {err}")

    def _warn(self, reason: str, text: str) -> None:
        """Log a warning for ``reason`` at most once per ``warn_period`` seconds."""
        period = float(self.get_parameter("warn_period").value)
        now = time.monotonic()
        if now - self._last_warn.get(reason, -1e9) >= period:
            self._last_warn[reason] = now
            self.get_logger().warning(f"{text} (further '{reason}' warnings muted for {period} s)")


    def _make_sync(self, inputs, on_frame=None, on_input=None):
        """Synchronize ``inputs`` [(msg type, topic, qos)] into ``on_frame`` (default ``self._on_frame``).

        message_filters when importable and ``use_message_filters`` is set (a ROS
        install), else the internal synchronizer fed by ``on_input(index, msg, info)``
        (default ``self._on_input``). Sets ``self._sync`` to the first one made and returns it.
        """
        on_frame, on_input = on_frame or self._on_frame, on_input or self._on_input
        slop, queue = float(self.param("sync_slop")), int(self.param("sync_queue"))
        self._mf = False
        message_filters = None
        if self.param("use_message_filters"):
            try:
                import message_filters
            except ImportError:
                pass
        if message_filters is not None:
            subs = [message_filters.Subscriber(self, kind, topic, qos_profile=qos, callback_group=self._input_group)
                    for kind, topic, qos in inputs]
            for sub, (_, topic, _) in zip(subs, inputs):
                sub.registerCallback(lambda _msg, topic=topic: self.stats.arrived(topic))
            sync = message_filters.ApproximateTimeSynchronizer(subs, queue, slop)
            sync.registerCallback(on_frame)
            self._entities += [s.sub for s in subs]
            self._mf = True
        else:
            sync = ApproximateTimeSynchronizer(len(inputs), queue, slop, on_frame)
            for index, (kind, topic, qos) in enumerate(inputs):
                self._entities.append(self.create_subscription(kind, topic, functools.partial(on_input, index), qos,
                                                               callback_group=self._input_group))
        if self._sync is None:
            self._sync = sync
        return sync

    def _destroy_entities(self) -> None:
        """Destroy every subscription, publisher, timer and guard condition this activation created."""
        for entity in self._entities:
            for destroy in (self.destroy_subscription, self.destroy_publisher, self.destroy_timer,
                            self.destroy_guard_condition):
                if destroy(entity):
                    break
        self._entities, self._sync = [], None


def spin_lifecycle_node(node_class, args=None) -> None:
    """Run one lifecycle node alone until shutdown (the body of each node's ``main``).

    The node configures and activates itself when its ``autostart`` parameter is true
    (the default), so ``ros2 run`` gives a working node; with ``autostart: false`` a
    lifecycle manager drives the transitions.
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    try:
        with rclpy.init(args=args):
            node = node_class()
            if node.param("autostart"):
                node.trigger_configure()
                node.trigger_activate()
            executor = SingleThreadedExecutor()  # callbacks are short; the model runs on the worker thread
            executor.add_node(node)
            spin_resilient(executor)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass


def spin_resilient(executor) -> None:
    """Spin ``executor`` until shutdown, surviving entities destroyed from another thread.

    A lifecycle transition triggered outside the executor (a lifecycle manager's
    thread, an in-process runner, a test) destroys subscriptions and their event
    handlers while the executor may be building its wait set; rclpy then raises
    ``InvalidHandle`` from that wait and ``Executor.spin`` dies, silently stopping
    every node on it. The next wait no longer contains the destroyed entity, so the
    right response is to wait again.
    """
    from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy

    while executor.context.ok():
        try:
            executor.spin_once()  # like Executor.spin: no timeout, shutdown wakes the wait
        except _rclpy.InvalidHandle as err:
            logging.getLogger(__name__).debug("entity destroyed during a wait, waiting again: %s", err)
        except _rclpy.RCLError:
            if executor.context.ok():
                raise
            return  # the context shut down between the check and the wait
