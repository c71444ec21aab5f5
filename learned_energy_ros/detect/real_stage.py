"""Real images -> detector -> lifter, with per-stage timing and the plausibility checks (no ROS).

The body of the demo's real stage, ``process-video`` and the real-image tests.
Without a calibration the camera is a stated guess (``guess_camera``), so
depths are relative to that guess; shapes and 2D agreement are not.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from learned_energy_ros.core.calibration import DEFAULT_HFOV_DEG, guess_camera
from learned_energy_ros.detect import plausibility as checks

__all__ = ["RealFrame", "real_inputs", "lift_real_images", "RealLifter", "plausibility_table"]

log = logging.getLogger(__name__)

#: Left/right is judged only when the 2D shoulders are this far apart, as a fraction of the
#: person's height (a side view leaves the facing direction ambiguous).
_CLEAR_FACING = 0.1


@dataclass
class RealFrame:
    """One real image and what the detector and the lifter made of it."""

    name: str
    rgb: np.ndarray
    camera: object
    detections: object
    joints: np.ndarray  # (N, 17, 3) metres, optical frame
    energy: np.ndarray  # (N,)
    timing_ms: dict = field(default_factory=dict)  # detect, lift


def real_inputs(vtest_frames: int = 2) -> list[tuple[str, np.ndarray, int]]:
    """``(name, rgb, tiles)`` of every real image installed here; vtest frames need tiles (small people)."""
    from learned_energy_ros.detect.samples import SampleMissing, real_images, vtest_path
    from learned_energy_ros.detect.video import VideoSource

    inputs = [(name, rgb, 1) for name, rgb in real_images().items()]
    try:
        with VideoSource(vtest_path()) as video:
            for index, _, rgb in video.frames(limit=vtest_frames, stride=50):
                inputs.append((f"vtest.avi frame {index}", rgb, 3))
    except SampleMissing as err:
        log.info("no vtest.avi frames: %s", err)
    return inputs


class RealLifter:
    """A detector and the shipped lifter, used together on real RGB images.

    Args:
        hfov_deg: field of view assumed for uncalibrated images.
        device: torch device of the lifter.
        max_persons: people per image at most.
    """

    def __init__(self, hfov_deg: float = DEFAULT_HFOV_DEG, device: str = "cpu", max_persons: int = 4,
                 checkpoint: str = "default"):
        from learned_energy_ros.detect.detector import DetectorConfig, KeypointDetector
        from learned_energy_ros.detect.mediapipe_backend import MediaPipePose
        from learned_energy_ros.pose.lifter import load_lifter

        self.hfov_deg = hfov_deg
        self.detector = KeypointDetector(MediaPipePose(), DetectorConfig(max_persons=max_persons))
        self.lifter = load_lifter(checkpoint, device=device)

    def __call__(self, name: str, rgb: np.ndarray, tiles: int = 1, camera=None) -> RealFrame:
        """Detect and lift everyone in ``rgb``; a new image (not a video frame) restarts the detector's ids."""
        camera = camera or guess_camera(rgb.shape[1], rgb.shape[0], self.hfov_deg)
        self.detector.config.tiles = tiles
        t0 = time.perf_counter()
        found = self.detector.detect(rgb)
        t1 = time.perf_counter()
        result = self.lifter.lift(found.keypoints, found.scores, camera, input_skeleton=found.layout)
        t2 = time.perf_counter()
        return RealFrame(name, rgb, camera, found, result.joints.astype(np.float64), result.energy,
                         {"detect": 1e3 * (t1 - t0), "lift": 1e3 * (t2 - t1), "people": len(found)})

    def close(self) -> None:
        self.detector.close()


def lift_real_images(inputs=None, lifter: RealLifter | None = None) -> list[RealFrame]:
    """Run ``RealLifter`` over ``inputs`` (default: ``real_inputs()``)."""
    own = lifter is None
    lifter = lifter or RealLifter()
    try:
        frames = []
        for name, rgb, tiles in (inputs if inputs is not None else real_inputs()):
            lifter.detector.tracker.reset()
            frames.append(lifter(name, rgb, tiles))
        return frames
    finally:
        if own:
            lifter.close()


def plausibility_table(frames: list[RealFrame]) -> list[dict]:
    """One row per lifted person: the checks of ``detect.plausibility`` and the figures behind them."""
    rows = []
    for frame in frames:
        det = frame.detections
        for n in range(len(det)):
            joints, kp, sc = frame.joints[n], det.keypoints[n], det.scores[n]
            height = float(det.boxes[n, 3] - det.boxes[n, 1])
            face2d = checks.facing_sign_2d(kp, sc)
            face3d = checks.facing_sign_3d(joints)
            clear = abs(face2d) >= _CLEAR_FACING * height  # shoulders well apart in 2D: not a side view
            leg = checks.leg_seen(sc)  # the ratios' reference is a seen leg, not a guessed one
            rows.append({
                "image": frame.name, "id": int(det.ids[n]), "visible": int((sc > 0).sum()),
                "height_px": height,
                "energy": float(frame.energy[n]), "depth_m": float(joints[:, 2].mean()),
                "ratios": {b: float(r) for b, r in checks.bone_ratios(joints).items()},
                "ratios_judged": leg,
                "ratio_violations": checks.ratio_violations(joints) if leg else {},
                "facing_2d_px": face2d, "facing_3d": face3d,
                "left_right_consistent": bool(np.sign(face2d) == np.sign(face3d)) if clear else None,
                "head_above_hips_m": checks.head_above_hips_m(joints),
                "reprojection_px": checks.reprojection_px(joints, frame.camera, kp, sc),
            })
    return rows
