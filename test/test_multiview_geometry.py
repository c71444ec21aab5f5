"""Multi-view geometry without a model: DLT / RANSAC triangulation and the camera rig YAML."""
import numpy as np
import pytest

from learned_energy_ros.core.rotations import quaternion_to_matrix
from learned_energy_ros.pose.rig import CameraPose, RigError, load_rig, rig_from_dict
from learned_energy_ros.pose.triangulation import dlt_triangulate, pose_matrices, ransac_triangulate


def _rig(views: int):
    out = []
    for k in range(views):
        a = np.radians(15 + k * 360 / views)
        out.append(CameraPose.look_at([5 * np.cos(a), 5 * np.sin(a), 1.6], [0, 0, 1.0]))
    return out


def _observe(points, poses):
    """(V, 1, J, 2) normalized coordinates of world points (J, 3)."""
    cam = np.stack([p.to_camera(points) for p in poses])
    return (cam[..., :2] / cam[..., 2:3])[:, None]


def test_dlt_is_exact_on_noise_free_data():
    rng = np.random.default_rng(0)
    points = rng.uniform(-0.5, 0.5, size=(13, 3)) + [0, 0, 1]
    poses = _rig(3)
    R, t = pose_matrices(poses)
    out = dlt_triangulate(_observe(points, poses), np.ones((3, 1, 13)), R, t)
    np.testing.assert_allclose(out[0], points, atol=1e-9)
    one_view = np.zeros((3, 1, 13))
    one_view[0] = 1
    assert np.isnan(dlt_triangulate(_observe(points, poses), one_view, R, t)).all()  # one view: no point


def test_ransac_rejects_a_confident_outlier_view():
    rng = np.random.default_rng(1)
    points = rng.uniform(-0.5, 0.5, size=(13, 3)) + [0, 0, 1]
    poses = _rig(4)
    R, t = pose_matrices(poses)
    xy = _observe(points, poses) + rng.normal(size=(4, 1, 13, 2)) * 1e-4
    xy[2, 0, 5] += [0.08, -0.05]  # view 2 confidently wrong about joint 5 (~80 px at f = 900)
    scores = np.ones((4, 1, 13))
    plain = dlt_triangulate(xy, scores, R, t)
    robust, inliers = ransac_triangulate(xy, scores, R, t, focal=np.full(4, 900.0))
    assert np.linalg.norm(plain[0, 5] - points[5]) > 0.05  # the plain DLT is pulled
    assert np.linalg.norm(robust[0, 5] - points[5]) < 0.005
    assert not inliers[2, 0, 5] and inliers[:, 0, [0, 1, 2, 3, 4, 6]].all()


def test_look_at_and_pose_round_trip():
    pose = CameraPose.look_at([3.0, 0.0, 1.5], [0.0, 0.0, 1.5])
    np.testing.assert_allclose(pose.to_camera([[0.0, 0.0, 1.5]]), [[0.0, 0.0, 3.0]], atol=1e-12)  # on the axis
    np.testing.assert_allclose(pose.to_camera([[0.0, 0.0, 2.5]])[0, 1], -1.0, atol=1e-12)  # up is -y (optical)
    assert np.isclose(np.linalg.det(pose.rotation), 1.0)
    p = np.random.default_rng(2).normal(size=(5, 3))
    np.testing.assert_allclose(pose.to_common(pose.to_camera(p)), p, atol=1e-12)


def test_rig_yaml_parses_quaternions_and_matrices(tmp_path):
    f = tmp_path / "rig.yaml"
    f.write_text("frame_id: world\ncameras:\n"
                 "  cam0:\n    translation: [0, -4, 1.5]\n    rotation: [-0.7071068, 0, 0, 0.7071068]\n"
                 "  cam1:\n    translation: [4.0, 0.0, 1.5]\n    rotation_matrix: [[0, 0, -1], [1, 0, 0], [0, -1, 0]]\n")
    rig = load_rig(f)
    assert rig.frame_id == "world" and sorted(rig.poses) == ["cam0", "cam1"]
    np.testing.assert_allclose(rig.pose("cam0").rotation, quaternion_to_matrix([-0.7071068, 0, 0, 0.7071068]), atol=1e-6)
    # both cameras look at the origin's height from their side: the optical axis (z) points at it
    for name in ("cam0", "cam1"):
        axis = rig.pose(name).rotation[:, 2]
        towards = -rig.pose(name).translation * [1, 1, 0]
        assert axis @ towards / np.linalg.norm(towards) > 0.999
    rig.require(["cam0", "cam1"])
    with pytest.raises(RigError, match="cam7"):
        rig.require(["cam0", "cam7"])


@pytest.mark.parametrize("text, match", [
    ("cameras: {}\n", "frame_id"),
    ("frame_id: world\n", "cameras"),
    ("frame_id: world\nextra: 1\ncameras: {c: {translation: [0, 0, 0], rotation: [0, 0, 0, 1]}}\n", "unknown keys"),
    ("frame_id: world\ncameras: {c: {rotation: [0, 0, 0, 1]}}\n", "translation"),
    ("frame_id: world\ncameras: {c: {translation: [0, 0], rotation: [0, 0, 0, 1]}}\n", "3 finite numbers"),
    ("frame_id: world\ncameras: {c: {translation: [0, 0, .nan], rotation: [0, 0, 0, 1]}}\n", "finite"),
    ("frame_id: world\ncameras: {c: {translation: [0, 0, 0], rotation: [0, 0, 0, 2]}}\n", "unit quaternion"),
    ("frame_id: world\ncameras: {c: {translation: [0, 0, 0]}}\n", "exactly one of"),
    ("frame_id: world\ncameras: {c: {translation: [0, 0, 0], rotation_matrix: [[1, 0, 0], [0, 1, 0], [0, 0, -1]]}}\n",
     "not a rotation"),
    ("frame_id: world\ncameras: {c: {translation: [0, 0, 0], rotation: [0, 0, 0, 1], scale: 2}}\n", "unknown keys"),
    ("- just a list\n", "mapping"),
    ("frame_id: [unclosed\n", "not valid YAML"),
])
def test_rig_yaml_errors_name_the_problem(tmp_path, text, match):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(RigError, match=match) as err:
        load_rig(f)
    assert "bad.yaml" in str(err.value)


def test_missing_rig_file_is_a_clear_error(tmp_path):
    with pytest.raises(RigError, match="not found"):
        load_rig(tmp_path / "nope.yaml")
    with pytest.raises(RigError):
        rig_from_dict({"frame_id": "", "cameras": {}})
