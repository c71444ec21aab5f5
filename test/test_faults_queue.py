"""The overload policy and stamp checks as plain Python (no ROS): FrameQueue, check_stamp, SequenceGaps."""
import threading

import pytest

from learned_energy_ros.ros.frame_queue import FrameQueue, SequenceGaps, StampRejected, check_stamp


def test_queue_drops_the_oldest_and_counts():
    t = [0.0]
    queue = FrameQueue(3, clock=lambda: t[0])
    evicted = [queue.push(i) for i in range(10)]
    assert evicted == [0, 0, 0] + [1] * 7 and queue.dropped == 7 and len(queue) == 3
    t[0] = 0.5
    assert [queue.pop() for _ in range(4)] == [(0.5, 7), (0.5, 8), (0.5, 9), None]


def test_queue_depth_changes_and_validation():
    queue = FrameQueue(5)
    for i in range(5):
        queue.push(i)
    queue.set_depth(2)
    assert queue.push(5) == 4 and [queue.pop()[1] for _ in range(2)] == [4, 5]
    assert queue.clear() == 0
    with pytest.raises(ValueError):
        FrameQueue(0)
    with pytest.raises(ValueError):
        queue.set_depth(0)


def test_queue_is_thread_safe():
    queue = FrameQueue(4)
    popped = []

    def producer():
        for i in range(5000):
            queue.push(i)

    def consumer():
        for _ in range(5000):
            item = queue.pop()
            if item is not None:
                popped.append(item[1])

    threads = [threading.Thread(target=producer), threading.Thread(target=consumer)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    rest = [queue.pop()[1] for _ in range(len(queue))]
    assert len(popped) + len(rest) + queue.dropped == 5000
    assert popped + rest == sorted(popped + rest)  # FIFO: never out of order


@pytest.mark.parametrize("stamp, future, age, reason", [
    (1000.0 + 5.0, 1.0, 0.0, "future_stamp"),
    (1000.0 - 50.0, 1.0, 10.0, "stale_stamp"),
    (float("nan"), 1.0, 0.0, "bad_stamp"),
    (float("inf"), 0.0, 0.0, "bad_stamp"),
])
def test_check_stamp_refuses(stamp, future, age, reason):
    with pytest.raises(StampRejected) as err:
        check_stamp(stamp, 1000.0, future, age)
    assert err.value.reason == reason


def test_check_stamp_accepts_within_tolerance_and_when_disabled():
    check_stamp(1000.5, 1000.0, 1.0, 10.0)
    check_stamp(999.0, 1000.0, 1.0, 10.0)
    check_stamp(1e9, 1000.0, 0.0, 0.0)  # both checks off
    check_stamp(0.0, 1000.0, 0.0, 0.0)


def test_sequence_gaps_count_messages_never_seen_per_publisher():
    gaps = SequenceGaps()
    a, b = {"data": b"A" * 16}, {"data": b"B" * 16}
    info = lambda seq, gid: {"publication_sequence_number": seq, "publisher_gid": gid}  # noqa: E731
    assert gaps.note("kp", info(10, a)) == 0  # first message: unknown history
    assert gaps.note("kp", info(11, a)) == 0
    assert gaps.note("kp", info(15, a)) == 3
    assert gaps.note("kp", info(3, b)) == 0 and gaps.note("kp", info(5, b)) == 1  # another publisher
    assert gaps.note("kp", info(2, a)) == 0  # restarted publisher: no negative gap
    assert gaps.note("kp", {"publication_sequence_number": None, "publisher_gid": a}) == 0
    assert gaps.note("kp", {}) == 0
    assert gaps.lost == {"kp": 4}
