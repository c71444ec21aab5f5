"""Place object boxes metrically: a support plane under the camera turns a box's bottom edge into a distance.

One image cannot tell a small object nearby from a large one far away; the
reconstructor's frustum needs ``near``/``far`` to fix that. When the camera's
pose above the surface the objects stand on (floor, table) is known, the ray
through the middle of a box's bottom edge meets that plane where the object
touches it (its front-bottom edge), which gives its distance. The object is
taken as upright and as deep as it is wide (``depth_ratio``), so its centre
lies half a depth behind that contact and half its height above it; the
frustum is then centred on that depth with the depth range the model was
trained with for a view of the box's size (``frustum_depth_range``).

Frames: the *plane frame* has its z = 0 plane on the support surface and z up;
``SupportPlane`` holds the rigid transform optical frame -> plane frame.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.vox.canonical_image import canonical_camera_for

__all__ = ["PlacementError", "SupportPlane", "BoxPlacement", "place_box", "frustum_depth_range", "pad_box"]


class PlacementError(ValueError):
    """Raised when a plane or a box cannot be used to place an object."""


@dataclass(frozen=True, eq=False)
class SupportPlane:
    """The camera's pose above the plane objects stand on.

    Args:
        rotation: (3, 3) optical frame -> plane frame (``p_plane = rotation @ p_optical + translation``).
        translation: (3,) the camera's optical centre in the plane frame; its z is the camera height (> 0).
    """

    rotation: np.ndarray
    translation: np.ndarray

    def __post_init__(self) -> None:
        R = np.asarray(self.rotation, dtype=np.float64)
        t = np.asarray(self.translation, dtype=np.float64).reshape(-1)
        if R.shape != (3, 3) or t.shape != (3,) or not (np.all(np.isfinite(R)) and np.all(np.isfinite(t))):
            raise PlacementError(f"need a finite (3, 3) rotation and (3,) translation, got {R.shape}, {t.shape}")
        if not np.allclose(R @ R.T, np.eye(3), atol=1e-6) or np.linalg.det(R) < 0:
            raise PlacementError("rotation is not a proper rotation matrix")
        if t[2] <= 0:
            raise PlacementError(f"the camera must be above the support plane, got height {t[2]:.3g} m")
        object.__setattr__(self, "rotation", R)
        object.__setattr__(self, "translation", t)

    @property
    def height(self) -> float:
        """Height of the optical centre above the plane (m)."""
        return float(self.translation[2])

    @property
    def up(self) -> np.ndarray:
        """(3,) unit normal of the plane, pointing to the camera's side, in the optical frame."""
        return self.rotation[2]

    @classmethod
    def from_height_pitch(cls, height: float, pitch_deg: float) -> "SupportPlane":
        """A level camera ``height`` m above the plane, tilted ``pitch_deg`` down (no roll).

        The plane frame's origin is right below the camera, x along the view direction
        projected onto the plane, y to the left, z up.
        """
        if not (math.isfinite(height) and math.isfinite(pitch_deg)) or not -90 <= pitch_deg <= 90:
            raise PlacementError(f"need a finite height and a pitch in [-90, 90] deg, got {height}, {pitch_deg}")
        p = math.radians(pitch_deg)
        forward = [math.cos(p), 0.0, -math.sin(p)]  # optical z in the plane frame
        right = [0.0, -1.0, 0.0]  # optical x
        down = np.cross(forward, right)  # optical y
        return cls(np.stack([right, down, forward], axis=1), np.array([0.0, 0.0, height]))

    @classmethod
    def from_coefficients(cls, coefficients) -> "SupportPlane":
        """The plane ``a x + b y + c z + d = 0`` in the optical frame (either sign).

        The plane frame's origin is the foot of the perpendicular from the camera,
        x along the optical axis projected onto the plane (the image's up direction
        when looking straight down), z away from the plane toward the camera.
        """
        coeffs = np.asarray(coefficients, dtype=np.float64).reshape(-1)
        if coeffs.shape != (4,) or not np.all(np.isfinite(coeffs)) or not np.any(coeffs[:3]):
            raise PlacementError(f"support plane needs 4 finite coefficients [a, b, c, d] with (a, b, c) != 0, "
                                 f"got {coefficients!r}")
        scale = np.linalg.norm(coeffs[:3])
        up, height = coeffs[:3] / scale, coeffs[3] / scale
        if height < 0:  # orient the normal toward the camera (the origin)
            up, height = -up, -height
        forward = np.array([0.0, 0.0, 1.0]) - up[2] * up
        if np.linalg.norm(forward) < 1e-6:  # looking straight at the plane
            forward = np.array([0.0, -1.0, 0.0]) - (-up[1]) * up
        x = forward / np.linalg.norm(forward)
        return cls(np.stack([x, np.cross(up, x), up]), np.array([0.0, 0.0, height]))

    def to_plane(self, points: np.ndarray) -> np.ndarray:
        """Map optical-frame points (..., 3) into the plane frame (..., 3)."""
        return np.asarray(points, dtype=np.float64) @ self.rotation.T + self.translation

    def intersect(self, rays: np.ndarray) -> np.ndarray:
        """Return the scale s (...,) at which each optical-frame ray (..., 3) meets the plane (inf: never)."""
        rays = np.asarray(rays, dtype=np.float64)
        down = -(rays @ self.up)  # (...,) > 0 when the ray descends toward the plane
        with np.errstate(divide="ignore"):
            return np.where(down > 1e-9, self.height / np.maximum(down, 1e-300), np.inf)


@dataclass(frozen=True)
class BoxPlacement:
    """Where one box's object is: frustum depth range and the contact point."""

    roi: tuple[float, float, float, float]  # (x, y, w, h) raw pixels framing the object (padded box)
    distance: float  # optical depth z of the object's centre (m)
    near: float
    far: float
    contact: np.ndarray  # (3,) middle of the bottom edge on the plane, optical frame (m)


def pad_box(roi, factor: float) -> tuple[float, float, float, float]:
    """Scale the box ``(x, y, w, h)`` by ``factor`` about its centre (the model saw objects with a margin)."""
    x, y, w, h = (float(v) for v in roi)
    return (x + w / 2 - factor * w / 2, y + h / 2 - factor * h / 2, factor * w, factor * h)


def frustum_depth_range(distance: float, half_side: float, hfov_deg: float) -> tuple[float, float]:
    """Return (near, far) around ``distance`` for a square view of half-side ``half_side`` (normalized units).

    The training convention (``dataset.depth_range``) gives a view of half-angle
    h the depth range ``d (1 -/+ sin h)``: the range is ``cos h`` times the view's
    width at ``d``. Keeping that ratio for any box keeps the model's shapes in
    proportion: ``near/far = d (1 -/+ half_side cos h)``; the full training view
    (``half_side = tan h``) gives back ``d (1 -/+ sin h)``.
    """
    half = distance * half_side * math.cos(math.radians(hfov_deg) / 2)
    if half >= distance:
        raise PlacementError(f"box too wide to place: its frustum would reach behind the camera (half range "
                             f"{half:.3g} m at {distance:.3g} m)")
    return distance - half, distance + half


def place_box(camera: Camera, box, plane: SupportPlane, image_size: int, hfov_deg: float,
              depth_ratio: float = 1.0, padding: float = 1.0, max_distance: float = math.inf) -> BoxPlacement:
    """Place the object of ``box`` on ``plane``: its distance and frustum depth range.

    Args:
        camera: the image's camera (any distortion; boxes are in its raw pixels).
        box: (x, y, w, h) raw pixels, pixel p covering [p, p + 1) (the ``roi`` convention).
        plane: the support plane under the camera.
        image_size, hfov_deg: the model's canonical input size and training field of view.
        depth_ratio: object depth / width (1: as deep as wide; 0: a flat face at the contact).
        padding: the reconstruction's ROI is the box scaled by this about its centre.
        max_distance: contacts farther than this (m) are refused.

    Raises:
        PlacementError: bad box, bottom edge at or above the plane's horizon, too far, or too wide.
    """
    x, y, w, h = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise PlacementError(f"box needs finite x, y and positive width, height, got {tuple(box)}")
    bottom = y + h - 0.5  # pixel-centre coordinates of the bottom edge
    corners = camera.normalize(np.array([[x - 0.5, bottom], [x + w / 2 - 0.5, bottom], [x + w - 0.5, bottom],
                                         [x + w / 2 - 0.5, y - 0.5]]))  # (4, 2): left, middle, right, top
    ray = np.array([corners[1, 0], corners[1, 1], 1.0])
    scale = float(plane.intersect(ray))
    if not math.isfinite(scale):
        raise PlacementError(f"box {tuple(box)}: its bottom edge is at or above the horizon of the support plane")
    contact = scale * ray  # (3,) optical z of the contact = scale
    if scale > max_distance:
        raise PlacementError(f"box {tuple(box)}: contact {scale:.3g} m away, beyond max distance {max_distance:.3g} m")
    width = float(corners[2, 0] - corners[0, 0]) * scale  # metric width of the bottom edge at the contact
    height = float(corners[1, 1] - corners[3, 1]) * scale  # metric height of a face standing at the contact
    away = ray - (ray @ plane.up) * plane.up  # the ray's direction along the plane (none looking straight down)
    along = away / np.linalg.norm(away) if np.linalg.norm(away) > 1e-9 else np.zeros(3)
    centre = contact + along * depth_ratio * width / 2 + plane.up * height / 2
    roi = pad_box((x, y, w, h), padding)
    canon = canonical_camera_for(camera, image_size, roi)
    near, far = frustum_depth_range(float(centre[2]), image_size / (2 * canon.fx), hfov_deg)
    return BoxPlacement(roi, float(centre[2]), near, far, contact)
