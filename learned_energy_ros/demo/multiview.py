"""``learned-energy-ros demo-multiview``: two calibrated cameras, one skeleton; fused vs single-view in one picture.

The built-in animated person (``demo.person_motion``) walks, turns, waves and crouches in front of two cameras
90 deg apart (one with a mildly distorted lens); from the middle of the clip camera 1 no longer sees the left
arm. Each frame is lifted by each camera alone and by ``lift_multiview`` (summed consistency energies, with the
previous fused skeleton as history). Writes ``DIR/multiview.png`` (top view and 3D view of one frame, errors
over the clip) and ``DIR/multiview.json``; prints the errors. No data set or network needed; a few seconds of CPU.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_COLOURS = {"truth": "black", "fused": "tab:green", "camera 0 alone": "tab:blue", "camera 1 alone": "tab:orange"}


def _scene(frames: int, seed: int):
    from learned_energy_ros.core.camera import Camera
    from learned_energy_ros.core.skeleton import MOCAP_SKELETON, remap_joints
    from learned_energy_ros.demo.person_motion import procedural_motion
    from learned_energy_ros.pose.rig import CameraPose

    motion = procedural_motion(frames, fps=10.0, seed=seed)
    world = motion.joints  # (T, 27, 3)
    centre = world[:, 0].mean(0) * [1, 1, 0] + [0, 0, 1.0]
    cams = [Camera.pinhole(900.0, 900.0, 640.0, 360.0, 1280, 720, "cam0_optical"),
            Camera(np.array([[750.0, 0, 630], [0, 752, 355], [0, 0, 1]]), [-0.08, 0.01, 0.0005, -0.0003, 0.0],
                   "plumb_bob", 1280, 720, "cam1_optical")]
    poses = [CameraPose.look_at(centre + [5.0 * np.cos(a), 5.0 * np.sin(a), 0.6], centre)
             for a in np.radians([-100.0, -10.0])]
    coco = np.stack([remap_joints(w, np.ones(27), MOCAP_SKELETON, "coco17")[0] for w in world])
    h36 = np.stack([remap_joints(w, np.ones(27), MOCAP_SKELETON, "h36m17")[0] for w in world])
    return coco, h36, cams, poses


def run(out: Path, frames: int = 40, seed: int = 3, checkpoint: str = "default") -> dict:
    """Lift the scene, write the picture and the JSON; return the summary."""
    import torch

    from learned_energy_ros.pose.lifter import load_lifter
    from learned_energy_ros.pose.multiview import lift_multiview

    torch.set_num_threads(1)
    lifter = load_lifter(checkpoint, "cpu")
    coco, h36, cams, poses = _scene(frames, seed)
    rng = np.random.default_rng(seed)
    left_arm = [7, 9]  # coco17 left elbow, left wrist
    fused, single, previous = [], [], None
    for t in range(frames):
        obs = []
        for k, (cam, pose) in enumerate(zip(cams, poses)):
            px = cam.project(pose.to_camera(coco[t][None])) + rng.normal(size=(1, 17, 2)) * 2.0
            scores = np.ones((1, 17))
            if k == 1 and t >= frames // 2:
                scores[0, left_arm] = 0.0  # camera 1 loses the left arm
            obs.append((px, scores))
        res = lift_multiview(obs, cams, poses, lifter, previous=previous, previous_dt=0.1)
        previous = res.joints
        fused.append(res.joints[0]), single.append(res.single_joints[0])
    fused, single = np.stack(fused), np.stack(single)  # (T, 17, 3), (T, 2, 17, 3)
    preds = {"fused": fused, "camera 0 alone": single[:, 0], "camera 1 alone": single[:, 1]}
    summary = {name: {"mpjpe_mm": float(_mpjpe(p, h36).mean()),
                      "root_error_mm": float(np.linalg.norm(p[:, 0] - h36[:, 0], axis=-1).mean() * 1000)}
               for name, p in preds.items()}
    out.mkdir(parents=True, exist_ok=True)
    _plot(out / "multiview.png", h36, preds, poses, lifter.skeleton, frames * 3 // 4)
    (out / "multiview.json").write_text(json.dumps({"frames": frames, "seed": seed, "errors": summary}, indent=2))
    return summary


def _mpjpe(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.linalg.norm((pred - pred[:, :1]) - (truth - truth[:, :1]), axis=-1).mean(-1) * 1000


def _plot(path: Path, truth, preds: dict, poses, skeleton, frame: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bones = np.asarray(skeleton.bone_indices)
    fig = plt.figure(figsize=(15, 5))
    top, side = fig.add_subplot(1, 3, 1), fig.add_subplot(1, 3, 2, projection="3d")
    curves = fig.add_subplot(1, 3, 3)
    for name, joints in {"truth": truth, **preds}.items():
        j = joints[frame]
        for a, b in bones:
            top.plot(j[[a, b], 0], j[[a, b], 1], color=_COLOURS[name], lw=1.5)
            side.plot(j[[a, b], 0], j[[a, b], 1], j[[a, b], 2], color=_COLOURS[name], lw=1.5)
        top.plot([], [], color=_COLOURS[name], label=name)
        if name != "truth":
            err = np.linalg.norm(joints[:, 0] - truth[:, 0], axis=-1) * 1000
            curves.plot(err, color=_COLOURS[name], label=name)
    for k, pose in enumerate(poses):
        c, axis = pose.translation, pose.rotation[:, 2]
        top.plot(*c[:2], "s", color="grey")
        top.annotate(f"camera {k}", c[:2], fontsize=8)
        top.arrow(c[0], c[1], 0.8 * axis[0], 0.8 * axis[1], color="grey", width=0.02)
    top.set_aspect("equal")
    top.set_title(f"frame {frame}, seen from above (m, common frame)", fontsize=9)
    top.legend(fontsize=8)
    side.set_title("the same frame in 3D", fontsize=9)
    centre = truth[frame, 0]
    for setter, c in zip((side.set_xlim, side.set_ylim, side.set_zlim), (centre[0], centre[1], 1.0)):
        setter(c - 1.0, c + 1.0)
    curves.axvline(len(truth) // 2, color="grey", ls=":", lw=1)
    curves.text(len(truth) // 2, curves.get_ylim()[1] * 0.9, " camera 1 loses the left arm", fontsize=8)
    curves.set_xlabel("frame (10 Hz)")
    curves.set_ylabel("pelvis error in the common frame (mm)")
    curves.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``learned-energy-ros demo-multiview``."""
    p = argparse.ArgumentParser(prog="learned-energy-ros demo-multiview", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="demo_multiview", help="output directory")
    p.add_argument("--frames", type=int, default=40)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--checkpoint", default="default")
    args = p.parse_args(argv)
    summary = run(Path(args.out), args.frames, args.seed, args.checkpoint)
    for name, e in summary.items():
        print(f"{name:<16} MPJPE {e['mpjpe_mm']:6.1f} mm   pelvis error {e['root_error_mm']:6.1f} mm")
    print(f"wrote {Path(args.out) / 'multiview.png'}")
    return 0
