"""`learned-energy-ros run` / NodeRunner: params file, overrides, bad arguments (no lifter needed)."""
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

from learned_energy_ros.ros import run  # noqa: E402
from learned_energy_ros.ros.run import NodeRunner  # noqa: E402


def test_params_file_and_overrides_reach_the_node(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("/**/pose_lifter:\n  ros__parameters:\n    min_score: 0.35\n    track_timeout: 2.5\n")
    with NodeRunner(["pose_lifter"], params_file=params, parameters={"pose_lifter": {"track_timeout": 4.0}},
                    activate=False) as runner:
        node = runner.nodes["pose_lifter"]
        assert node.param("min_score") == pytest.approx(0.35)
        assert node.param("track_timeout") == pytest.approx(4.0)
        assert node.param("sync_slop") == pytest.approx(0.02)  # default
        # unconfigured: configure-time parameters may change, invalid values are refused with a reason
        from rclpy.parameter import Parameter
        ok, bad = node.set_parameters([Parameter("device", value="cpu"), Parameter("min_score", value=1.5)])
        assert ok.successful and not bad.successful and "min_score" in bad.reason
        (unknown_layout,) = node.set_parameters([Parameter("input_skeleton", value="no_such_layout")])
        assert not unknown_layout.successful and "no_such_layout" in unknown_layout.reason


def test_shipped_params_file_loads(tmp_path):
    from learned_energy_ros.data.paths import package_root
    with NodeRunner(["pose_lifter"], params_file=package_root() / "config" / "pose_lifter.yaml", activate=False) as r:
        assert r.nodes["pose_lifter"].param("input_skeleton") == "coco17"


def test_main_rejects_unknown_nodes_and_missing_files(tmp_path):
    with pytest.raises(SystemExit):
        run.main(["--nodes", "pose_lifter,teleporter"])
    with pytest.raises(SystemExit):
        run.main(["--params-file", str(tmp_path / "missing.yaml")])


def test_absent_optional_node_is_skipped_with_a_warning(caplog, monkeypatch):
    monkeypatch.setitem(run.NODE_MODULES, "future_node", "learned_energy_ros.ros.no_such_node_module")
    with NodeRunner(["future_node"], activate=False) as runner:
        assert runner.nodes == {}
    assert "skipping node future_node" in caplog.text


def test_both_nodes_start_in_one_runner():
    with NodeRunner(["pose_lifter", "voxel_reconstructor"], activate=False) as runner:
        assert sorted(runner.nodes) == ["pose_lifter", "voxel_reconstructor"]


@pytest.mark.timeout(60)
def test_node_executable_autostarts_to_active_in_its_own_process(tmp_path):
    """What `ros2 run learned_energy_ros pose_lifter` does: configure + activate by itself."""
    import subprocess
    import sys
    import time

    import rclpy
    from lifecycle_msgs.srv import GetState
    from ros_fixtures import lifter_checkpoint
    checkpoint, _ = lifter_checkpoint(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "learned_energy_ros.ros.pose_lifter_node", "--ros-args",
                             "-r", "__node:=lifter_proc", "-p", f"checkpoint:={checkpoint}", "-p", "device:=cpu"])
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("state_probe", context=context)
    from rclpy.executors import SingleThreadedExecutor
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        client = node.create_client(GetState, "/lifter_proc/get_state")
        assert client.wait_for_service(timeout_sec=30), "node process did not come up"
        state, deadline = "", time.time() + 30
        while state != "active" and time.time() < deadline:
            future = client.call_async(GetState.Request())
            executor.spin_until_future_complete(future, timeout_sec=5)
            state = future.result().current_state.label if future.result() else ""
            time.sleep(0.2)
        assert state == "active"
        assert node.count_publishers("/lifter_proc/joints") == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)


@pytest.mark.timeout(90)
def test_camera_groups_run_in_separate_processes_with_unchanged_topics():
    """`run --camera-groups cam0 cam1,cam2`: two processes, each camera on the topics it would have alone."""
    import signal
    import subprocess
    import sys
    import time

    import rclpy
    proc = subprocess.Popen([sys.executable, "-m", "learned_energy_ros.cli", "run", "--camera-groups", "cam0", "cam1,cam2",
                             "--ros-args", "-p", "device:=cpu", "-p", "publish_overlay:=false"])
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("group_probe", context=context)
    try:
        topics = [f"/cam{i}/pose_lifter/joints" for i in range(3)]
        groups = {"/pose_group0/pose_lifter", "/pose_group1/pose_lifter"}
        names = lambda: {f"{ns.rstrip('/')}/{n}" for n, ns in node.get_node_names_and_namespaces()}  # noqa: E731
        up = lambda: (all(node.count_publishers(t) == 1 for t in topics) and groups <= names()  # noqa: E731
                      and node.count_subscribers("/cam2/keypoints") == 1)  # inputs come last (on activation)
        deadline = time.time() + 60
        while time.time() < deadline and not up():
            time.sleep(0.2)
        assert all(node.count_publishers(t) == 1 for t in topics), [node.count_publishers(t) for t in topics]
        assert groups <= names(), names()
        assert node.count_subscribers("/cam2/keypoints") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) is not None
        node.destroy_node()
        rclpy.shutdown(context=context)
