"""Camera model against OpenCV on random cameras, and invalid-camera handling."""
import math

import cv2
import numpy as np
import pytest
import torch

from learned_energy_ros.core.camera import Camera, CameraError

CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-14)
TOL_PX = 1e-3


def random_camera(rng, model):
    w, h = int(rng.choice([640, 1280, 848])), int(rng.choice([480, 720]))
    f = rng.uniform(0.6, 1.4) * w
    K = np.array([[f, 0, w / 2 + rng.uniform(-20, 20)], [0, f * rng.uniform(0.98, 1.02), h / 2 + rng.uniform(-20, 20)], [0, 0, 1]])
    if model == "plumb_bob":
        D = [rng.uniform(-0.3, 0.1), rng.uniform(-0.05, 0.1), rng.uniform(-2e-3, 2e-3), rng.uniform(-2e-3, 2e-3), rng.uniform(-0.02, 0.02)]
    elif model == "rational_polynomial":
        D = [rng.uniform(-0.3, 0.3), rng.uniform(-0.1, 0.1), rng.uniform(-1e-3, 1e-3), rng.uniform(-1e-3, 1e-3),
             rng.uniform(-0.01, 0.01), rng.uniform(-0.1, 0.3), rng.uniform(-0.05, 0.05), rng.uniform(-0.01, 0.01)]
    elif model == "equidistant":
        K[0, 0] = K[1, 1] = f * 0.5
        D = [rng.uniform(-0.05, 0.05), rng.uniform(-0.02, 0.02), rng.uniform(-0.005, 0.005), rng.uniform(-0.002, 0.002)]
    else:
        D = []
    return Camera.from_camera_info({"k": K.ravel().tolist(), "d": D, "distortion_model": model, "width": w, "height": h})


def monotonic_radius(camera):
    """Largest normalized radius up to which the lens distortion is one-to-one."""
    r = np.linspace(1e-4, 3.0, 3000)
    rd = np.linalg.norm(camera.distort(np.stack([r, np.zeros_like(r)], -1)), axis=-1)
    bad = np.nonzero(np.diff(rd) <= 0)[0]
    return 0.9 * (r[bad[0]] if bad.size else r[-1])


def points_in_view(rng, camera, n=400):
    """Random 3D points in front of the camera, inside the lens's one-to-one zone, projecting inside the image."""
    r_max = monotonic_radius(camera)
    radius = r_max * np.sqrt(rng.uniform(0, 1, n))
    angle = rng.uniform(0, 2 * np.pi, n)
    xy = np.stack([radius * np.cos(angle), radius * np.sin(angle)], -1)
    z = rng.uniform(0.5, 8.0, (n, 1))
    points = np.concatenate([xy * z, z], axis=1)
    return points[camera.in_image(camera.project(points))]


MODELS = ["none", "plumb_bob", "rational_polynomial", "equidistant"]


def opencv_project(camera, points):
    if camera.distortion_model == "equidistant":
        out, _ = cv2.fisheye.projectPoints(points[:, None, :].astype(np.float64), np.zeros(3), np.zeros(3), camera.K, camera.D)
    else:
        out, _ = cv2.projectPoints(points, np.zeros(3), np.zeros(3), camera.K, camera.D if camera.D.size else None)
    return out[:, 0]


def opencv_undistort(camera, px):
    src = px[:, None, :].astype(np.float64)
    if camera.distortion_model == "equidistant":
        out = cv2.fisheye.undistortPoints(src, camera.K, camera.D, criteria=CRITERIA)
    else:
        out = cv2.undistortPoints(src, camera.K, camera.D if camera.D.size else np.zeros(5), criteria=CRITERIA)
    return out[:, 0]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("seed", range(4))
def test_project_matches_opencv(model, seed):
    rng = np.random.default_rng(seed)
    camera = random_camera(rng, model)
    points = points_in_view(rng, camera)
    ours = camera.project(points)
    theirs = opencv_project(camera, points)
    assert np.abs(ours - theirs).max() < TOL_PX


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("seed", range(4))
def test_normalize_matches_opencv_and_inverts_projection(model, seed):
    rng = np.random.default_rng(100 + seed)
    camera = random_camera(rng, model)
    points = points_in_view(rng, camera)
    px = opencv_project(camera, points)
    inside = camera.in_image(px)
    ours = camera.normalize(px[inside])
    truth = points[inside, :2] / points[inside, 2:]
    # Compare in pixel units: normalized error times focal length.
    assert np.abs(ours - truth).max() * camera.fx < TOL_PX
    assert np.abs(ours - opencv_undistort(camera, px[inside])).max() * camera.fx < TOL_PX


def test_torch_projection_is_batched_and_differentiable():
    rng = np.random.default_rng(7)
    camera = random_camera(rng, "rational_polynomial")
    points = torch.tensor(points_in_view(rng, camera, 4000)[:24].reshape(2, 3, 4, 3), requires_grad=True)
    px = camera.project(points)
    assert px.shape == (2, 3, 4, 2)
    assert np.allclose(px.detach().numpy(), camera.project(points.detach().numpy()), atol=1e-9)
    px.sum().backward()
    assert torch.isfinite(points.grad).all() and points.grad.abs().sum() > 0
    # torch input to normalize returns torch of the same dtype
    back = camera.normalize(px.detach())
    assert isinstance(back, torch.Tensor) and back.dtype == px.dtype


def test_fov_constructor_and_round_trip_fields():
    camera = Camera.from_fov(90.0, 640, 480, frame_id="cam_optical")
    assert math.isclose(camera.fx, 320.0)
    again = Camera.from_camera_info(camera.to_camera_info_fields())
    assert again.same_calibration(camera) and again.frame_id == "cam_optical"


def test_accepts_ros_message_like_objects():
    class Header:
        frame_id = "head_camera"

    class Info:
        header = Header()
        k = [400.0, 0, 320, 0, 400, 240, 0, 0, 1]
        d = [0.0] * 5
        distortion_model = "plumb_bob"
        width, height = 640, 480

    camera = Camera.from_camera_info(Info())
    assert camera.frame_id == "head_camera" and camera.distortion_model == "plumb_bob"


BAD = {
    "zero K": dict(k=[0.0] * 9),
    "negative fx": dict(k=[-400.0, 0, 320, 0, 400, 240, 0, 0, 1]),
    "zero fy": dict(k=[400.0, 0, 320, 0, 0, 240, 0, 0, 1]),
    "NaN in K": dict(k=[400.0, 0, float("nan"), 0, 400, 240, 0, 0, 1]),
    "short K": dict(k=[400.0, 0, 320]),
    "bad last row": dict(k=[400.0, 0, 320, 0, 400, 240, 0, 0, 2]),
    "unknown model": dict(distortion_model="kannala_brandt_9"),
    "NaN in D": dict(d=[float("nan"), 0, 0, 0, 0]),
    "extra non-zero coefficients": dict(d=[0.1, 0, 0, 0, 0, 0.3]),
    "coefficients without a model": dict(distortion_model="", d=[0.1, 0, 0, 0, 0]),
    "zero width": dict(width=0),
    "negative height": dict(height=-5),
    "no K at all": dict(k=None),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_invalid_cameras_raise_camera_error(case):
    fields = {"k": [400.0, 0, 320, 0, 400, 240, 0, 0, 1], "d": [0.0] * 5, "distortion_model": "plumb_bob", "width": 640, "height": 480}
    fields.update(BAD[case])
    if fields["k"] is None:
        del fields["k"]
    with pytest.raises(CameraError):
        Camera.from_camera_info(fields)


def test_plumb_bob_with_fewer_coefficients_is_padded():
    camera = Camera.from_camera_info({"k": [400.0, 0, 320, 0, 400, 240, 0, 0, 1], "d": [0.1, 0.01], "distortion_model": "plumb_bob", "width": 640, "height": 480})
    assert camera.D.tolist() == [0.1, 0.01, 0.0, 0.0, 0.0]
