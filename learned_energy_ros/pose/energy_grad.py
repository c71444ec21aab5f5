"""Closed-form energy values and gradients for inference (no autograd graph, few kernel launches per step).

Training keeps autograd (it must differentiate through these gradients); at
inference ``PoseEnergy`` value and gradient come from here. A test checks both
against ``torch.autograd`` to float precision.

Both MLP energies start with a linear layer on squared pair distances. A weighted
sum of squared distances is a quadratic form of the points: with ``S_h`` the
symmetric matrix holding hidden unit ``h``'s pair weights,
``sum_{i<j} S_h[i, j] |x_i - x_j|^2 = <L_h, X X^T>`` where ``L_h = diag(S_h 1) - S_h``
is its graph Laplacian. So the first layer is one Gram matrix and one matmul,
and its gradient is ``2 (sum_h g_h L_h) X`` — no per-pair gathers or scatters.
Everything that does not depend on the pose (weights turned into Laplacians,
observed-joint terms) is computed once per descent in ``prepare``; what depends
on the weights only is cached on the ``PoseEnergy`` until its weights change
(load_state_dict, train/eval, an optimizer step, a move to another device or
dtype): recomputing it costs ~13-18 % of a one-person lift.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.optim.optimizer import register_optimizer_step_post_hook

from learned_energy_ros.pose.energy import EnergyContext, PoseEnergy

__all__ = ["energy_and_grad", "EnergyFunction", "prepare", "consistency_and_grad", "grouped_consistency_and_grad",
           "feasibility_and_grad", "temporal_and_grad", "temporal_static", "select_static"]


def _symmetric(weights: torch.Tensor, iu: torch.Tensor, n: int) -> torch.Tensor:
    """(H, n, n) symmetric pair-weight matrices from (H, P) weights of the pairs ``iu`` (2, P), zero diagonal."""
    S = weights.new_zeros(weights.shape[0], n, n)
    S[:, iu[0], iu[1]] = weights
    return S + S.transpose(1, 2)


def _laplacian(S: torch.Tensor) -> torch.Tensor:
    return torch.diag_embed(S.sum(-1)) - S


def _gram(x: torch.Tensor) -> torch.Tensor:
    return x @ x.transpose(1, 2)


_optimizer_steps = 0  # torch optimizer steps taken in this process: each one may have changed an energy's weights


def _count_optimizer_step(*_) -> None:
    global _optimizer_steps
    _optimizer_steps += 1


register_optimizer_step_post_hook(_count_optimizer_step)


def _weights_key(energy: PoseEnergy) -> tuple:
    """What the cached constants depend on besides the hooks of ``PoseEnergy`` (load, train/eval): steps, placement.

    Any optimizer step invalidates (a global count, so no per-optimizer registration is needed); ``.to()`` to
    another device or dtype changes the key. A weight edited in place by hand needs ``energy.invalidate_cache()``.
    """
    p = energy.consistency.mlp.hidden.weight
    return _optimizer_steps, p.device, p.dtype


def _weight_constants(energy: PoseEnergy) -> dict:
    """Pose- and sample-independent matrices derived from the weights (cached on the module until a weight changes)."""
    key = _weights_key(energy)
    cached = energy.closed_form_cache
    if cached is not None and cached[0] == key:
        return cached[1]
    c, f = energy.consistency, energy.feasibility
    n, n_pairs = c.n_pose, c.iu.shape[1]
    W1 = c.mlp.hidden.weight.detach()  # (H, P + 2 Jo)
    H, n_obs = W1.shape[0], (W1.shape[1] - n_pairs) // 2
    S = _symmetric(W1[:, :n_pairs], c.iu, n + n_obs)  # (H, N, N)
    S_po = S[:, :n, n:]
    nf = 1 + int(f.iu.max())
    Lf = _laplacian(_symmetric(f.mlp.hidden.weight.detach(), f.iu, nf))  # (H, 17, 17)
    bone_w = Lf.new_full((1, f.bones.shape[1]), 1.0 / f.bones.shape[1])
    L_b = _laplacian(_symmetric(bone_w, f.bones, nf))  # (1, 17, 17): mean squared bone length
    const = {
        "S_pp": S[:, :n, :n].flatten(1).contiguous(),  # (H, 289)
        "S_pp2": 2 * S[:, :n, :n].flatten(1),  # the same, doubled (the Gram term's gradient)
        "a0": S[:, :n, :n].sum(-1).flatten(),  # (H * 17,)
        "S_po": S_po.reshape(H * n, n_obs),  # (H * 17, Jo)
        "S_po_col": S_po.sum(1),  # (H, Jo)
        "S_oo": S[:, n:, n:].flatten(1),  # (H, Jo * Jo)
        "W_static": W1[:, n_pairs:].T.contiguous(),  # (2 Jo, H)
        "b1": c.mlp.hidden.bias.detach(), "W2": c.mlp.out.weight.detach(), "b2": c.mlp.out.bias.detach(),
        "L_feas": torch.cat([Lf, L_b]).flatten(1),  # (H + 1, 289)
        "fb1": f.mlp.hidden.bias.detach(), "fW2": f.mlp.out.weight.detach(), "fb2": f.mlp.out.bias.detach(),
    }
    energy.closed_form_cache = (key, const)
    return const


def _consistency_static(energy: PoseEnergy, ctx: EnergyContext, k: dict) -> dict:
    """Pose-independent parts of the consistency term.

    With points ``[u (projected pose, always present); o (observed, 0 where missing)]`` and the pair mask
    ``m_i m_j``, hidden unit ``h`` is ``sum_i |x_i|^2 (S_h m)_i - <S_h, X X^T>`` (missing points are 0). Split
    into pose (p) and observed (o) blocks, its pose part is
    ``sum_i |u_i|^2 a_hi - 2 sum_i u_i . V_hi - <S_pp,h, u u^T>`` with ``a = S_pp 1 + S_po m`` and
    ``V_hi = sum_k S_po,h[i, k] o_k``; the rest, ``sum_k |o_k|^2 (S_op 1 + S_oo m)_k - <S_oo, o o^T>``, is a
    per-sample bias.
    """
    c = energy.consistency
    B, n_obs = ctx.obs.shape[:2]
    H, n = k["b1"].shape[0], c.n_pose
    m = ctx.mask.to(ctx.obs.dtype)  # (B, Jo)
    o = ctx.obs * m[..., None]  # (B, Jo, 2)
    q_o = (o * o).sum(-1)  # (B, Jo)
    a = (m @ k["S_po"].T + k["a0"]).view(B, H, n)  # (B, H, 17)
    V = (o.transpose(1, 2).reshape(B * 2, n_obs) @ k["S_po"].T).view(B, 2, H, n).permute(0, 2, 1, 3).reshape(B, H, 2 * n)
    quad = (q_o[:, :, None] * m[:, None, :] - _gram(o)).flatten(1)  # (B, Jo * Jo)
    bias = torch.cat([m, ctx.scores * m], -1) @ k["W_static"] + k["b1"] + q_o @ k["S_po_col"].T + quad @ k["S_oo"].T
    w = F.softplus(c.raw_joint_weight) * ctx.scores[:, c.obs_idx].clamp_min(1e-6) ** F.softplus(c.raw_score_power)
    width2 = F.softplus(c.raw_width) ** 2
    return {
        "bias": bias[:, None], "W_lin": torch.cat([a, -2 * V], -1).transpose(1, 2),  # (B, 51, H) for [|u|^2, u_x, u_y]
        "S_pp": k["S_pp"], "W2": k["W2"], "b2": k["b2"], "n": n,
        "S_pp2": k["S_pp2"], "obs_sel": ctx.obs[:, c.obs_idx], "wm": m[:, c.obs_idx] * w, "width2": width2,
        "wm_width2": (m[:, c.obs_idx] * w * width2)[:, None], "scale": ctx.scale[:, None, None], "pose_idx": c.pose_idx,
        "trust": (torch.ones_like(ctx.scale) if ctx.trust is None else ctx.trust)[:, None],  # (B, 1)
    }


def prepare(energy: PoseEnergy, ctx: EnergyContext) -> dict:
    """Everything pose-independent of one descent (pass as ``static`` to ``energy_and_grad``)."""
    k = _weight_constants(energy)
    feas = {"L": k["L_feas"], "b1": k["fb1"], "W2": k["fW2"], "b2": k["fb2"]}
    return {"consistency": _consistency_static(energy, ctx, k), "feasibility": feas,
            "temporal": temporal_static(energy, ctx)}


# Entries of the prepared consistency term that hold one row per observation (the rest is shared).
_PER_SAMPLE = ("bias", "W_lin", "obs_sel", "wm", "wm_width2", "scale", "trust")


def select_static(static: dict, idx: torch.Tensor) -> dict:
    """``prepare`` of the contexts ``idx`` of a prepared batch, without preparing again (no temporal term)."""
    c = static["consistency"]
    return {"consistency": {**c, **{key: c[key][idx] for key in _PER_SAMPLE}}, "feasibility": static["feasibility"],
            "temporal": None}


def _head(st: dict, h1: torch.Tensor, need_grad: bool):
    """Second layer of a ``SoftplusMLP`` from its first pre-activation ``h1``: value (B,), dE/dh1 (B, H) or None."""
    h2 = F.linear(F.softplus(h1), st["W2"], st["b2"])
    value = F.softplus(h2).sum(-1)
    if not need_grad:
        return value, None
    return value, (torch.sigmoid(h2) @ st["W2"]) * torch.sigmoid(h1)


def _consistency(pose: torch.Tensor, st: dict, need_grad: bool):
    """Consistency of poses (B, k, 17, 3), k of them against each of the B observations of ``st``: (B, k), grad.

    Sharing one observation's prepared matrices among k poses (the starts of one person in a multi-view descent)
    reads them once per step instead of k times; k = 1 is the single-view case.
    """
    B, k, n = pose.shape[0], pose.shape[1], st["n"]
    z_raw = 1 + st["scale"] * pose[..., 2]  # (B, k, 17)
    z = z_raw.clamp_min(1e-3)
    u = pose[..., :2] / z[..., None]  # (B, k, 17, 2) projection
    flat = u.flatten(0, 1)  # (B k, 17, 2)
    feats = torch.cat([(u * u).sum(-1), u.transpose(-1, -2).flatten(-2)], -1)  # (B, k, 51) = [|u|^2, u_x, u_y]
    gram = (_gram(flat).flatten(1) @ st["S_pp"].T).view(B, k, -1)
    h1 = torch.baddbmm(st["bias"], feats, st["W_lin"]) - gram  # (B, k, H)
    value, g1 = _head(st, h1, need_grad)
    r = u[:, :, st["pose_idx"]] - st["obs_sel"][:, None]  # (B, k, M, 2)
    r2 = (r * r).sum(-1) / st["width2"]  # in units of the kernel's width
    value = st["trust"] * (value + (st["wm_width2"] * torch.log1p(r2)).sum(-1))
    if not need_grad:
        return value, None
    coef = g1 @ st["W_lin"].transpose(1, 2)  # (B, k, 51)
    g_u = 2 * coef[..., :n, None] * u + coef[..., n:].unflatten(-1, (2, n)).transpose(-1, -2)
    g_u = g_u - ((g1.flatten(0, 1) @ st["S_pp2"]).view(B * k, n, n) @ flat).view(B, k, n, 2)
    g_u = g_u.index_add(2, st["pose_idx"], 2 * (st["wm"][:, None] / (1 + r2))[..., None] * r)
    g_xy = g_u / z[..., None]
    g_z = -(g_u * u).sum(-1) / z * st["scale"] * (z_raw > 1e-3)
    return value, st["trust"][..., None, None] * torch.cat([g_xy, g_z[..., None]], -1)


def _feasibility(pose: torch.Tensor, st: dict, need_grad: bool):
    B, J, _ = pose.shape
    L = st["L"]
    t = _gram(pose).flatten(1) @ L.T  # (B, H + 1): first-layer sums, then the mean squared bone
    s2_raw = t[:, -1:]
    s2 = s2_raw.clamp_min(1e-6)
    t = t[:, :-1]
    value, g1 = _head(st, torch.addcdiv(st["b1"], t, s2), need_grad)
    if not need_grad:
        return value, None
    g_s2 = -(g1 * t).sum(-1, keepdim=True) / s2**2 * (s2_raw > 1e-6)  # (B, 1)
    M = (torch.cat([g1 / s2, g_s2], -1) @ L).view(B, J, J)  # d value / d Gram (symmetric)
    return value, 2 * M @ pose


def energy_and_grad(energy: PoseEnergy, pose: torch.Tensor, ctx: EnergyContext, static: dict | None = None,
                    need_grad: bool = True, temporal: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Total energy (B,) and its gradient w.r.t. ``pose`` (B, 17, 3) (None unless ``need_grad``), in closed form.

    ``static`` = ``prepare(energy, ctx)`` may be passed to reuse it across descent steps; ``temporal=False``
    leaves the temporal term out (the plausibility of the pose alone).
    """
    st = static if static is not None else prepare(energy, ctx)
    ec, gc = consistency_and_grad(pose, st, need_grad)
    ef, gf = _feasibility(pose, st["feasibility"], need_grad)
    value, grad = ec + ef, (gc + gf if need_grad else None)
    if temporal:
        et, gt = temporal_and_grad(energy, pose, ctx, need_grad, st)
        if et is not None:
            value, grad = value + et, (grad + gt if need_grad else None)
    return value, grad


def consistency_and_grad(pose: torch.Tensor, static: dict, need_grad: bool = True):
    """Consistency term alone (B,) and its gradient (B, 17, 3) (None unless ``need_grad``); ``static`` = ``prepare``."""
    value, grad = _consistency(pose[:, None], static["consistency"], need_grad)
    return value[:, 0], (grad[:, 0] if need_grad else None)


def grouped_consistency_and_grad(pose: torch.Tensor, static: dict, need_grad: bool = True):
    """Consistency (B, k) of k poses (B, k, 17, 3) per observation of ``static`` (``prepare`` of B contexts), and
    its gradient (B, k, 17, 3) (None unless ``need_grad``)."""
    return _consistency(pose, static["consistency"], need_grad)


def feasibility_and_grad(pose: torch.Tensor, static: dict, need_grad: bool = True):
    """Feasibility term alone (B,) and its gradient (B, 17, 3) (None unless ``need_grad``); ``static`` = ``prepare``."""
    return _feasibility(pose, static["feasibility"], need_grad)


def temporal_static(energy: PoseEnergy, ctx: EnergyContext) -> dict | None:
    """Pose-independent parts of the temporal term (None without history): its weight and the previous articulation."""
    if ctx.previous is None or ctx.temporal_weight is None:
        return None
    prev = torch.nan_to_num(ctx.previous)
    return {"w": energy.temporal.fade(ctx), "prev": prev - prev[:, :1]}  # (B,), (B, 17, 3) root-relative


def temporal_and_grad(energy: PoseEnergy, pose: torch.Tensor, ctx: EnergyContext, need_grad: bool = True,
                      static: dict | None = None):
    """Temporal term (B,) and its gradient, or ``(None, None)`` when ``ctx`` carries no history.

    ``static``: ``prepare(energy, ctx)`` (its temporal part is then computed once per descent, not per step).
    """
    st = static["temporal"] if static is not None and static.get("temporal") is not None else temporal_static(energy, ctx)
    if st is None:
        return None, None
    delta = (pose - pose[:, :1]) - st["prev"]  # (B, 17, 3), zero at the root (``TemporalEnergy.articulation_change``)
    value = st["w"] * (delta * delta).sum((-1, -2))
    return value, (2 * st["w"][:, None, None] * delta if need_grad else None)  # zero at the root: never pulls it


class EnergyFunction:
    """``energy_fn`` for ``UnrolledOptimizer``: autograd-callable, with a closed-form ``value_and_grad`` for inference."""

    def __init__(self, energy: PoseEnergy, ctx: EnergyContext) -> None:
        self.energy, self.ctx = energy, ctx
        self._static = None

    def __call__(self, pose: torch.Tensor) -> torch.Tensor:
        return self.energy(pose, self.ctx)

    def _prepared(self) -> dict:
        if self._static is None:  # pose-independent parts, shared by every step of this descent
            self._static = prepare(self.energy, self.ctx)
        return self._static

    def value_and_grad(self, pose: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Closed-form energy (B,) and gradient (B, 17, 3) (no autograd graph)."""
        return energy_and_grad(self.energy, pose, self.ctx, self._prepared())

    def value(self, pose: torch.Tensor) -> torch.Tensor:
        """Closed-form energy (B,) only (no graph)."""
        with torch.no_grad():
            return energy_and_grad(self.energy, pose, self.ctx, self._prepared(), need_grad=False)[0]

    def plausibility(self, pose: torch.Tensor) -> torch.Tensor:
        """Closed-form consistency + feasibility (B,), without the temporal term and at full consistency trust (no
        graph): the trust sets how far the descent follows the 2D, not how well the result fits it. Weighted, a far
        person's poor fit would look plausible (measured: the energy's rank correlation with the error turned
        negative, -0.36 with 8 px noise)."""
        st = self._prepared()
        c = st["consistency"]
        full = {**st, "consistency": {**c, "trust": torch.ones_like(c["trust"])}}
        with torch.no_grad():
            return energy_and_grad(self.energy, pose, self.ctx, full, need_grad=False, temporal=False)[0]
