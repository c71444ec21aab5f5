"""The classic multi-view answer, as a baseline: score-weighted DLT triangulation with RANSAC over views.

Inputs are normalized, undistorted coordinates (the lens removed, as everywhere in the lifter), so each
view's projection matrix is its extrinsic ``[R | t]`` (``p_cam = R p + t``). Every joint is triangulated on
its own: it needs two views, and a confident detector mistake in one of them pulls the point unless RANSAC
over views finds it (three or more views: each pair proposes a point, the one most views agree with wins,
the agreeing views are triangulated again).
"""
from __future__ import annotations

from itertools import combinations

import numpy as np

__all__ = ["dlt_triangulate", "ransac_triangulate", "pose_matrices"]

#: Views whose reprojection error (px) is below this agree with a RANSAC proposal.
RANSAC_THRESHOLD_PX = 20.0


def pose_matrices(poses) -> tuple[np.ndarray, np.ndarray]:
    """``(R (V, 3, 3), t (V, 3))`` with ``p_cam = R p_common + t`` of V ``CameraPose``."""
    R = np.stack([p.rotation.T for p in poses])
    return R, -np.einsum("vij,vj->vi", R, np.stack([p.translation for p in poses]))


def _broadcast_rig(R: np.ndarray, t: np.ndarray, B: int):
    R, t = np.asarray(R, np.float64), np.asarray(t, np.float64)
    if R.ndim == 3:  # one rig for every sample
        R, t = np.broadcast_to(R[:, None], (R.shape[0], B, 3, 3)), np.broadcast_to(t[:, None], (t.shape[0], B, 3))
    return R, t


def dlt_triangulate(xy, scores, R, t) -> np.ndarray:
    """Triangulate every joint from the views where its score is > 0.

    Args:
        xy: (V, B, J, 2) normalized undistorted coordinates.
        scores: (V, B, J) weights (0: not seen; each view's two DLT rows are multiplied by its score).
        R: (V, 3, 3) or (V, B, 3, 3), t: (V, 3) or (V, B, 3): ``p_cam = R p + t`` per view (and sample).
    Returns:
        (B, J, 3) points in the common frame; NaN where fewer than two views see the joint.
    """
    xy, w = np.asarray(xy, np.float64), np.asarray(scores, np.float64)
    V, B, J, _ = xy.shape
    assert w.shape == (V, B, J), (xy.shape, w.shape)
    R, t = _broadcast_rig(R, t, B)
    P = np.concatenate([R, t[..., None]], -1)  # (V, B, 3, 4)
    rows_x = xy[..., 0:1] * P[:, :, None, 2] - P[:, :, None, 0]  # (V, B, J, 4)
    rows_y = xy[..., 1:2] * P[:, :, None, 2] - P[:, :, None, 1]
    A = np.concatenate([rows_x * w[..., None], rows_y * w[..., None]], 0)  # (2V, B, J, 4)
    A = np.nan_to_num(A.transpose(1, 2, 0, 3))  # (B, J, 2V, 4)
    _, _, Vt = np.linalg.svd(A)
    X = Vt[..., -1, :]  # (B, J, 4)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = X[..., :3] / X[..., 3:4]
    enough = (w > 0).sum(0) >= 2  # (B, J)
    return np.where(enough[..., None] & np.isfinite(out), out, np.nan)


def _reprojection_px(X, xy, R, t, focal) -> np.ndarray:
    """(V, B, J) distance (px) between the projections of X (B, J, 3) and the observations."""
    cam = np.einsum("vbij,bkj->vbki", R, X) + t[:, :, None]  # (V, B, J, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        proj = cam[..., :2] / cam[..., 2:3]
        err = np.linalg.norm(proj - xy, axis=-1) * focal[..., None]
    return np.where(cam[..., 2] > 0, err, np.inf)


def ransac_triangulate(xy, scores, R, t, focal, threshold_px: float = RANSAC_THRESHOLD_PX):
    """Score-weighted DLT after RANSAC over views (exhaustive over view pairs).

    Args:
        xy, scores, R, t: as ``dlt_triangulate``.
        focal: (V,) or (V, B) focal length in px of each view (the inlier threshold is in pixels).
        threshold_px: inlier threshold.
    Returns:
        ``(points (B, J, 3), inliers (V, B, J) bool)``; joints seen by two views use both (nothing to vote).
    """
    xy, w = np.asarray(xy, np.float64), np.asarray(scores, np.float64)
    V, B, J, _ = xy.shape
    R, t = _broadcast_rig(R, t, B)
    focal = np.broadcast_to(np.asarray(focal, np.float64).reshape(V, -1), (V, B))
    seen = w > 0
    best_count = np.zeros((B, J))
    best_err = np.full((B, J), np.inf)
    inliers = seen.copy()
    for a, b in combinations(range(V), 2):
        pair = np.zeros_like(w)
        pair[[a, b]] = w[[a, b]]
        X = dlt_triangulate(xy, pair, R, t)  # (B, J, 3)
        err = _reprojection_px(np.nan_to_num(X), xy, R, t, focal)  # (V, B, J)
        agree = seen & (err < threshold_px) & np.isfinite(X).all(-1)[None]
        count = (agree * w).sum(0)
        err_sum = np.where(agree, err, 0.0).sum(0)
        better = (count > best_count + 1e-9) | ((np.abs(count - best_count) <= 1e-9) & (err_sum < best_err) & (count > 0))
        best_count, best_err = np.where(better, count, best_count), np.where(better, err_sum, best_err)
        inliers = np.where(better[None], agree, inliers)
    inliers &= seen
    few = inliers.sum(0) < 2  # no pair agreed: keep every view (the plain DLT)
    inliers = np.where(few[None], seen, inliers)
    return dlt_triangulate(xy, w * inliers, R, t), inliers
