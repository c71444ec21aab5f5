"""Tracking by detector id and 2D proximity (ROS-free)."""
import numpy as np
import pytest

from learned_energy_ros.pose.tracking import Tracker, TrackerConfig

RNG = np.random.default_rng(1)
BASE = RNG.uniform(-0.2, 0.2, size=(17, 2))  # one person's normalized keypoints, ~0.4 wide


def person(offset_x, noise=0.005):
    return BASE + [offset_x, 0.0] + RNG.normal(scale=noise, size=BASE.shape)


def frame(*offsets):
    kp = np.stack([person(o) for o in offsets])
    return kp, np.ones(kp.shape[:2], bool)


def test_ids_stable_when_detector_ids_are_stable():
    tracker = Tracker()
    for i in range(10):
        kp, vis = frame(-1.0 + 0.01 * i, 1.0)
        ids, vanished = tracker.update(i / 10, kp, vis, [3, 8])
        assert ids.tolist() == [3, 8] and vanished == []


def test_proximity_wins_when_detector_ids_swap():
    tracker = Tracker()
    kp, vis = frame(-1.0, 1.0)
    first, _ = tracker.update(0.0, kp, vis, [0, 1])
    kp, vis = frame(1.01, -0.99)  # same two people, listed in the other order with index ids
    second, _ = tracker.update(0.1, kp, vis, [0, 1])
    assert second.tolist() == first[::-1].tolist()


def test_proximity_tracks_when_ids_are_absent():
    tracker = Tracker()
    history = []
    for i in range(20):
        offsets = (-1.0 + 0.02 * i, 1.0 - 0.02 * i)
        order = [0, 1] if i % 2 else [1, 0]  # detector order flips every frame
        kp, vis = frame(*(offsets[o] for o in order))
        ids, _ = tracker.update(i / 10, kp, vis, [0, 0])  # no ids: everybody is "0"
        history.append(dict(zip(order, ids.tolist())))
    assert all(h == history[0] for h in history) and len(set(history[0].values())) == 2


def test_track_dies_after_timeout_and_is_reported_once():
    tracker = Tracker(TrackerConfig(timeout_s=0.5))
    kp, vis = frame(-1.0, 1.0)
    tracker.update(0.0, kp, vis, [1, 2])
    kp, vis = frame(-1.0)
    ids, vanished = tracker.update(0.4, kp, vis, [1])
    assert ids.tolist() == [1] and vanished == []
    ids, vanished = tracker.update(0.6, kp, vis, [1])
    assert vanished == [2]
    _, vanished = tracker.update(0.7, kp, vis, [1])
    assert vanished == []


def test_far_jump_starts_a_new_track_with_a_fresh_id():
    tracker = Tracker()
    kp, vis = frame(-1.0)
    tracker.update(0.0, kp, vis, [4])
    kp, vis = frame(2.0)  # same detector id, but teleported: a different person
    ids, _ = tracker.update(0.1, kp, vis, [4])
    assert ids.tolist() == [5] and set(tracker.tracks) == {4, 5}


def test_too_few_common_joints_do_not_associate():
    tracker = Tracker(TrackerConfig(min_common_joints=3))
    kp, vis = frame(0.0)
    tracker.update(0.0, kp, vis, [1])
    vis2 = np.zeros_like(vis)
    vis2[0, :2] = True
    ids, _ = tracker.update(0.1, kp, vis2, [2])
    assert ids.tolist() == [2]


def test_previous_returns_nan_rows_without_history():
    tracker = Tracker()
    kp, vis = frame(-1.0, 1.0)
    ids, _ = tracker.update(0.0, kp, vis, [0, 1])
    tracker.set_joints(ids[:1], np.ones((1, 17, 3)))
    prev = tracker.previous(ids, 17)
    assert prev.shape == (2, 17, 3) and np.all(prev[0] == 1) and np.all(np.isnan(prev[1]))


def test_invalid_config_is_refused():
    with pytest.raises(ValueError):
        TrackerConfig(timeout_s=0)


def test_one_euro_filter_smooths_noise_and_follows_fast_motion():
    from learned_energy_ros.pose.tracking import OneEuroFilter
    rng = np.random.default_rng(0)
    t = np.arange(300) / 30
    noisy = 1.0 + rng.normal(scale=0.05, size=t.size)
    f = OneEuroFilter(min_cutoff=1.0)
    out = np.array([f(x, s) for x, s in zip(noisy, t)])
    assert out[0] == noisy[0] and np.std(out[30:]) < 0.4 * np.std(noisy[30:])
    ramp = 2.0 * t  # fast change: beta raises the cutoff and cuts the lag
    slow, fast = OneEuroFilter(1.0, 0.0), OneEuroFilter(1.0, 5.0)
    lag_slow = ramp[-1] - [slow(x, s) for x, s in zip(ramp, t)][-1]
    lag_fast = ramp[-1] - [fast(x, s) for x, s in zip(ramp, t)][-1]
    assert 0 < lag_fast < 0.5 * lag_slow


def test_joints_not_seen_recently_do_not_count_for_association():
    """A track's stale joints (last seen long ago, where the person was then) must not pull a detection to them."""
    tracker = Tracker()  # joint_memory_s 0.2
    kp, vis = frame(0.0)
    (tid,), _ = tracker.update(0.0, kp, vis, [0])
    upper = np.arange(17) < 8  # afterwards only joints 0..7 are seen while the person walks right
    for i in range(1, 11):
        kp, _ = frame(0.04 * i)
        ids, _ = tracker.update(0.1 * i, kp, upper[None], [0])
        assert ids.tolist() == [tid]
    # the person, now fully visible, beside a ghost standing exactly where the person was at t = 0
    kp, vis = frame(0.44, 0.0)
    ids, _ = tracker.update(1.1, kp, vis, [5, 6])
    assert ids[0] == tid and ids[1] != tid
