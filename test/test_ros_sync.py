"""The internal approximate-time synchronizer, with mock messages and no spinning."""
import random
from types import SimpleNamespace

import pytest

from learned_energy_ros.ros.sync import ApproximateTimeSynchronizer, StampBuffer, message_filters_available


def msg(t: float, tag=""):
    ns = int(round(t * 1e9))
    return SimpleNamespace(header=SimpleNamespace(stamp=SimpleNamespace(sec=ns // 10**9, nanosec=ns % 10**9)), tag=tag)


def stamp(m) -> float:
    return m.header.stamp.sec + 1e-9 * m.header.stamp.nanosec


def test_exact_stamps_pair_up():
    out = []
    sync = ApproximateTimeSynchronizer(2, 10, 0.01, lambda a, b: out.append((stamp(a), stamp(b))))
    for t in (1.0, 1.1, 1.2):
        sync.add(0, msg(t))
        sync.add(1, msg(t))
    assert out == [(1.0, 1.0), (1.1, 1.1), (1.2, 1.2)]


def test_within_slop_pairs_and_outside_slop_does_not():
    out = []
    sync = ApproximateTimeSynchronizer(2, 10, 0.02, lambda a, b: out.append((a.tag, b.tag)))
    sync.add(0, msg(1.000, "info1"))
    sync.add(1, msg(1.015, "kp1"))
    sync.add(0, msg(2.000, "info2"))
    sync.add(1, msg(2.050, "kp2"))  # 50 ms away: no partner
    assert out == [("info1", "kp1")]


def test_picks_the_tightest_partner_and_drops_older_messages():
    out = []
    sync = ApproximateTimeSynchronizer(2, 10, 0.05, lambda a, b: out.append((a.tag, b.tag)))
    for t, tag in ((0.96, "a"), (0.99, "b"), (1.03, "c")):
        sync.add(0, msg(t, tag))  # camera_info arriving faster than keypoints
    sync.add(1, msg(1.0, "kp"))
    assert out == [("b", "kp")]
    assert sync.dropped == 1  # "a" was older than the emitted one
    assert list(sync.queues[0]) == [int(1.03e9)] and not sync.queues[1]


def test_three_inputs_need_all_within_slop():
    out = []
    sync = ApproximateTimeSynchronizer(3, 5, 0.01, lambda *m: out.append(tuple(x.tag for x in m)))
    sync.add(0, msg(1.0, "info"))
    sync.add(1, msg(1.005, "kp"))
    assert out == []
    sync.add(2, msg(1.02, "img_far"))
    assert out == []
    sync.add(2, msg(1.008, "img"))
    assert out == [("info", "kp", "img")]


def test_queue_size_bounds_memory():
    sync = ApproximateTimeSynchronizer(2, 3, 0.001)
    for i in range(10):
        sync.add(0, msg(float(i)))
    assert len(sync.queues[0]) == 3 and sync.dropped == 7


def test_emitted_groups_are_in_stamp_order_under_jittered_arrival():
    random.seed(3)
    out = []
    sync = ApproximateTimeSynchronizer(2, 20, 0.004, lambda a, b: out.append(stamp(b)))
    events = []
    for i in range(200):
        t = i / 30
        events.append((t + random.uniform(0, 0.03), 0, msg(t + random.uniform(-0.001, 0.001))))
        events.append((t + random.uniform(0, 0.03), 1, msg(t)))
    for _, index, m in sorted(events, key=lambda e: e[0]):
        sync.add(index, m)
    assert out == sorted(out) and len(out) >= 190


def test_set_params_and_invalid_construction():
    sync = ApproximateTimeSynchronizer(2, 5, 0.001)
    sync.add(0, msg(1.0))
    assert sync.add(1, msg(1.01)) is None
    sync.set_params(slop=0.02)
    assert sync.add(1, msg(1.011)) is not None
    with pytest.raises(ValueError):
        ApproximateTimeSynchronizer(2, 0, 0.01)


def test_stamp_buffer_nearest_within_slop():
    buf = StampBuffer(3)
    for t in (1.0, 1.1, 1.2, 1.3):
        buf.add(msg(t, str(t)))
    assert buf.nearest(int(1.21e9), 0.02).tag == "1.2"
    assert buf.nearest(int(1.0e9), 0.02) is None  # evicted (size 3)
    assert buf.nearest(int(1.5e9), 0.02) is None


def test_message_filters_probe_does_not_raise():
    assert message_filters_available() in (True, False)
