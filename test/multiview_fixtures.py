"""Helpers of the multi-view tests: people standing around the origin, cameras on a ring (not a test module)."""
import numpy as np

from learned_energy_ros.core.skeleton import MOCAP_SKELETON, remap_joints
from learned_energy_ros.pose.rig import CameraPose
from learned_energy_ros.pose.synthetic import random_poses


def people(n: int, seed: int = 0):
    """``(coco (n, 17, 3), h36m (n, 17, 3))`` world (z up), standing around the origin."""
    rng = np.random.default_rng(seed)
    world = random_poses(n, rng).astype(np.float64)  # (n, 27, 3)
    world[..., :2] += rng.uniform(-0.5, 0.5, size=(n, 1, 2)) - world[:, :1, :2]
    coco = np.stack([remap_joints(w, np.ones(27), MOCAP_SKELETON, "coco17")[0] for w in world])
    h36 = np.stack([remap_joints(w, np.ones(27), MOCAP_SKELETON, "h36m17")[0] for w in world])
    return coco, h36


def ring(views: int, radius: float = 5.0, start_deg: float = 20.0, step_deg: float = 90.0):
    """Cameras at 1.5 m height on a circle, looking at (0, 0, 1)."""
    out = []
    for k in range(views):
        a = np.radians(start_deg + k * step_deg)
        out.append(CameraPose.look_at([radius * np.cos(a), radius * np.sin(a), 1.5], [0, 0, 1.0]))
    return out
