"""Run every part of the demo and write its outputs (the body of ``learned-energy-ros demo``)."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from learned_energy_ros.demo.outputs import label, plot_skeletons_3d, write_strip, write_summary, write_video
from learned_energy_ros.demo.person_render import FrameRenderer
from learned_energy_ros.demo.report import format_table, run_metrics
from learned_energy_ros.demo.session import DemoError

__all__ = ["run_demo", "pose_part"]

log = logging.getLogger(__name__)


def _passes() -> tuple:
    """(name, run-time parameters) of the two passes: all smoothing off, then the node's defaults."""
    from learned_energy_ros.ros.params import smoothing_parameters

    return (("no_smoothing", smoothing_parameters(False)), ("smoothing", smoothing_parameters(True)))


def _video_frames(scene, result, render) -> list:
    """The node's overlays (or the plain camera image where none came back), labelled."""
    frames = []
    for i, overlay in enumerate(result.overlays):
        image = overlay.copy() if overlay is not None else render(i)
        cam = scene.camera(i)
        label(image, f"frame {i}  {scene.phase(i).replace('_', ' ')}  {cam.distortion_model} {cam.width}x{cam.height}")
        if overlay is None:
            label(image, "no overlay received", row=1)
        frames.append(image)
    return frames


def _plot_frames(scene) -> list:
    """Frames for the 3D plot: the middle of each action, both sides of the swap."""
    T = len(scene)
    picks = [(s + e) // 2 for _, s, e in scene.segments] or []
    picks += [max(0, scene.swap_frame - 2), min(T - 1, scene.swap_frame + 2)]
    return sorted({min(T - 1, p) for p in picks})[:6]


def pose_part(scene, args, out: Path, progress: bool = True) -> dict:
    """Stream the scene through the ``pose_lifter`` twice; score, plot, record; return the summary part."""
    from learned_energy_ros.demo.bag import BagRecorder, read_back
    from learned_energy_ros.demo.session import PoseSession

    render = FrameRenderer(scene)
    t0 = time.perf_counter()
    session = PoseSession({"device": args.device, "checkpoint": args.checkpoint, "publish_overlay": True})
    startup = time.perf_counter() - t0
    bag_path = out / "bag"
    try:
        results = {}
        for k, (name, params) in enumerate(_passes()):
            bag = BagRecorder(bag_path, args.bag_storage) if name == "smoothing" else None
            try:
                results[name] = session.play(name, scene, render, params, k, bag, args.timeout, progress)
            finally:
                if bag is not None:
                    bag.close()
        recorded = dict(bag.counts)
    finally:
        session.close()
    metrics = {name: run_metrics(r.joints, scene.joints_cam, scene.swap_frame) for name, r in results.items()}
    print(format_table(metrics))
    smooth = results["smoothing"]
    video = write_video(_video_frames(scene, smooth, render), out / "overlay.mp4", scene.fps)
    strip = write_strip(_video_frames(scene, smooth, render), out / "overlay_strip.png")
    frames = _plot_frames(scene)
    plot = plot_skeletons_3d(smooth.joints, scene.joints_cam, frames, out / "skeletons_3d.png",
                             titles=[f"frame {f} ({scene.phase(f).replace('_', ' ')})" for f in frames])
    bag_topics = read_back(bag_path, recorded)
    print(f"bag {bag_path} ({args.bag_storage}) reads back with rosbags: "
          + ", ".join(f"{t} x{e['count']}" for t, e in sorted(bag_topics.items())))
    return {
        "metrics_mm": metrics,
        "timing_s": {"node_start": startup, **{f"pass_{n}": r.wall_s for n, r in results.items()},
                     **{f"latency_median_{n}": float(np.nanmedian(r.latency_s)) if np.isfinite(r.latency_s).any()
                        else float("nan") for n, r in results.items()}},
        "passes": {n: r.params for n, r in results.items()},
        "overlays_received": {n: sum(o is not None for o in r.overlays) for n, r in results.items()},
        "marker_arrays_received": {n: r.marker_arrays for n, r in results.items()},
        "files": {"video": video, "strip": strip, "plot_3d": plot, "bag": bag_path},
        "bag": {"storage": args.bag_storage, "topics": bag_topics},
    }


def _real_stage(args, out: Path) -> dict:
    """The real stage, or ``{"error": why}`` when it cannot run (detector extra or images missing)."""
    from learned_energy_ros.demo.real import real_part

    try:
        return real_part(args, out)
    except (ImportError, RuntimeError, ValueError) as err:  # DemoError is a RuntimeError
        print(f"REAL stage failed: {err}")
        return {"error": str(err)}


def run_demo(scene, args, out: Path, source: str = "", domain_id: int | None = None) -> dict:
    """Run the pose part and (unless ``--no-voxel``) the object part; write ``summary.json``.

    Returns:
        The summary; ``ok`` is False when a part failed (its ``error`` says why).
    """
    progress = not args.no_progress
    t0 = time.perf_counter()
    summary = {"source": source, "frames": len(scene), "fps": scene.fps, "swap_frame": scene.swap_frame,
               "cameras": [c.to_camera_info_fields() for c in scene.cameras], "segments": list(scene.segments),
               "config": {k: v for k, v in vars(args).items()}, "ros_domain_id": domain_id, "ok": True}
    print("GENERATED stage: a scripted person seen by a virtual camera (ground truth known: accuracy in mm)")
    summary["pose"] = pose_part(scene, args, out, progress)
    if not getattr(args, "no_real", False):
        summary["real"] = _real_stage(args, out)
        summary["ok"] = summary["ok"] and "error" not in summary["real"]
    if not args.no_voxel:
        from learned_energy_ros.demo.voxel import voxel_part

        try:
            summary["voxel"] = voxel_part(args, out)
            print(f"voxel IoU {summary['voxel']['iou']:.3f} (threshold {summary['voxel']['threshold']}); "
                  f"picture {summary['voxel']['files']['comparison']}")
        except DemoError as err:
            print(f"voxel part failed: {err}")
            summary["voxel"] = {"error": str(err)}
            summary["ok"] = False
    summary["timing_s_total"] = time.perf_counter() - t0
    write_summary(summary, out / "summary.json")
    return summary
