"""pose_lifter's ecosystem side over real DDS: TF frames, REP-155 /humans topics, Skeleton2D input.

Two nodes share one camera: ``/ha/pose_lifter`` takes the keypoint cloud and publishes
TF and ``/humans/bodies/...``; ``/hb/pose_lifter`` takes the same people as per-body
``hri_msgs/Skeleton2D`` topics of a ROS4HRI-style detector (``/det/bodies``). Needs the
interface packages (``scripts/build_interfaces.py``).
"""
import time

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

from ros_fixtures import (CAM_A, SpinningTestNode, StampClock, lifter_checkpoint, moving_person,  # noqa: E402
                          require_interfaces, wait_until)

pytestmark = pytest.mark.timeout(120)
_, COCO = moving_person(12)
BODIES = ("alice", "bob")  # ids of the simulated ROS4HRI detector


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    require_interfaces("tf2_msgs", "hri_msgs")
    from learned_energy_ros.ros.run import NodeRunner

    checkpoint, _ = lifter_checkpoint(tmp_path_factory.mktemp("lifter"))
    common = {"device": "cpu", "checkpoint": checkpoint, "publish_overlay": False, "sync_slop": 0.01,
              "min_score": 0.1, "warn_period": 0.0, "temporal_weight": 0.0, "depth_cutoff": 0.0}
    remap = {"camera_info": "/h/camera_info", "keypoints": "/h/keypoints"}
    cloud_node = NodeRunner(["pose_lifter"], parameters={"pose_lifter": common}, remappings=remap, namespace="/ha")
    hri_node = NodeRunner(["pose_lifter"], remappings=remap, namespace="/hb", parameters={"pose_lifter": {
        **common, "skeleton2d_input": "/det/bodies", "hri_namespace": "/hb_out/bodies", "publish_tf": False}})
    with cloud_node as a, hri_node as b:
        driver = HumansDriver()
        try:
            driver.connect()
            yield a.nodes["pose_lifter"], b.nodes["pose_lifter"], driver
        finally:
            driver.close()


class HumansDriver(SpinningTestNode):
    """Publishes camera_info, keypoint clouds and Skeleton2D bodies; records joints, /tf and /humans/bodies/tracked."""

    def __init__(self):
        from hri_msgs.msg import IdsList, Skeleton2D
        from rclpy.qos import QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CameraInfo, PointCloud2
        from tf2_msgs.msg import TFMessage
        super().__init__("humans_driver")
        qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        node = self.node
        self.pub_info = node.create_publisher(CameraInfo, "/h/camera_info", qos)
        self.pub_kp = node.create_publisher(PointCloud2, "/h/keypoints", qos)
        self.pub_ids = node.create_publisher(IdsList, "/det/bodies/tracked", qos)
        self.pub_skel = {b: node.create_publisher(Skeleton2D, f"/det/bodies/{b}/skeleton2d", qos) for b in BODIES}
        self.joints = {"a": {}, "b": {}}
        self.tf, self.tracked = [], {}
        for key in self.joints:
            node.create_subscription(PointCloud2, f"/h{key}/pose_lifter/joints", self.store_by_stamp(self.joints[key]), qos)
        node.create_subscription(TFMessage, "/tf", self._on_tf, QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        node.create_subscription(IdsList, "/humans/bodies/tracked", self.store_by_stamp(self.tracked), qos)
        self.start()

    def _on_tf(self, msg):
        with self.lock:
            self.tf.extend(msg.transforms)

    def connect(self) -> None:
        """Wait for both nodes, and for the Skeleton2D node to follow both detector bodies."""
        self.wait_for((self.pub_info, self.pub_kp), "/ha/pose_lifter/joints", "cloud pose_lifter")
        self.wait_for((self.pub_info,), "/hb/pose_lifter/joints", "Skeleton2D pose_lifter")
        from hri_msgs.msg import IdsList
        ok = wait_until(lambda: self.pub_ids.publish(IdsList(ids=list(BODIES))) or all(
            p.get_subscription_count() for p in self.pub_skel.values()), 10.0)
        assert ok, "the Skeleton2D node did not subscribe to the detector's bodies"
        time.sleep(0.3)

    def send(self, stamp: float, people: np.ndarray, ids=(0, 1), skeletons: bool = False) -> tuple:
        """Publish one frame of ``people`` (P, 17, 3) as a keypoint cloud (and as Skeleton2D); return its stamp key."""
        from std_msgs.msg import Header
        from learned_energy_ros.ros.clouds import keypoints_to_cloud
        from learned_energy_ros.ros.conversions import camera_to_camera_info, sec_to_stamp
        header = Header(stamp=sec_to_stamp(stamp), frame_id=CAM_A.frame_id)
        px = CAM_A.project(people)  # (P, 17, 2)
        scores = np.full(px.shape[:2], 0.9)
        self.pub_info.publish(camera_to_camera_info(CAM_A, header))
        if skeletons:
            for body, kp, sc in zip(BODIES, px, scores):
                self.pub_skel[body].publish(skeleton2d(header, kp, sc))
        self.pub_kp.publish(keypoints_to_cloud(header, px, scores, list(ids)))
        return (header.stamp.sec, header.stamp.nanosec)

    def tf_at(self, key) -> dict:
        with self.lock:
            return {t.child_frame_id: t for t in self.tf if (t.header.stamp.sec, t.header.stamp.nanosec) == key}


def skeleton2d(header, keypoints_px, scores):
    """What a ROS4HRI detector publishes for one body: coco17 pixels -> normalized hri18."""
    from learned_energy_ros.ros.hri_io import skeleton2d_message
    return skeleton2d_message(header, keypoints_px, scores, "coco17", CAM_A.width, CAM_A.height)


def joints_of(msg) -> dict:
    """person id -> (17, 3) joints of a ~/joints cloud."""
    from learned_energy_ros.ros.clouds import cloud_to_structured
    pts = cloud_to_structured(msg)
    xyz = np.stack([pts["x"], pts["y"], pts["z"]], -1).astype(np.float64)
    return {int(p): xyz[pts["person"] == p][np.argsort(pts["joint"][pts["person"] == p])] for p in np.unique(pts["person"])}


def quat_matrix(q) -> np.ndarray:
    from scipy.spatial.transform import Rotation
    return Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()


Clock = StampClock(300.0)


def two_people(k: int) -> np.ndarray:
    return np.stack([COCO[k], COCO[k] + [1.4, 0.0, 0.5]])


def test_tf_frames_have_parents_stamps_and_the_joint_positions(system):
    node, _, driver = system
    from learned_energy_ros.pose.body_frames import frame_stems
    key = driver.send(Clock.next(), two_people(0), ids=(3, 8))
    assert wait_until(lambda: key in driver.joints["a"], 10), "no ~/joints"
    joints = joints_of(driver.joints["a"][key])
    assert set(joints) == {3, 8}
    stems = frame_stems(node.pipeline.lifter.skeleton)
    assert wait_until(lambda: len(driver.tf_at(key)) == 2 * (1 + len(stems)), 5), sorted(driver.tf_at(key))
    tf = driver.tf_at(key)
    for person, xyz in joints.items():
        body = tf[f"body_b{person}"]
        assert body.header.frame_id == CAM_A.frame_id  # parent: the camera optical frame, at the input stamp
        origin = np.array([body.transform.translation.x, body.transform.translation.y, body.transform.translation.z])
        rot = quat_matrix(body.transform.rotation)
        assert rot[:, 2] @ [0.0, -1.0, 0.0] > 0.8, "body z is not up (optical -y) for an upright person"
        for k, stem in enumerate(stems):
            frame = tf[f"{stem}_b{person}"]
            assert frame.header.frame_id == f"body_b{person}"
            local = np.array([frame.transform.translation.x, frame.transform.translation.y, frame.transform.translation.z])
            assert np.allclose(origin + rot @ local, xyz[k], atol=1e-4), (stem, origin + rot @ local, xyz[k])
    hips = [stems.index("l_hip"), stems.index("r_hip")]
    assert np.allclose(origin, joints[8][hips].mean(0), atol=1e-4), "body origin is not the hip midpoint"


def test_tracked_lists_exactly_the_tracked_bodies_and_per_body_topics_follow_them(system):
    node, _, driver = system
    from hri_msgs.msg import Skeleton2D
    from rclpy.parameter import Parameter
    got = []
    sub = driver.node.create_subscription(Skeleton2D, "/humans/bodies/b0/skeleton2d", got.append, 10)
    try:
        first = driver.send(Clock.next(2.0), two_people(1))  # earlier tracks have timed out
        assert wait_until(lambda: first in driver.tracked, 10), "no /humans/bodies/tracked"
        assert sorted(driver.tracked[first].ids) == ["b0", "b1"]
        assert wait_until(lambda: driver.node.count_publishers("/humans/bodies/b1/roi") == 1)
        assert wait_until(lambda: driver.node.count_publishers("/humans/bodies/b0/skeleton2d") == 1)
        node.set_parameters([Parameter("track_timeout", value=0.2)])
        for k in range(2, 6):  # person 1 leaves; after the timeout its track dies
            last = driver.send(Clock.next(0.1), COCO[k][None], ids=(0,))
            assert wait_until(lambda: last in driver.tracked, 10)
        assert driver.tracked[last].ids == ["b0"]
        assert wait_until(lambda: driver.node.count_publishers("/humans/bodies/b1/roi") == 0), "b1's topics outlived it"
        assert wait_until(lambda: len(got) > 0), "no skeleton2d for a tracked body"
    finally:
        node.set_parameters([Parameter("track_timeout", value=1.0)])
        driver.node.destroy_subscription(sub)
    skeleton = got[-1].skeleton
    px = CAM_A.project(COCO[5])  # coco17: left_wrist is index 9; in Skeleton2D LEFT_WRIST is 7
    assert skeleton[Skeleton2D.LEFT_WRIST].x == pytest.approx(px[9, 0] / CAM_A.width, abs=1e-5)
    assert skeleton[Skeleton2D.LEFT_WRIST].y == pytest.approx(px[9, 1] / CAM_A.height, abs=1e-5)
    assert skeleton[Skeleton2D.LEFT_EYE].x == pytest.approx(px[1, 0] / CAM_A.width, abs=1e-5)  # coco17 left_eye: 1
    assert skeleton[Skeleton2D.RIGHT_EAR].y == pytest.approx(px[4, 1] / CAM_A.height, abs=1e-5)  # right_ear: 4
    assert skeleton[Skeleton2D.NECK].c == 0.0  # coco17 has no neck


def test_skeleton2d_input_gives_the_same_3d_as_the_keypoint_cloud(system):
    _, _, driver = system
    key = driver.send(Clock.next(), two_people(6), skeletons=True)
    assert wait_until(lambda: key in driver.joints["a"] and key in driver.joints["b"], 10), \
        f"joints from the cloud node: {key in driver.joints['a']}, from the Skeleton2D node: {key in driver.joints['b']}"
    cloud, hri = joints_of(driver.joints["a"][key]), joints_of(driver.joints["b"][key])
    assert len(hri) == 2
    # the cloud's persons 0, 1 and the detector's alice, bob are the same people in the same order
    for (_, a), (_, b) in zip(sorted(cloud.items()), sorted(hri.items())):
        assert np.abs(a - b).max() < 1e-3, f"3D differs by {np.abs(a - b).max():.5f} m"


def test_box_hints_give_tracked_boxes_ids_to_people():
    require_interfaces("vision_msgs")
    from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose
    from learned_energy_ros.pose.box_hints import IdTable
    from learned_energy_ros.pose.pipeline import KeypointFrame
    from learned_energy_ros.ros.pose_io import apply_box_hints

    px = CAM_A.project(two_people(0))  # (2, 17, 2)
    frame = KeypointFrame(0.0, CAM_A, px, np.full((2, 17), 0.9), np.array([0, 1]))

    def box(person, det_id, cls="person"):
        lo, hi = px[person].min(0) - 5, px[person].max(0) + 5
        det = Detection2D(id=det_id)
        det.bbox.center.position.x, det.bbox.center.position.y = (lo + hi) / 2
        det.bbox.size_x, det.bbox.size_y = hi - lo
        hyp = ObjectHypothesisWithPose()
        hyp.hypothesis.class_id, hyp.hypothesis.score = cls, 0.9
        det.results = [hyp]
        return det

    table = IdTable()
    msg = Detection2DArray(detections=[box(1, "trk_7"), box(0, "trk_2"), box(0, "", "person"), box(1, "x", "chair")])
    assert apply_box_hints(frame, msg, ["person"], table) == 2
    assert list(frame.person_ids) == [table("trk_2"), table("trk_7")]



def test_a_malformed_hint_box_costs_the_hints_not_the_frame(monkeypatch):
    require_interfaces("vision_msgs")
    from types import SimpleNamespace
    from vision_msgs.msg import Detection2D, Detection2DArray
    from learned_energy_ros.pose.box_hints import IdTable
    from learned_energy_ros.pose.pipeline import KeypointFrame
    from learned_energy_ros.ros import pose_humans
    from learned_energy_ros.ros.diagnostics import FrameStats

    frame = KeypointFrame(0.0, CAM_A, CAM_A.project(two_people(0)), np.full((2, 17), 0.9), np.array([0, 1]))
    monkeypatch.setattr(pose_humans, "group_to_frame", lambda *args: frame)
    bad = Detection2D(id="trk_1")
    bad.bbox.center.position.x, bad.bbox.size_x, bad.bbox.size_y = float("nan"), 10.0, 10.0
    msg = Detection2DArray(detections=[bad])
    warnings = []
    node = SimpleNamespace(pipeline=SimpleNamespace(config=SimpleNamespace(input_skeleton="coco17")),
                           skeleton_input=object(), _ids=IdTable(), stats=FrameStats(),
                           _detections=SimpleNamespace(nearest=lambda stamp, slop: msg),
                           param=lambda name: {"sync_slop": 0.02, "person_classes": []}[name],
                           _warn=lambda reason, text: warnings.append(reason))
    group = SimpleNamespace(header=SimpleNamespace(stamp=SimpleNamespace(sec=0, nanosec=0)))
    assert pose_humans.HumanIOMixin._frame_of(node, None, group) is frame  # lifted without hints
    assert warnings == ["bad_detections"] and list(frame.person_ids) == [0, 1]


def test_rviz_humans_view_names_tf_and_topics_the_node_has(system):
    """rviz/humans.rviz: a TF display, and every topic it names exists on a pose_lifter (here in namespace /ha)."""
    import yaml
    from learned_energy_ros.data.paths import package_root
    config = yaml.safe_load((package_root() / "rviz" / "humans.rviz").read_text())
    displays = config["Visualization Manager"]["Displays"]
    assert {"rviz_default_plugins/TF", "rviz_default_plugins/MarkerArray", "rviz_default_plugins/Image"} <= {
        d["Class"] for d in displays if d.get("Enabled")}
    node, _, _ = system
    graph = {name.removeprefix("/ha") for name, _ in node.get_topic_names_and_types()}
    named = {d["Topic"]["Value"] for d in displays if "Topic" in d}
    assert named and named <= graph, named - graph
    assert "/tf" in graph


def test_a_malformed_skeleton2d_is_skipped_counted_and_survived(system):
    _, hri_node, driver = system
    before = hri_node.stats.skipped["bad_keypoints"]
    from std_msgs.msg import Header
    from learned_energy_ros.ros.conversions import camera_to_camera_info, sec_to_stamp
    header = Header(stamp=sec_to_stamp(Clock.next()), frame_id=CAM_A.frame_id)
    px = CAM_A.project(two_people(7))
    bad = [skeleton2d(header, kp, np.full(17, 0.9)) for kp in px]
    bad[1].skeleton[3].x = float("nan")  # a visible joint at NaN
    driver.pub_info.publish(camera_to_camera_info(CAM_A, header))
    for body, msg in zip(BODIES, bad):
        driver.pub_skel[body].publish(msg)
    assert wait_until(lambda: hri_node.stats.skipped["bad_keypoints"] == before + 1, 10)
    key = driver.send(Clock.next(), two_people(8), skeletons=True)
    assert wait_until(lambda: key in driver.joints["b"], 10), "the Skeleton2D node stopped after a bad frame"


def test_tracked_forgets_a_camera_that_stopped_sending(monkeypatch):
    """Multi-camera: one /humans/bodies/tracked for all cameras; a silent camera's ids leave after track_timeout."""
    require_interfaces("hri_msgs")
    from types import SimpleNamespace

    from learned_energy_ros.ros import humans

    published = []
    params = {"hri_namespace": "/humans/bodies", "body_id_prefix": "b", "qos_depth": 5, "publish_tf": False,
              "publish_hri": True, "track_timeout": 1.0}
    node = SimpleNamespace(param=params.__getitem__, get_logger=lambda: SimpleNamespace(warning=print),
                           create_publisher=lambda *args: SimpleNamespace(publish=published.append),
                           pipeline=SimpleNamespace(config=SimpleNamespace(input_skeleton="coco17")))
    out = humans.HumanOutputs(node)
    clock = [100.0]
    monkeypatch.setattr(humans.time, "monotonic", lambda: clock[0])
    header = SimpleNamespace(stamp=SimpleNamespace(sec=0, nanosec=0), frame_id="")
    frame = lambda tracks: SimpleNamespace(track_ids=tracks, vanished=[], keypoints=None)  # noqa: E731 (fused)
    out.publish(frame([1]), header, "cam0")
    out.publish(frame([2]), header, "cam1")
    assert sorted(published[-1].ids) == ["cam0_b1", "cam1_b2"]
    clock[0] += 1.5  # cam1 went quiet
    out.publish(frame([1]), header, "cam0")
    assert published[-1].ids == ["cam0_b1"]
