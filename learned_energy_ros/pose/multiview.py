"""Several calibrated cameras, one skeleton: descent on the sum of the per-camera consistency energies.

``lift_multiview`` takes each person's 2D from any subset of V cameras, the cameras and their poses in a
common frame. Every (person, view) with enough joints is first lifted on its own (today's lifter, one
batched call). A person seen once keeps exactly that lift, moved into the common frame. A person seen
several times gets candidate starts: each view's lift rescaled about its own camera centre (the 2D fit of
that view is unchanged) so that its pelvis meets the pelvis triangulated from all views, plus their mean;
from each, the unrolled descent runs on ``sum_v w_v consistency_v + feasibility (+ temporal)``
(``multiview_energy``) and the lowest energy wins. With three or more views a second pass down-weights a view
whose consistency at the fused pose exceeds the one its own lift reached (a view that disagrees: a bad
extrinsic, a wrong association). No weights are retrained.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from learned_energy_ros.core.unrolled import MAX_STEPS
from learned_energy_ros.pose.canonical import to_canonical
from learned_energy_ros.pose.energy import EnergyContext
from learned_energy_ros.pose.energy_grad import consistency_and_grad, prepare, select_static
from learned_energy_ros.pose.lift_types import DEFAULT_KEYPOINT_NOISE_PX, LiftError
from learned_energy_ros.pose.multiview_energy import MultiViewEnergy
from learned_energy_ros.pose.multiview_setup import Candidates, SlotPoses, candidate_starts, term_maps

__all__ = ["MultiViewConfig", "MultiViewResult", "lift_multiview", "lift_multiview_normalized"]


@dataclass(frozen=True)
class MultiViewConfig:
    """Settings of the fusion (defaults measured on ``val``, ``docs/benchmarks/multiview.md``)."""

    steps: int | None = 16  # descent steps (None: the checkpoint's 4): several views keep improving to ~16
    guard: bool = False  # apply the checkpoint's step-horizon guard (it would freeze steps past its default)
    min_view_joints: int = 4  # a view with fewer observed joints of a person does not enter that person's fusion
    reweight_tau: float = 1.0  # excess consistency (energy units) that halves a disagreeing view's weight; 0: off
    reweight_min: float = 0.8  # a person is descended again when a view's weight factor falls below this
    reweight_passes: int = 3  # reweighted descents after the first (each recomputes the weights)
    every_view_start: bool = True  # a start from every view's lift (False: the best-fitting view's: ~2.5x faster)
    mean_candidate: bool = False  # also start from the mean of the rescaled single-view lifts (measured: no gain)

    def __post_init__(self) -> None:
        ok = self.steps is None or (isinstance(self.steps, (int, np.integer)) and not isinstance(self.steps, bool)
                                    and 1 <= self.steps <= MAX_STEPS)
        if not ok:
            raise ValueError(f"fusion steps={self.steps!r} must be an int in [1, {MAX_STEPS}] (or None: the checkpoint's)")


@dataclass
class MultiViewResult:
    """Fused skeletons of N people seen by V cameras (arrays over people first, views second).

    Attributes:
        joints: (N, 17, 3) float32 meters in the common frame; NaN for a person no view could lift.
        energy: (N,) plausibility: feasibility + the weighted mean of the views' consistency energies (lower is
            better; comparable with a single view's energy).
        view_energy: (N, V) each view's consistency energy at the fused pose (NaN: the view does not see him).
        single_energy: (N, V) the same view's consistency at its own single-view lift (the level it can reach).
        view_weight: (N, V) weight of each view in the last descent (0: not used).
        single_joints: (N, V, 17, 3) each view's own lift in the common frame (NaN where none).
        views: (N,) number of views used; reference: (N,) view whose canonical frame the descent ran in (-1: none).
        skeleton: output layout.
    """

    joints: np.ndarray
    energy: np.ndarray
    view_energy: np.ndarray
    single_energy: np.ndarray
    view_weight: np.ndarray
    single_joints: np.ndarray
    views: np.ndarray
    reference: np.ndarray
    skeleton: object


def _check(lifter, observations, cameras, extrinsics, input_skeleton: str):
    """Validate and normalize: ``(xy (V, N, J, 2), scores (V, N, J), layout)``."""
    V = len(observations)
    if V == 0 or len(cameras) != V or len(extrinsics) != V:
        raise LiftError(f"need one camera and one pose per view: {V} observations, {len(cameras)} cameras, "
                        f"{len(extrinsics)} poses")
    xys, scs, layout, N = [], [], None, None
    for v, ((kp, sc), camera) in enumerate(zip(observations, cameras)):
        kp, sc, layout = lifter._check(kp, sc, input_skeleton)
        if N is not None and kp.shape[0] != N:
            raise LiftError(f"view {v} has {kp.shape[0]} persons, view 0 has {N}: rows are persons in every view")
        N = kp.shape[0]
        xy = camera.normalize(kp) if N else kp
        seen = sc > lifter.config.min_score
        if not np.all(np.isfinite(xy[seen])):
            raise LiftError(f"view {v}: keypoints cannot be undistorted by its camera")
        xys.append(np.where(seen[..., None], xy, 0.0)), scs.append(np.where(seen, sc, 0.0))
    return np.stack(xys), np.stack(scs), layout


def _weights(view_weights, V: int, N: int) -> np.ndarray:
    if view_weights is None:
        return np.ones((V, N))
    w = np.asarray(view_weights, dtype=np.float64)
    w = np.broadcast_to(w.reshape(V, -1) if w.ndim == 1 else w.T, (V, N)) if w.size else w
    if w.shape != (V, N) or not np.all(np.isfinite(w) & (w >= 0)):
        raise LiftError(f"view_weights must be V={V} (or N x V) finite values >= 0, got shape {np.shape(view_weights)}")
    return np.array(w)


def lift_multiview(observations, cameras, extrinsics, lifter, input_skeleton: str = "coco17", previous=None,
                   previous_dt=None, temporal_weight: float | None = None, view_weights=None,
                   height_prior: float | None = None, config: MultiViewConfig | None = None,
                   keypoint_noise_px=DEFAULT_KEYPOINT_NOISE_PX) -> MultiViewResult:
    """Lift N people seen by V calibrated cameras to one skeleton each, in the common frame.

    Args:
        observations: V pairs ``(keypoints_px (N, J, 2), scores (N, J))``, row n = the same person in every view
            (all scores <= min_score where a view does not see that person).
        cameras: V ``Camera`` (intrinsics and lens).
        extrinsics: V ``CameraPose`` (optical frame -> common frame).
        lifter: a loaded ``Lifter``.
        input_skeleton: layout of the J joints.
        previous: (N, 17, 3) previous skeletons in the common frame (NaN rows: no history), or None.
        previous_dt: seconds since ``previous`` (scalar or (N,)).
        temporal_weight: weight of the temporal term (default 1).
        view_weights: (V,) or (N, V) weights >= 0 of the views' consistency energies (0 drops a view).
        height_prior: stature prior of the single-view lifts (people seen once keep it; fusion measures size).
        config: ``MultiViewConfig``.
        keypoint_noise_px: std (pixels) of the 2D noise, scalar or (V,), for the single-view lifts (as in
            ``Lifter.lift``); the fused descent trusts every view fully (``lift_multiview_normalized``).
    Returns:
        ``MultiViewResult``.
    Raises:
        LiftError: inconsistent shapes, NaN/inf, bad weights or noise (as ``Lifter.lift``).
    """
    xy, sc, layout = _check(lifter, observations, cameras, extrinsics, input_skeleton)
    noise_px = lifter._noise(keypoint_noise_px, len(cameras), "keypoint_noise_px")
    noise = noise_px / np.array([c.mean_focal for c in cameras])  # (V,) normalized units
    return lift_multiview_normalized(xy, sc, extrinsics, lifter, layout, previous, previous_dt, temporal_weight,
                                     view_weights, height_prior, config, noise)


def lift_multiview_normalized(xy, scores, extrinsics, lifter, input_skeleton: str = "coco17", previous=None,
                              previous_dt=None, temporal_weight: float | None = None, view_weights=None,
                              height_prior: float | None = None, config: MultiViewConfig | None = None,
                              keypoint_noise=None):
    """``lift_multiview`` on normalized, undistorted keypoints (V, N, J, 2) with scores (V, N, J).

    ``extrinsics``: V ``CameraPose``, or V lists of N (each person its own rig: evaluation batches).
    ``keypoint_noise``: 2D noise std in normalized units (pixels / focal length), scalar, (V,) or (V, N), for the
    single-view lifts (the starts, and people seen once); None trusts their 2D fully. The fused descent keeps
    every view's consistency at full trust: a noisy or distant view still pins the depth that one view cannot
    (measured on 12 synthetic people seen by two cameras, one with 20 px noise: weighting that view by its told
    noise took the fused MPJPE from 121 to 161 mm).
    """
    cfg = config or MultiViewConfig()
    xy, sc = np.asarray(xy, np.float64), np.asarray(scores, np.float64)
    if xy.ndim != 4 or xy.shape[-1] != 2 or sc.shape != xy.shape[:3]:
        raise LiftError(f"expected keypoints (V, N, J, 2) and scores (V, N, J), got {xy.shape} and {sc.shape}")
    V, N = sc.shape[:2]
    grid = [list(e) if isinstance(e, (list, tuple)) else [e] * N for e in extrinsics]
    if len(grid) != V or any(len(row) != N for row in grid):
        raise LiftError(f"extrinsics must be V={V} poses (or V lists of N), got {len(grid)}")
    weights = _weights(view_weights, V, N)
    noise = None if keypoint_noise is None else _noise_grid(lifter, keypoint_noise, V, N)
    usable = ((sc > lifter.config.min_score).sum(-1) >= cfg.min_view_joints) & (weights > 0)  # (V, N)
    slot_v, slot_n = np.nonzero(usable)  # (S,) the (view, person) pairs that are lifted
    K = len(lifter.skeleton)
    out = MultiViewResult(
        joints=np.full((N, K, 3), np.nan, np.float32), energy=np.full(N, np.nan, np.float32),
        view_energy=np.full((N, V), np.nan, np.float32), single_energy=np.full((N, V), np.nan, np.float32),
        view_weight=np.zeros((N, V), np.float32), single_joints=np.full((N, V, K, 3), np.nan, np.float32),
        views=usable.sum(0).astype(np.int64), reference=np.full(N, -1, np.int64), skeleton=lifter.skeleton)
    prev = None if previous is None else _previous(previous, N, lifter)
    if slot_v.size == 0:
        return out
    poses = SlotPoses.stack([grid[v][n] for v, n in zip(slot_v, slot_n)])
    slot = np.arange(len(slot_v))
    prev_slots = None if prev is None else poses.to_camera(prev[slot_n], slot)
    dt_slots = None if previous_dt is None else np.broadcast_to(np.asarray(previous_dt, np.float64), (N,))[slot_n]
    slot_noise = None if noise is None else noise[slot_v, slot_n]
    single = lifter.lift_normalized(xy[slot_v, slot_n], sc[slot_v, slot_n], input_skeleton, previous=prev_slots,
                                    temporal_weight=temporal_weight, previous_dt=dt_slots, height_prior=height_prior,
                                    keypoint_noise=slot_noise)
    single_common = poses.to_common(single.joints, slot)  # (S, 17, 3)
    out.single_joints[slot_n, slot_v] = single_common
    once = out.views[slot_n] == 1
    out.joints[slot_n[once]] = single_common[once]
    out.energy[slot_n[once]] = single.energy[once]
    out.reference[slot_n[once]] = slot_v[once]
    out.view_weight[slot_n, slot_v] = weights[slot_v, slot_n]
    with torch.inference_mode():
        slots = _SlotContexts(lifter, xy[slot_v, slot_n], sc[slot_v, slot_n], input_skeleton, slot_n)
        own = slots.consistency(single.joints)  # (S,) each view at its own lift
        out.single_energy[slot_n, slot_v] = own
        out.view_energy[slot_n[once], slot_v[once]] = own[once]
        if np.any(~once):
            _fuse(lifter, cfg, out, slots, slot_v, slot_n, single_common, own, poses, weights, prev, previous_dt,
                  temporal_weight)
    return out


def _noise_grid(lifter, noise, V: int, N: int) -> np.ndarray:
    """(V, N) checked noise stds from a scalar, (V,) or (V, N)."""
    value = np.asarray(noise, dtype=np.float64)
    if value.ndim == 1 and value.shape[0] == V:
        value = value[:, None]
    try:
        grid = np.array(np.broadcast_to(value, (V, N)))
    except ValueError:
        raise LiftError(f"keypoint_noise must be a scalar, V={V} or V x N={V}x{N} values, got shape {value.shape}") from None
    return lifter._noise(grid.reshape(-1), V * N, "keypoint_noise").reshape(V, N)


def _previous(previous, N: int, lifter) -> np.ndarray:
    prev = np.asarray(previous, dtype=np.float64)
    if prev.shape != (N, len(lifter.skeleton), 3):
        raise LiftError(f"previous must be (N, {len(lifter.skeleton)}, 3) = ({N}, ...), got {prev.shape}")
    return prev


class _SlotContexts:
    """Canonical observations, energy contexts and prepared consistency terms of the S lifted (view, person) pairs."""

    def __init__(self, lifter, xy: np.ndarray, sc: np.ndarray, layout: str, person: np.ndarray) -> None:
        self.person = person  # (S,) person of each slot
        t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32, device=lifter.device)  # noqa: E731
        self.lifter, self.model = lifter, lifter.model
        xy_t, sc_t = lifter._remap(t(xy), t(sc), layout)
        self.can = self.model.canonical(xy_t, sc_t)
        self.ctx = self.model.context(self.can, sc_t)  # full trust: see ``lift_multiview_normalized``
        self.static = prepare(self.model.energy, self.ctx)  # once per frame: every descent selects its rows

    def select(self, idx: np.ndarray) -> EnergyContext:
        """Contexts of slots ``idx`` (a new batch)."""
        i = torch.as_tensor(idx, device=self.ctx.obs.device)
        c = self.ctx
        return EnergyContext(c.obs[i], c.mask[i], c.scores[i], c.scale[i])

    def prepared(self, idx: np.ndarray) -> dict:
        """``prepare`` of ``select(idx)``, taken from the frame's."""
        return select_static(self.static, torch.as_tensor(idx, device=self.ctx.obs.device))

    def consistency(self, joints_cam: np.ndarray) -> np.ndarray:
        """(S,) consistency energy of metric camera-frame skeletons (S, 17, 3), one in each slot's view."""
        X = torch.as_tensor(joints_cam, dtype=torch.float32, device=self.ctx.obs.device)
        pose, depth = to_canonical(X, self.can.R, self.can.scale)
        return consistency_and_grad(pose, self.static, need_grad=False)[0].cpu().numpy()


def _fuse(lifter, cfg, out, slots, slot_v, slot_n, single_common, own, poses, weights, prev, previous_dt,
          temporal_weight) -> None:
    """Fill ``out`` for the people seen by two or more views (first pass, then the reweighted one)."""
    multi = np.flatnonzero(out.views >= 2)
    run = lambda people, w, extra=None: _descend(  # noqa: E731
        lifter, cfg, slots, _starts(people, slot_n, single_common, own, poses, cfg, w, extra), poses, w, prev,
        previous_dt, temporal_weight)
    w = weights[slot_v, slot_n]
    best = run(multi, w)
    _write(out, best, w, slot_v, slot_n)
    for _ in range(cfg.reweight_passes if cfg.reweight_tau > 0 else 0):  # iteratively reweighted descents
        factor = _reweight(best, own, out.views[slot_n], slot_n, cfg.reweight_tau)  # (T,) of the chosen terms
        again = np.unique(slot_n[best.term_slot[factor < cfg.reweight_min]])
        if again.size == 0:
            return
        w2 = w.copy()
        w2[best.term_slot] *= factor  # from the given weights each pass: a view can regain its weight
        keep = np.isin(best.cands.person, again)
        previous_best = Candidates(best.joints[keep], best.cands.person[keep], best.cands.ref_slot[keep])
        best = run(again, w2, previous_best)
        _write(out, best, w2, slot_v, slot_n)


def _starts(people, slot_n, single_common, own, poses, cfg, w, extra: Candidates | None) -> Candidates:
    cands = candidate_starts(people, slot_n, single_common, own, poses, cfg.mean_candidate, w, cfg.every_view_start)
    if extra is None:
        return cands
    return Candidates(np.concatenate([cands.joints, extra.joints]), np.concatenate([cands.person, extra.person]),
                      np.concatenate([cands.ref_slot, extra.ref_slot]))


def _reweight(best, own, views_of_slot, slot_n, tau: float) -> np.ndarray:
    """Weight factor (T,) of the chosen terms: a view whose consistency at the fused pose exceeds what it reaches
    alone by more than the person's median view does is down-weighted, ``1 / (1 + (extra / tau)^2)`` (3+ views:
    with two, which one is wrong cannot be told)."""
    excess = np.maximum(best.term_energy - own[best.term_slot], 0.0)  # (T,)
    _, person = np.unique(slot_n[best.term_slot], return_inverse=True)
    table = np.full((person.max() + 1, np.bincount(person).max()), np.nan)  # (P, most views) each person's excesses
    order = np.argsort(person, kind="stable")
    table[person[order], np.arange(len(order)) - np.searchsorted(person[order], person[order])] = excess[order]
    extra = np.maximum(excess - np.nanmedian(table, 1)[person], 0.0)
    return np.where(views_of_slot[best.term_slot] >= 3, 1.0 / (1.0 + (extra / tau) ** 2), 1.0)


def _write(out, best, w, slot_v, slot_n) -> None:
    """Store the chosen descents of ``best`` (and the weights ``w`` (S,) they used) in ``out``."""
    n, ts = best.cands.person, best.term_slot
    out.joints[n] = best.joints
    out.reference[n] = slot_v[best.cands.ref_slot]
    out.view_energy[slot_n[ts], slot_v[ts]] = best.term_energy
    out.view_weight[slot_n[ts], slot_v[ts]] = w[ts]
    wsum, esum = np.zeros(len(out.joints)), np.zeros(len(out.joints))
    np.add.at(wsum, slot_n[ts], w[ts])
    np.add.at(esum, slot_n[ts], w[ts] * best.term_energy)
    out.energy[n] = best.feasibility + esum[n] / np.maximum(wsum[n], 1e-9)


@dataclass
class _Best:
    """The lowest-energy descent per person: joints (P, 17, 3) common frame, its candidate row, its terms."""

    cands: Candidates
    joints: np.ndarray
    feasibility: np.ndarray
    term_slot: np.ndarray
    term_energy: np.ndarray


def _descend(lifter, cfg, slots, cands: Candidates, poses, w, prev, previous_dt, temporal_weight) -> _Best:
    """Run the summed-energy descent from every candidate; keep each person's lowest final energy."""
    model, dev = lifter.model, slots.ctx.obs.device
    maps = term_maps(cands, slots, poses)
    ctx_ref = slots.select(cands.ref_slot)
    if prev is not None:
        prev_ref = poses.to_camera(prev[cands.person], cands.ref_slot)
        ages = None if previous_dt is None else torch.as_tensor(
            np.broadcast_to(np.asarray(previous_dt, np.float64), (len(prev),))[cands.person], dtype=torch.float32)
        ctx_ref = model.with_previous(ctx_ref, maps.can_ref, maps.size, torch.as_tensor(prev_ref, dtype=torch.float32),
                                      ages, 1.0 if temporal_weight is None else float(temporal_weight))
    weight = torch.as_tensor(w[maps.rows], dtype=torch.float32, device=dev)[:, None] * maps.valid  # (G, k)
    fn = MultiViewEnergy(model.energy, slots.select(maps.rows), maps.owner, maps.A, maps.b, weight, ctx_ref,
                         slots.prepared(maps.rows))
    guard = model.optimizer.guard if cfg.guard else None
    steps = lifter.num_steps if cfg.steps is None else int(cfg.steps)
    pose = model.optimizer(maps.P0, fn, steps, guard=guard)[-1]  # (C, 17, 3)
    total, feas, term_e = (t.cpu().numpy() for t in fn.terms(pose))
    order = np.lexsort((total, cands.person))  # per person, lowest total first
    first = order[np.r_[True, cands.person[order][1:] != cands.person[order][:-1]]]
    i = torch.as_tensor(first, device=dev)
    can = type(maps.can_ref)(*(getattr(maps.can_ref, f)[i] for f in ("rays_c", "R", "scale", "mask")))
    joints_ref = model.to_metric(pose[i], can, maps.size[i]).cpu().numpy()  # (P, 17, 3) reference camera frames
    joints = poses.to_common(joints_ref, cands.ref_slot[first])
    chosen = np.zeros(len(cands.person), bool)
    chosen[first] = True
    g, j = np.nonzero(chosen[maps.owner.cpu().numpy()] & (maps.valid.cpu().numpy() > 0))
    picked = Candidates(joints, cands.person[first], cands.ref_slot[first])
    return _Best(picked, joints.astype(np.float32), feas[first], maps.rows[g], term_e[g, j])
