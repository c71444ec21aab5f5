"""vision_msgs ``Detection2D`` fields read by name, for vision_msgs 3 and 4 alike (nothing imported here)."""
from __future__ import annotations

import math

from learned_energy_ros.ros.errors import ConversionError

__all__ = ["box_of", "best_hypothesis"]


def box_of(detection) -> tuple[float, float, float, float]:
    """(x, y, w, h) of a Detection2D's bbox; a rotated box gives its axis-aligned hull."""
    bbox = detection.bbox
    centre = getattr(bbox.center, "position", bbox.center)  # vision_msgs >= 4: Pose2D.position; 3: Pose2D x, y
    theta = float(getattr(bbox.center, "theta", 0.0))
    cx, cy, sx, sy = float(centre.x), float(centre.y), float(bbox.size_x), float(bbox.size_y)
    if not all(math.isfinite(v) for v in (cx, cy, sx, sy, theta)) or sx <= 0 or sy <= 0:
        raise ConversionError(f"bbox needs a finite centre and positive size, got centre ({cx}, {cy}), "
                              f"size {sx} x {sy}")
    c, s = abs(math.cos(theta)), abs(math.sin(theta))
    w, h = c * sx + s * sy, s * sx + c * sy
    return (cx - w / 2, cy - h / 2, w, h)


def best_hypothesis(detection) -> tuple[str, float]:
    """(class id, score) of the highest-scoring result of a Detection2D (``("", 1.0)`` without results)."""
    best = ("", 1.0)
    for n, result in enumerate(detection.results):
        hyp = getattr(result, "hypothesis", result)  # vision_msgs >= 3 nests ObjectHypothesis
        score = float(hyp.score)
        if n == 0 or score > best[1]:
            best = (str(hyp.class_id), score)
    return best
