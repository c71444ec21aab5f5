"""Procedural motion, scene scripting and rendering of the demo (no ROS, no shared data)."""
import numpy as np
import pytest

from learned_energy_ros.core.skeleton import get_skeleton
from learned_energy_ros.demo.person_motion import procedural_motion
from learned_energy_ros.demo.person_render import FrameRenderer, render_background
from learned_energy_ros.demo.person_scene import SceneError, build_scene

MOCAP = get_skeleton("mocap27")


@pytest.fixture(scope="module")
def motion():
    return procedural_motion(120, fps=30, seed=3)


@pytest.fixture(scope="module")
def scene(motion):
    return build_scene(motion.joints, fps=motion.fps, seed=3, segments=motion.segments)


def test_bone_lengths_are_constant(motion):
    b = MOCAP.bone_indices
    lengths = np.linalg.norm(motion.joints[:, b[:, 0]] - motion.joints[:, b[:, 1]], axis=-1)  # (T, B)
    assert motion.joints.shape == (120, 27, 3)
    assert np.all(lengths.std(axis=0) < 1e-9)
    assert np.all(lengths.mean(axis=0) > 0.02)


def test_feet_on_ground_and_person_upright(motion):
    feet = [MOCAP.index(n) for n in ("left_heel", "right_heel", "left_big_toe", "right_big_toe")]
    lowest = motion.joints[:, feet, 2].min(axis=1)
    assert np.allclose(lowest, 0.02, atol=1e-9)
    walk = slice(*motion.segments[0][1:])
    head = motion.joints[walk, MOCAP.index("head"), 2]
    assert np.all((head > 1.2) & (head < 1.95))  # skull base of an adult, training-skeleton proportions
    # While walking (and turning), each foot is lifted at some point and grounded at another.
    walking = slice(motion.segments[0][1], motion.segments[1][2])
    for side in ("left", "right"):
        z = motion.joints[walking, MOCAP.index(f"{side}_heel"), 2]
        assert z.min() < 0.03 and z.max() > 0.08


def test_script_walks_turns_waves_and_crouches(motion):
    names = [s[0] for s in motion.segments]
    assert names == ["walk", "turn", "wave", "crouch"]
    pelvis = motion.joints[:, 0]
    walk, turn, wave, crouch = (slice(s, e) for _, s, e in motion.segments)
    assert np.linalg.norm(pelvis[walk][-1, :2] - pelvis[walk][0, :2]) > 0.8  # it travels
    across = motion.joints[:, MOCAP.index("left_hip")] - motion.joints[:, MOCAP.index("right_hip")]
    yaw = np.unwrap(np.arctan2(across[:, 1], across[:, 0]))
    assert abs(yaw[turn][-1] - yaw[turn][0]) > np.radians(45)  # it turns
    wrist = motion.joints[wave, MOCAP.index("right_wrist"), 2]
    assert wrist.max() > motion.joints[wave, MOCAP.index("head"), 2].max()  # the hand goes above the head
    assert pelvis[crouch, 2].min() < pelvis[walk, 2].min() - 0.25  # it crouches


def test_motion_is_deterministic_by_seed():
    a, b, c = procedural_motion(40, seed=7), procedural_motion(40, seed=7), procedural_motion(40, seed=8)
    assert np.array_equal(a.joints, b.joints)
    assert not np.allclose(a.joints, c.joints)


def test_bad_motion_requests_raise():
    with pytest.raises(ValueError):
        procedural_motion(3)
    with pytest.raises(SceneError):
        build_scene(np.zeros((10, 17, 3)))


def test_camera_swap_changes_intrinsics_and_distortion(scene):
    a, b = scene.camera(0), scene.camera(len(scene) - 1)
    assert scene.camera(scene.swap_frame - 1) is a and scene.camera(scene.swap_frame) is b
    assert 0 < scene.swap_frame < len(scene)
    assert not a.same_calibration(b)
    assert not np.allclose(a.K, b.K) and (a.width, a.height) != (b.width, b.height)
    assert a.distortion_model != b.distortion_model and a.has_distortion and b.has_distortion
    assert scene.phase(0) == "before_swap" and scene.phase(len(scene) - 1) == "after_swap"


def test_keypoints_are_noisy_projections_with_misses(scene):
    T, J = scene.scores.shape
    assert scene.keypoints.shape == (T, J, 2) and J == 17
    seen = scene.scores > 0
    assert 0.8 < seen.mean() < 0.99  # some joints are missed
    coco = get_skeleton("coco17")
    idx = [MOCAP.index(n) for n in coco.joints]
    true = np.stack([scene.camera(i).project(scene.world_to_camera(scene.joints_world[i, idx])) for i in range(T)])
    err = np.linalg.norm(scene.keypoints - true, axis=-1)[seen]
    assert 0.5 < np.median(err) < 5.0  # detector-like pixel noise, not exact and not wild
    for i in (0, T - 1):
        assert np.all(scene.camera(i).in_image(scene.keypoints[i][seen[i]]))
    # Truth in the optical frame: the person is in front of the camera, a few meters away.
    assert scene.joints_cam.shape == (T, 17, 3)
    assert np.all((scene.joints_cam[..., 2] > 2.0) & (scene.joints_cam[..., 2] < 12.0))


def test_render_shows_person_where_joints_project(scene):
    render = FrameRenderer(scene)
    for frame in (5, len(scene) - 5):
        cam = scene.camera(frame)
        image = render(frame)
        assert image.shape == (cam.height, cam.width, 3) and image.dtype == np.uint8
        background = render_background(cam, scene.R, scene.t)
        changed = np.any(image != background, axis=-1)  # (H, W)
        px = cam.project(scene.world_to_camera(scene.joints_world[frame, :17]))
        u, v = np.round(px).astype(int).T
        assert changed[v, u].mean() > 0.9  # joints are covered by the drawn body
        assert 0.002 < changed.mean() < 0.2  # and the body is a person-sized blob, not the whole frame
        # Far from the person nothing is drawn.
        assert not changed[:, : max(0, u.min() - 60)].any() or u.min() < 60


def test_data_replays_real_mocap():
    from learned_energy_ros.data.paths import shared_data
    from learned_energy_ros.demo.main import load_motion

    root = shared_data("cmu_mocap")
    if root is None:
        pytest.skip("shared cmu_mocap data not present (set LER_SHARED_DIR)")
    joints, fps, segments, name = load_motion(str(root / "val"), 60, seed=0)
    assert joints.shape == (60, 27, 3) and fps == 30.0 and name
    scene = build_scene(joints, fps=fps, segments=segments)
    assert (scene.scores > 0).mean() > 0.8  # the camera frames the replayed person
    b = MOCAP.bone_indices
    lengths = np.linalg.norm(joints[:, b[:, 0]] - joints[:, b[:, 1]], axis=-1)
    assert np.all(lengths.std(axis=0) < 0.02)  # a real skeleton: rigid bones
