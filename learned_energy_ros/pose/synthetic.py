"""Small generated motion-capture-like clips (mocap27, world +Z up) for tests and smoke runs.

Not a motion model: a standing body with random joint angles, enough to
exercise samplers, training loops and lifters without the shared data set.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learned_energy_ros.core.skeleton import MOCAP_SKELETON, get_skeleton

__all__ = ["SyntheticClip", "synthetic_clips", "random_poses"]

# Rest pose (m, x = person's left, y = forward, z = up): parent, offset per mocap27 joint.
_REST = {
    "pelvis": (None, (0, 0, 0.95)),
    "left_hip": ("pelvis", (0.1, 0, -0.05)), "right_hip": ("pelvis", (-0.1, 0, -0.05)),
    "left_knee": ("left_hip", (0, 0, -0.42)), "right_knee": ("right_hip", (0, 0, -0.42)),
    "left_ankle": ("left_knee", (0, 0, -0.42)), "right_ankle": ("right_knee", (0, 0, -0.42)),
    "left_heel": ("left_ankle", (0, -0.05, -0.05)), "right_heel": ("right_ankle", (0, -0.05, -0.05)),
    "left_big_toe": ("left_ankle", (0.02, 0.15, -0.06)), "right_big_toe": ("right_ankle", (-0.02, 0.15, -0.06)),
    "spine": ("pelvis", (0, 0, 0.22)), "thorax": ("spine", (0, 0, 0.25)), "neck": ("thorax", (0, 0, 0.08)),
    "head": ("neck", (0, 0.02, 0.12)), "head_top": ("head", (0, 0, 0.12)), "nose": ("head", (0, 0.1, 0.0)),
    "left_eye": ("head", (0.03, 0.08, 0.03)), "right_eye": ("head", (-0.03, 0.08, 0.03)),
    "left_ear": ("head", (0.07, 0.0, 0.0)), "right_ear": ("head", (-0.07, 0.0, 0.0)),
    "left_shoulder": ("thorax", (0.18, 0, 0)), "right_shoulder": ("thorax", (-0.18, 0, 0)),
    "left_elbow": ("left_shoulder", (0, 0, -0.28)), "right_elbow": ("right_shoulder", (0, 0, -0.28)),
    "left_wrist": ("left_elbow", (0, 0, -0.26)), "right_wrist": ("right_elbow", (0, 0, -0.26)),
}
# Joints whose rotation moves their children, with the angle std (rad).
_ROTATING = {"left_hip": 0.5, "right_hip": 0.5, "left_knee": 0.6, "right_knee": 0.6, "spine": 0.2,
             "left_shoulder": 0.9, "right_shoulder": 0.9, "left_elbow": 0.8, "right_elbow": 0.8, "neck": 0.2}


@dataclass
class SyntheticClip:
    """A clip with the fields of ``data.mocap.MocapClip`` the samplers read."""

    name: str
    subject: str
    source: str
    fps: float
    joints: np.ndarray  # (T, 27, 3) float32, meters, world +Z up
    layout: str = MOCAP_SKELETON


def _rot(axis_angle: np.ndarray) -> np.ndarray:
    angle = np.linalg.norm(axis_angle)
    if angle < 1e-9:
        return np.eye(3)
    k = axis_angle / angle
    Kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * Kx + (1 - np.cos(angle)) * Kx @ Kx


def random_poses(n: int, rng: np.random.Generator, scale_range=(0.85, 1.1)) -> np.ndarray:
    """Return n random standing poses (n, 27, 3) in mocap27 order, world +Z up, meters."""
    skel = get_skeleton(MOCAP_SKELETON)
    out = np.zeros((n, len(skel), 3))
    for i in range(n):
        scale = rng.uniform(*scale_range)
        world_rot, world_pos = {}, {}
        for name in _REST:  # dict order lists parents first
            parent, offset = _REST[name]
            local = _rot(rng.normal(0, _ROTATING.get(name, 0.0), 3))
            if parent is None:
                world_rot[name] = _rot(np.array([0, 0, rng.uniform(0, 2 * np.pi)]))
                world_pos[name] = np.array(offset) * scale + np.r_[rng.uniform(-2, 2, 2), 0]
            else:
                world_rot[name] = world_rot[parent] @ local
                world_pos[name] = world_pos[parent] + world_rot[parent] @ (np.array(offset) * scale)
        out[i] = [world_pos[j] for j in skel.joints]
    return out.astype(np.float32)


def synthetic_clips(n_clips: int = 2, frames: int = 64, seed: int = 0) -> list[SyntheticClip]:
    """Return ``n_clips`` clips of ``frames`` random poses each (not temporally smooth)."""
    rng = np.random.default_rng(seed)
    return [SyntheticClip(f"synthetic_{i}", f"s{i}", "synthetic", 30.0, random_poses(frames, rng)) for i in range(n_clips)]
