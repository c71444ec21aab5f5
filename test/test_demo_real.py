"""The demo's real stage: real photos through the detector and the lifter, pictures and the checks table."""
import argparse

import cv2
import pytest

from learned_energy_ros.detect.mediapipe_backend import mediapipe_available

pytest.importorskip("rclpy", reason="rclpy is not installed")
pytestmark = [pytest.mark.timeout(180),
              pytest.mark.skipif(not mediapipe_available(), reason="mediapipe ([detector] extra) is not installed")]


def test_real_stage_writes_a_labelled_strip_a_3d_plot_and_checks(tmp_path, capsys):
    from learned_energy_ros.demo.real import real_part
    from learned_energy_ros.detect.samples import SampleMissing, astronaut

    try:
        astronaut()
    except SampleMissing as err:
        pytest.skip(str(err))
    summary = real_part(argparse.Namespace(device="cpu", checkpoint="default"), tmp_path)
    printed = capsys.readouterr().out
    assert "REAL stage" in printed and "no ground truth" in printed and "nodes over ROS 2" in printed
    assert "astronaut" in summary["images"] and len(summary["people"]) >= 1
    strip = cv2.imread(str(summary["files"]["strip"]))
    assert strip is not None and strip.shape[0] == 300 and strip.shape[1] >= 300 * len(summary["images"])
    plot = cv2.imread(str(summary["files"]["plot_3d"]))
    assert plot is not None and plot.shape[0] > 200
    for row in summary["people"]:
        assert row["depth_m"] > 0.2 and row["visible"] >= 8
    # through the nodes the lifts equal the in-process detector + lifter ones (same models, same inputs)
    from learned_energy_ros.detect.real_stage import lift_real_images, plausibility_table
    core = plausibility_table(lift_real_images([("astronaut", astronaut(), 1)]))
    node = [r for r in summary["people"] if r["image"] == "astronaut"]
    assert len(core) == len(node) == 1
    assert abs(core[0]["depth_m"] - node[0]["depth_m"]) < 0.01 and abs(core[0]["energy"] - node[0]["energy"]) < 0.05
