"""Demo output writers (bag, video/strip, 3D plot, summary) and per-phase scoring, without ROS."""
import json

import numpy as np
import pytest

from learned_energy_ros.demo.bag import BagError, BagRecorder, read_back
from learned_energy_ros.demo.outputs import frame_strip, plot_skeletons_3d, write_summary, write_video
from learned_energy_ros.demo.report import format_table, phase_metrics, run_metrics


def _cdr_header_msg(store, frame_id: str, sec: int):
    Header = store.types["std_msgs/msg/Header"]
    Time = store.types["builtin_interfaces/msg/Time"]
    return store.serialize_cdr(Header(stamp=Time(sec=sec, nanosec=0), frame_id=frame_id), "std_msgs/msg/Header")


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_bag_round_trip(tmp_path, storage):
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_KILTED)
    path = tmp_path / "bag"
    with BagRecorder(path, storage) as bag:
        for i in range(3):
            bag.write("/a", "std_msgs/msg/Header", 10 + i, _cdr_header_msg(store, "cam", i))
        bag.write("/b", "std_msgs/msg/Header", 20, _cdr_header_msg(store, "x", 9))
    found = read_back(path, {"/a": 3, "/b": 1})
    assert found["/a"] == {"type": "std_msgs/msg/Header", "count": 3}
    with pytest.raises(BagError):
        read_back(path, {"/a": 4, "/b": 1})
    with pytest.raises(BagError):
        BagRecorder(tmp_path / "other", "rosbag1")


def test_video_strip_and_summary(tmp_path):
    frames = [np.full((48, 64, 3), 40 * i, np.uint8) for i in range(5)] + [np.zeros((60, 100, 3), np.uint8)]
    out = write_video(frames, tmp_path / "overlay.mp4", fps=10)
    assert out.exists() and (out.is_dir() or out.stat().st_size > 0)
    strip = frame_strip(frames, count=3, height=30)
    assert strip.shape[0] == 30 and strip.shape[1] == 40 + 40 + 50
    summary = write_summary({"a": np.float32(1.5), "b": [np.int64(2), float("nan")], "c": np.eye(2)},
                            tmp_path / "s.json")
    assert json.loads(summary.read_text()) == {"a": 1.5, "b": [2, None], "c": [[1.0, 0.0], [0.0, 1.0]]}


def test_plot_3d(tmp_path):
    rng = np.random.default_rng(0)
    true = rng.normal(size=(4, 17, 3)) * 0.3 + [0, 0, 4]
    pred = true + 0.05
    pred[2] = np.nan
    path = plot_skeletons_3d(pred, true, [0, 2], tmp_path / "p.png")
    assert path.stat().st_size > 5000


def test_phase_metrics_known_answer():
    true = np.zeros((6, 17, 3))
    true[..., 2] = 4.0
    pred = true.copy()
    pred[:, 1:, 0] += 0.01  # every non-root joint 10 mm off in x; root exact
    pred[3] = np.nan  # one frame unanswered
    m = phase_metrics(pred, true)
    assert m["answered"] == pytest.approx(5 / 6)
    assert m["mpjpe"] == pytest.approx(10 * 16 / 17, abs=1e-6)
    assert m["abs_error"] == pytest.approx(10 * 16 / 17, abs=1e-6)
    assert m["accel_error"] == pytest.approx(0.0, abs=1e-9)  # constant offset: no acceleration error
    runs = run_metrics(pred, true, swap_frame=3)
    assert runs["before_swap"]["frames"] == 3 and runs["after_swap"]["answered"] == pytest.approx(2 / 3)
    assert np.isnan(phase_metrics(np.full((2, 17, 3), np.nan), true[:2])["mpjpe"])
    assert "before_swap" in format_table({"smoothing": runs})
