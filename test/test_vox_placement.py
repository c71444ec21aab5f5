"""Support plane -> object distance -> frustum near/far; ground-plane occupancy grid; rotations (exact numbers)."""
import math

import numpy as np
import pytest

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.rotations import rotation_to_quaternion, quaternion_to_matrix
from learned_energy_ros.vox.dataset import depth_range
from learned_energy_ros.vox.frustum import FrustumGrid
from learned_energy_ros.vox.ground_grid import FREE, OCCUPIED, UNKNOWN, GridError, GridSpec, project_to_grid
from learned_energy_ros.vox.placement import PlacementError, SupportPlane, frustum_depth_range, place_box
from learned_energy_ros.vox.reconstructor import VoxelResult

CAM = Camera.pinhole(500.0, 500.0, 319.5, 239.5, 640, 480, "cam")
COS15 = math.cos(math.radians(15))


def test_level_camera_places_a_box_by_its_bottom_edge():
    plane = SupportPlane.from_height_pitch(0.5, 0.0)
    # bottom edge at pixel-centre row 364.5: normalized y 0.25 -> the floor 0.5 m down is 2.0 m ahead;
    # 100 px wide -> 0.4 m, as deep: centre 0.2 m further; 100 px high: centre 0.2 m up
    p = place_box(CAM, (270, 265, 100, 100), plane, image_size=64, hfov_deg=30.0)
    np.testing.assert_allclose(p.contact, [0.0, 0.5, 2.0], atol=1e-12)
    assert p.distance == pytest.approx(2.2)
    # the box spans normalized x [-0.1, 0.1]: half side 0.1; range = d (1 -/+ 0.1 cos 15 deg)
    assert (p.near, p.far) == pytest.approx((2.2 * (1 - 0.1 * COS15), 2.2 * (1 + 0.1 * COS15)))
    flat = place_box(CAM, (270, 265, 100, 100), plane, 64, 30.0, depth_ratio=0.0)
    assert flat.distance == pytest.approx(2.0)
    padded = place_box(CAM, (270, 265, 100, 100), plane, 64, 30.0, padding=1.5)
    assert padded.distance == pytest.approx(2.2) and padded.roi == pytest.approx((245, 240, 150, 150))
    assert padded.far - padded.near == pytest.approx(1.5 * (p.far - p.near))


def test_training_view_gives_the_training_depth_range():
    tan15 = math.tan(math.radians(15))
    assert frustum_depth_range(1.0, tan15, 30.0) == pytest.approx(depth_range(1.0, 30.0))
    with pytest.raises(PlacementError, match="behind the camera"):
        frustum_depth_range(1.0, 2.0, 30.0)


def test_pitched_camera_contact_lies_on_the_plane_and_projects_to_the_box():
    cam = Camera(np.array([[400.0, 0, 322], [0, 405, 236], [0, 0, 1]]), [-0.2, 0.05, 1e-3, -1e-3, 0.0], "plumb_bob",
                 640, 480)
    plane = SupportPlane.from_height_pitch(0.8, 35.0)
    box = (300, 200, 60, 90)
    p = place_box(cam, box, plane, 64, 30.0)
    assert plane.to_plane(p.contact)[2] == pytest.approx(0.0, abs=1e-9)  # on the plane
    np.testing.assert_allclose(cam.project(p.contact), [300 + 30 - 0.5, 200 + 90 - 0.5], atol=1e-6)
    # forward distance along the floor: height / tan(pitch + the ray's angle below the axis)
    below = math.atan(cam.normalize(np.array([329.5, 289.5]))[1])
    assert plane.to_plane(p.contact)[0] == pytest.approx(0.8 / math.tan(math.radians(35.0) + below), rel=1e-9)
    assert p.near < p.distance < p.far


def test_plane_coefficients_equal_height_and_pitch():
    pitch = math.radians(20)
    a = SupportPlane.from_height_pitch(1.2, 20.0)
    for sign in (1, -2):  # either orientation and scale of the coefficients
        b = SupportPlane.from_coefficients(sign * np.array([0, -math.cos(pitch), -math.sin(pitch), 1.2]))
        np.testing.assert_allclose(b.rotation, a.rotation, atol=1e-12)
        np.testing.assert_allclose(b.translation, a.translation, atol=1e-12)
    down = SupportPlane.from_coefficients([0, 0, -1, 2.0])  # looking straight down from 2 m
    assert down.height == 2.0 and np.allclose(down.up, [0, 0, -1])
    assert down.intersect(np.array([0, 0, 1.0])) == pytest.approx(2.0)


def test_camera_pose_plane_and_bad_planes_are_refused():
    R = SupportPlane.from_height_pitch(1.0, 10.0).rotation
    pose = SupportPlane(R, [3.0, -1.0, 1.0])  # a camera 1 m above a map's floor, anywhere on it
    ray = np.array([0.0, 0.3, 1.0])
    hit = pose.to_plane(pose.intersect(ray) * ray)
    assert pose.height == 1.0 and hit[2] == pytest.approx(0.0, abs=1e-12)
    assert hit[0] == pytest.approx(3.0 + 1.0 / math.tan(math.radians(10.0) + math.atan(0.3)))
    for bad in ([0, 0, 0, 1], [0, -1, 0], [0, -1, 0, 0], [0, -1, 0, float("nan")]):
        with pytest.raises(PlacementError):
            SupportPlane.from_coefficients(bad)
    with pytest.raises(PlacementError, match="above the support plane"):
        SupportPlane(np.eye(3), [0, 0, -0.5])
    with pytest.raises(PlacementError, match="rotation"):
        SupportPlane(np.diag([1.0, 1.0, -1.0]), [0, 0, 1.0])


def test_boxes_that_cannot_be_placed_are_refused():
    plane = SupportPlane.from_height_pitch(0.5, 0.0)
    with pytest.raises(PlacementError, match="horizon"):
        place_box(CAM, (300, 100, 40, 100), plane, 64, 30.0)  # bottom edge above the image centre
    with pytest.raises(PlacementError, match="max distance"):
        place_box(CAM, (300, 200, 40, 45), plane, 64, 30.0, max_distance=10.0)  # 4 px below the horizon: 62 m
    for box in ((0, 0, 0, 10), (0, 0, 10, -1), (float("nan"), 0, 10, 10)):
        with pytest.raises(PlacementError, match="box"):
            place_box(CAM, box, plane, 64, 30.0)


def test_quaternions_round_trip_including_half_turns():
    rng = np.random.default_rng(0)
    quats = np.concatenate([rng.normal(size=(50, 4)), np.eye(4), [[1, 1, 0, 0]]])
    for q in quats:
        q = q / np.linalg.norm(q) * (1 if q[3] >= 0 else -1)
        R = quaternion_to_matrix(q)
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
        back = rotation_to_quaternion(R)
        assert min(np.abs(back - q).max(), np.abs(back + q).max()) < 1e-12
    np.testing.assert_allclose(quaternion_to_matrix([0, 0, math.sin(0.25), math.cos(0.25)])[:2, :2],
                               [[math.cos(0.5), -math.sin(0.5)], [math.sin(0.5), math.cos(0.5)]], atol=1e-12)
    with pytest.raises(ValueError):
        quaternion_to_matrix([0, 0, 0, 0])


# ---------------------------------------------------------------------- occupancy grid
GRID_CAM = Camera.pinhole(100.0, 100.0, 63.5, 63.5, 128, 128)  # normalized [-0.64, 0.64] both ways
LEVEL = SupportPlane.from_height_pitch(1.0, 0.0)  # plane frame: x ahead, y left, z up; camera 1 m high
SPEC = GridSpec(0.1, (4.0, 4.0), (0.0, -2.0))  # x 0..4 m ahead, y -2..2 m: column = 10 x, row = 10 (y + 2)


def box_result(lo, hi, resolution=64, near=1.5, far=3.5) -> VoxelResult:
    """Frustum occupancy of a solid box [lo, hi] given in the plane frame of ``LEVEL``."""
    grid = FrustumGrid(GRID_CAM, resolution, near, far)
    p = LEVEL.to_plane(grid.centers())  # (R, R, R, 3)
    inside = np.all((p >= lo) & (p <= hi), axis=-1)
    return VoxelResult(inside.astype(np.float32), grid, np.zeros((1, 1, 3), np.uint8), 0)


def cells(grid, cols, rows):
    return grid[np.ix_(list(rows), list(cols))]


def test_grid_of_a_box_has_its_footprint_free_space_in_front_and_its_shadow_unknown():
    obj = box_result([2.0, -0.3, 0.0], [2.6, 0.3, 0.5])
    grid = project_to_grid([obj], LEVEL.rotation, LEVEL.translation, SPEC)
    assert grid.shape == (40, 40) and grid.dtype == np.int8
    occupied = np.argwhere(grid == OCCUPIED)  # (row, col)
    # x 2.0-2.6 m -> columns 20-25, y -0.3-0.3 m -> rows 17-22: exactly that footprint
    assert sorted(map(tuple, occupied)) == [(r, c) for r in range(17, 23) for c in range(20, 26)]
    assert np.all(cells(grid, range(15, 20), range(17, 23)) == FREE)  # seen between the near plane and the box
    assert np.all(cells(grid, range(0, 15), range(40)) == UNKNOWN)  # before the frustum's near plane
    assert np.all(cells(grid, range(26, 35), range(18, 22)) == UNKNOWN)  # its shadow: occluded near the floor
    assert np.all(cells(grid, range(26, 35), range(3, 8)) == FREE)  # beside the shadow, inside the frustum
    assert np.all(cells(grid, range(36, 40), range(40)) == UNKNOWN)  # beyond far (3.5 m)


def test_grid_ignores_voxels_below_the_plane_and_outside_the_grid():
    under = box_result([2.0, -0.3, -0.5], [2.6, 0.3, -0.05])  # "occupied" under the floor
    grid = project_to_grid([under], LEVEL.rotation, LEVEL.translation, SPEC)
    assert not np.any(grid == OCCUPIED) and np.any(grid == FREE)
    small = GridSpec(0.1, (1.0, 1.0), (5.0, 5.0))  # nowhere near the frustum
    assert np.all(project_to_grid([under], LEVEL.rotation, LEVEL.translation, small) == UNKNOWN)


def test_two_objects_merge_occupied_over_unknown_over_free():
    near_box = box_result([2.0, 0.5, 0.0], [2.3, 0.8, 0.4])
    empty = box_result([9, 9, 9], [9, 9, 9])  # all free: the whole frustum seen through
    grid = project_to_grid([near_box, empty], LEVEL.rotation, LEVEL.translation, SPEC)
    alone = project_to_grid([near_box], LEVEL.rotation, LEVEL.translation, SPEC)
    np.testing.assert_array_equal(grid, alone)  # the empty view adds nothing where the box's view says more
    assert np.all(project_to_grid([empty], LEVEL.rotation, LEVEL.translation, SPEC)[17:23, 20:26] == FREE)


def _contiguous(mask) -> bool:
    """Every row and column of ``mask`` holds one unbroken run (or nothing)."""
    return all(np.all(np.diff(np.flatnonzero(line)) == 1) for m in (mask, mask.T) for line in m)


def test_coarse_voxels_leave_no_holes_in_a_fine_grid(monkeypatch):
    obj = box_result([2.0, -0.3, 0.0], [2.6, 0.3, 0.5], resolution=16)  # voxels 0.12-0.3 m, cells 0.05 m
    fine = GridSpec(0.05, (4.0, 4.0), (0.0, -2.0))
    grid = project_to_grid([obj], LEVEL.rotation, LEVEL.translation, fine)
    assert (grid == OCCUPIED).sum() > 100 and _contiguous(grid == OCCUPIED)
    monkeypatch.setattr("learned_energy_ros.vox.ground_grid.MAX_SAMPLES", 1)  # voxel centres only: holes
    assert not _contiguous(project_to_grid([obj], LEVEL.rotation, LEVEL.translation, fine) == OCCUPIED)


@pytest.mark.parametrize("bad", [(0.0, (4.0, 4.0), (0, 0)), (0.1, (4.0, -1.0), (0, 0)), (0.1, (4.0,), (0, 0)),
                                 (0.001, (100.0, 100.0), (0, 0)), (0.1, (4.0, 4.0), (float("inf"), 0))])
def test_bad_grid_specs_are_refused(bad):
    with pytest.raises(GridError):
        GridSpec(*bad)


# ---------------------------------------------------------------------- several objects, one model call
@pytest.fixture(scope="module")
def tiny_reconstructor():
    import torch
    from learned_energy_ros.vox.dataset import ViewConfig
    from learned_energy_ros.vox.model import IGEConfig, IGEVoxelModel
    from learned_energy_ros.vox.reconstructor import Reconstructor
    torch.manual_seed(0)
    model = IGEVoxelModel(IGEConfig(resolution=8, image_size=32, width_mult=0.25, features=8, energy_hidden=8,
                                    steps=1)).eval()
    return Reconstructor(model, ViewConfig(image_size=32, resolution=8), torch.device("cpu"))


def test_batched_reconstruction_equals_one_call_per_box(tiny_reconstructor, monkeypatch):
    rgb = np.random.default_rng(1).integers(0, 255, (CAM.height, CAM.width, 3), dtype=np.uint8)
    views = [((100, 100, 80, 60), 1.0, 1.5), ((400, 50, 120, 200), 2.0, 3.0), (None, None, None)]
    calls = []
    forward = tiny_reconstructor.model.forward
    monkeypatch.setattr(tiny_reconstructor.model, "forward", lambda x, **kw: calls.append(len(x)) or forward(x, **kw))
    batched = tiny_reconstructor.reconstruct_many(rgb, CAM, views)
    assert calls == [3]  # one model call for the three objects
    for (roi, near, far), res in zip(views, batched):
        one = tiny_reconstructor.reconstruct(rgb, CAM, roi=roi, near=near, far=far)
        np.testing.assert_allclose(res.occupancy, one.occupancy, atol=1e-5)
        assert (res.grid.near, res.grid.far) == (one.grid.near, one.grid.far)
    assert tiny_reconstructor.reconstruct_many(rgb, CAM, []) == []


def test_objects_are_placed_skipped_and_capped(tiny_reconstructor):
    from learned_energy_ros.vox.objects import ObjectBox, PlacementConfig, reconstruct_objects
    rgb = np.zeros((CAM.height, CAM.width, 3), np.uint8)
    plane = SupportPlane.from_height_pitch(0.5, 0.0)
    boxes = [ObjectBox((270, 265, 100, 100), "cup", 0.9, 0), ObjectBox((300, 100, 40, 100), "lamp", 0.8, 1),
             ObjectBox((20, 300, 50, 50), "low", 0.1, 2), ObjectBox((500, 300, 60, 60), "bowl", 0.5, 3)]
    scene = reconstruct_objects(tiny_reconstructor, rgb, CAM, boxes, plane, PlacementConfig(max_objects=3))
    assert [o.box.class_id for o in scene.objects] == ["cup", "bowl"]  # input order kept
    assert {b.class_id: why.split(":")[-1].strip() for b, why in scene.skipped} == {
        "low": "more than max_objects=3 boxes", "lamp": "its bottom edge is at or above the horizon of the support plane"}
    cup = scene.objects[0]
    assert cup.placement.distance == pytest.approx(2.2)  # as in test_level_camera_places_a_box_by_its_bottom_edge
    assert (cup.result.grid.near, cup.result.grid.far) == pytest.approx((cup.placement.near, cup.placement.far))
    # without a plane every box keeps the given depth range, padded boxes frame the reconstruction
    flat = reconstruct_objects(tiny_reconstructor, rgb, CAM, boxes[:1], None, PlacementConfig(padding=2.0), 0.7, 0.9)
    grid = flat.objects[0].result.grid
    assert (grid.near, grid.far) == (0.7, 0.9) and flat.objects[0].placement is None
    corners = CAM.project(grid.index_to_points(np.array([[0, 0, 0], [7, 7, 0]])))
    assert corners[0] == pytest.approx([220 + 12.5 - 0.5, 215 + 12.5 - 0.5]) and corners[1][0] == pytest.approx(
        420 - 12.5 - 0.5)  # box 270..370 doubled: 220..420, 8 bins of 25 px
