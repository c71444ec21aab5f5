"""Frustum grids, canonical resampling, voxelization, rendering and binvox on analytic shapes."""
import math

import numpy as np
import pytest
import trimesh
from scipy.ndimage import binary_dilation

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.metrics import voxel_iou
from learned_energy_ros.vox.binvox import BinvoxError, read_binvox, write_binvox
from learned_energy_ros.vox.canonical_image import canonical_camera_for, resample_to_canonical
from learned_energy_ros.vox.frustum import FrustumError, FrustumGrid
from learned_energy_ros.vox.meshes import MeshError, from_trimesh
from learned_energy_ros.vox.mesh_render import render
from learned_energy_ros.vox.voxelize import voxelize_frustum, voxelize_world

DISTORTED = {
    "plumb_bob": Camera(np.array([[150.0, 0, 78], [0, 152, 61], [0, 0, 1]]), [-0.2, 0.05, 1e-3, -1e-3, 0.0], "plumb_bob", 160, 120),
    "equidistant": Camera(np.array([[90.0, 0, 81], [0, 90, 59], [0, 0, 1]]), [0.02, -0.01, 0.002, 0.0], "equidistant", 160, 120),
    "none": Camera.pinhole(100, 100, 63.5, 47.5, 128, 96),
}


@pytest.mark.parametrize("model", sorted(DISTORTED))
@pytest.mark.parametrize("bins", ["linear", "inverse"])
def test_voxel_centres_project_to_their_pixel_bin_centres(model, bins):
    cam = DISTORTED[model]
    grid = FrustumGrid(cam, 16, 0.5, 2.0, bins)
    centres = grid.centers()  # (R, R, R, 3)
    px = cam.project(centres)  # (R, R, R, 2)
    u, v = grid.pixel_centers()
    np.testing.assert_allclose(px[..., 0], np.broadcast_to(u[:, None, None], px.shape[:3]), atol=1e-6)
    np.testing.assert_allclose(px[..., 1], np.broadcast_to(v[None, :, None], px.shape[:3]), atol=1e-6)
    # and back: continuous bin coordinates of a centre are index + 0.5
    ijk = grid.points_to_bins(centres)
    idx = np.stack(np.meshgrid(*(np.arange(16),) * 3, indexing="ij"), -1) + 0.5
    np.testing.assert_allclose(ijk, idx, atol=1e-6)
    np.testing.assert_allclose(grid.index_to_points(idx.reshape(-1, 3).astype(int)), centres.reshape(-1, 3), atol=1e-9)


def test_inverse_bins_are_finer_near_the_camera():
    g = FrustumGrid(DISTORTED["none"], 8, 1.0, 4.0, "inverse")
    widths = np.diff(g.depth_edges())
    assert np.all(np.diff(widths) > 0) and g.depth_edges()[0] == pytest.approx(1.0) and g.depth_edges()[-1] == pytest.approx(4.0)
    with pytest.raises(FrustumError):
        FrustumGrid(DISTORTED["none"], 8, 2.0, 1.0)


def test_canonical_resampling_undistorts():
    cam = DISTORTED["plumb_bob"]
    point = np.array([0.05, -0.03, 1.0])
    u, v = cam.project(point)
    image = np.zeros((cam.height, cam.width, 3), np.uint8)
    image[int(round(v)) - 1:int(round(v)) + 2, int(round(u)) - 1:int(round(u)) + 2] = 255
    canon, ccam = resample_to_canonical(image, cam, 64)
    assert canon.shape == (64, 64, 3) and not ccam.has_distortion
    peak = np.unravel_index(np.argmax(canon[..., 0].astype(float)), canon.shape[:2])
    expect = ccam.project(point)
    assert abs(peak[1] - expect[0]) <= 1.0 and abs(peak[0] - expect[1]) <= 1.0
    # the canonical square contains the whole raw image's rays
    corners = cam.normalize(np.array([[-0.5, -0.5], [cam.width - 0.5, cam.height - 0.5]]))
    px = ccam.normalized_to_pixels(corners)
    assert np.all(px >= -0.5 - 1e-6) and np.all(px <= 63.5 + 1e-6)


def test_roi_frames_the_canonical_view():
    cam = DISTORTED["none"]
    ccam = canonical_camera_for(cam, 32, roi=(32, 24, 64, 48))
    centre = ccam.project(cam.rays(np.array([63.5, 47.5])) * 2.0)
    np.testing.assert_allclose(centre, [15.5, 15.5], atol=1e-6)
    assert ccam.fx == pytest.approx(100 * 32 / 64)


def _layer_tolerance(area: float, voxel: float) -> float:
    return area * voxel  # one voxel layer over the whole surface


def test_world_voxelization_of_cube_and_sphere_matches_volume():
    R = 32
    for mesh in (trimesh.creation.box(extents=(1.0, 0.6, 0.8)), trimesh.creation.icosphere(4, 1.0)):
        obj = from_trimesh(mesh)
        occ = voxelize_world(obj, R)
        voxel = 2.0 / R
        assert abs(occ.sum() * voxel ** 3 - obj.solid.volume) < _layer_tolerance(obj.solid.area, voxel)


def test_frustum_voxelization_matches_volume_and_keeps_through_holes_open():
    cam = Camera.from_fov(30, 64, 64)
    d, s = 1.0, math.sin(math.radians(15))
    grid = FrustumGrid(cam, 32, d * (1 - s), d * (1 + s))
    tube = trimesh.creation.annulus(r_min=0.35, r_max=0.6, height=0.5, sections=48)  # a ring: the hole must stay empty
    obj = from_trimesh(tube)
    scale = 0.85 * d * s
    rot = np.eye(3)  # the ring axis (object z) along the optical axis
    occ = voxelize_frustum(obj, grid, rot, np.array([0, 0, d]), scale)
    volume = (occ * grid.cell_volumes()).sum()
    true = obj.solid.volume * scale ** 3
    assert abs(volume - true) < _layer_tolerance(obj.solid.area * scale ** 2, max(grid.voxel_size()))
    assert not occ[14:18, 14:18, :].any()  # the hole through the ring's axis


def test_open_mesh_is_rejected_and_slivers_are_dropped():
    box = trimesh.creation.box()
    open_box = trimesh.Trimesh(box.vertices, box.faces[6:], process=False)  # three sides missing: too big to fill
    with pytest.raises(MeshError, match="not watertight"):
        from_trimesh(open_box)
    sliver = trimesh.Trimesh([[5, 5, 5], [5.001, 5, 5], [5, 5.001, 5]], [[0, 1, 2]])
    obj = from_trimesh(trimesh.util.concatenate([box, sliver]))
    assert obj.solid.is_watertight and len(obj.solid.faces) == 12


def test_render_silhouette_matches_projected_occupancy():
    cam = Camera.from_fov(30, 32, 32)
    obj = from_trimesh(trimesh.creation.box(extents=(1.0, 0.6, 0.8)))
    rot = np.eye(3)
    t = np.array([0.0, 0.0, 1.0])
    r = render(obj, cam, rot, t, 0.2, background=(0, 0, 0))
    assert r.rgb.shape == (32, 32, 3) and r.mask.any() and not r.mask.all()
    assert np.all(r.depth[r.mask] > 0.75) and np.all(r.depth[~r.mask] == 0)
    occ = voxelize_frustum(obj, FrustumGrid(cam, 32, 0.7, 1.3), rot, t, 0.2)
    silhouette = occ.any(axis=2).T  # [j, i] = rows, columns
    assert float(voxel_iou(silhouette.astype(float), r.mask)) > 0.85
    # they differ only along the outline (pixel-centre vs voxel-centre sampling)
    assert np.all(binary_dilation(r.mask)[silhouette]) and np.all(binary_dilation(silhouette)[r.mask])


def test_binvox_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    occ = rng.random((16, 12, 8)) < 0.3
    occ[:, :, 0] = True  # long runs (> 255) exercise run splitting
    path = write_binvox(tmp_path / "a.binvox", occ, translate=(0.1, 0.2, 0.3), scale=2.0)
    back = read_binvox(path)
    assert back.occupancy.shape == occ.shape and np.array_equal(back.occupancy, occ)
    assert back.translate == (0.1, 0.2, 0.3) and back.scale == 2.0
    (tmp_path / "bad.binvox").write_bytes(b"#binvox 1\ndim 2 2 2\ndata\n\x01\x05")
    with pytest.raises(BinvoxError):
        read_binvox(tmp_path / "bad.binvox")
