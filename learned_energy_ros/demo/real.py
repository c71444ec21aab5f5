"""The demo's real stage: real photographs / footage -> keypoint detector -> lifter; pictures and checks.

No ground truth exists for these images, so the stage reports what a person
can judge: the overlay strip (2D detections and the reprojected 3D skeletons)
and a 3D plot, plus the plausibility checks of ``detect.plausibility``.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

__all__ = ["real_part", "plot_people_3d", "format_checks"]

log = logging.getLogger(__name__)


def plot_people_3d(panels, path: Path) -> Path:
    """One 3D subplot per ``(title, joints (N, 17, 3), ids (N,))``: every person (optical frame, up = -y), id colours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from learned_energy_ros.core.skeleton import get_skeleton
    from learned_energy_ros.demo.outputs import camera_axes, draw_skeleton_3d
    from learned_energy_ros.detect.draw import id_color

    bones = get_skeleton("h36m17").bone_indices
    panels = [p for p in panels if len(p[1])] or list(panels)[:1]
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig = plt.figure(figsize=(4.4 * cols, 4.4 * rows))
    for k, (title, people, ids) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, k + 1, projection="3d")
        for joints, person in zip(people, ids):
            draw_skeleton_3d(ax, joints, bones, "#%02x%02x%02x" % id_color(person), "-", None)
        if len(people):
            camera_axes(ax, people.reshape(-1, 3).mean(axis=0), max(1.0, np.ptp(people[..., 0]) / 2 + 0.6))
        ax.view_init(elev=15, azim=-65)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return Path(path)


def _zoom(image: np.ndarray, boxes: np.ndarray, margin: float = 0.35) -> np.ndarray:
    """Crop to the people when they fill little of the image (distant pedestrians), else return it whole."""
    if len(boxes) == 0:
        return image
    h, w = image.shape[:2]
    lo, hi = boxes[:, :2].min(axis=0), boxes[:, 2:].max(axis=0)
    size = np.maximum((hi - lo) * (1 + 2 * margin), [w / 3, h / 3])
    if size[0] * size[1] > 0.5 * w * h:
        return image
    centre = (lo + hi) / 2
    x0, y0 = np.clip(centre - size / 2, 0, None).astype(int)
    return np.ascontiguousarray(image[y0:min(h, y0 + int(size[1])), x0:min(w, x0 + int(size[0]))])


def format_checks(rows: list[dict]) -> str:
    """Plain-text table of the plausibility rows."""
    head = f"{'image':<22}{'id':>3}{'vis':>5}{'h px':>6}{'depth m':>9}{'energy':>8}{'reproj px':>10}{'head-hips m':>12}  left/right  bone ratios"
    lines = [head, "-" * len(head)]
    for r in rows:
        lr = {True: "ok", False: "SWAPPED?", None: "side view"}[r["left_right_consistent"]]
        ratios = "ok" if not r["ratio_violations"] else "out: " + ", ".join(f"{b} {v:.2f}" for b, v in r["ratio_violations"].items())
        if not r.get("ratios_judged", True):
            ratios = "no leg seen: not judged"
        lines.append(f"{r['image'][:21]:<22}{r['id']:>3}{r['visible']:>5}{r['height_px']:>6.0f}{r['depth_m']:>9.2f}"
                     f"{r['energy']:>8.1f}{r['reprojection_px']:>10.1f}{r['head_above_hips_m']:>12.2f}  {lr:<10}  {ratios}")
    return "\n".join(lines)


def real_part(args, out: Path) -> dict:
    """Run the real stage; write ``real_overlay_strip.png`` and ``real_skeletons_3d.png``; return its summary."""
    from learned_energy_ros.demo.outputs import label, write_strip
    from learned_energy_ros.detect.draw import draw_lifted
    from learned_energy_ros.demo.real_session import RealSession
    from learned_energy_ros.detect.real_stage import plausibility_table, real_inputs

    inputs = real_inputs()
    if not inputs:
        raise RuntimeError("no real image is installed (scikit-image or opencv-doc)")
    with RealSession(device="cpu" if args.device == "auto" else args.device, checkpoint=args.checkpoint) as session:
        frames = [session(name, rgb, tiles) for name, rgb, tiles in inputs]
    pictures = []
    for frame in frames:
        image = _zoom(draw_lifted(frame.rgb, frame.camera, frame.detections, frame.joints, frame.energy),
                      frame.detections.boxes)
        label(image, f"REAL: {frame.name}" + (" (crop)" if image.shape != frame.rgb.shape else ""))
        label(image, f"{len(frame.joints)} people; nodes: detect {frame.timing_ms['detect']:.0f} ms, "
              f"lift {frame.timing_ms['lift']:.0f} ms", row=1)
        pictures.append(image)
    strip = write_strip(pictures, out / "real_overlay_strip.png", count=len(pictures), height=300)
    plot = plot_people_3d([(f"REAL: {f.name} ({len(f.joints)} people)", f.joints, f.detections.ids) for f in frames],
                          out / "real_skeletons_3d.png")
    rows = plausibility_table(frames)
    print("REAL stage: real photographs and footage through the keypoint_detector and pose_lifter nodes over ROS 2 "
          "(no ground truth: plausibility checks; camera guessed with a 60 deg field of view)")
    print(format_checks(rows))
    return {"images": [f.name for f in frames], "people": rows, "files": {"strip": strip, "plot_3d": plot},
            "timing_ms": [f.timing_ms for f in frames], "hfov_deg": 60.0}
