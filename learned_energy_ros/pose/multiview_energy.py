"""The summed multi-view energy: each camera's consistency term on one hypothesis, + feasibility + temporal.

The descent state is a pose ``P`` (C, 17, 3) in the canonical frame and person-size units of one
*reference* view (``pose.canonical``), exactly the state the single-view descent was trained on, so the learned
step size and clip keep their meaning. View ``v`` sees the same metric skeleton through its own extrinsics; in
*its* canonical frame the hypothesis is an affine image ``P_v = P A_v^T + b_v`` of the state
(``A_v = (size_r / size_v) R_v M_vr R_r^T``: the reference's canonical rotation undone, the rigid
camera-to-camera rotation, view v's canonical rotation, the ratio of the two person-size units). Its
consistency term is then the trained one, unchanged, against view v's own canonical observation (its lens,
distortion included, was removed once when the keypoints were normalized), and its gradient comes back to the
state as ``g_v A_v``. Feasibility (pairwise distances over their own mean bone length) and the temporal term
(root-relative articulation in the state's frame) are invariant to where the skeleton is and how it is
turned, so they act on ``P`` directly.

The (hypothesis, view) terms form a (G, k) grid: row g is one view of one person (one observation, prepared
once), its k entries are that person's hypotheses (``multiview_setup.TermMaps``).
"""
from __future__ import annotations

import torch

from learned_energy_ros.pose.energy import EnergyContext, PoseEnergy
from learned_energy_ros.pose.energy_grad import (feasibility_and_grad, grouped_consistency_and_grad, prepare,
                                                 temporal_and_grad, temporal_static)

__all__ = ["MultiViewEnergy"]


class MultiViewEnergy:
    """``energy_fn`` of ``UnrolledOptimizer`` over C hypotheses and a (G, k) grid of (view, hypothesis) terms.

    Args:
        energy: the lifter's ``PoseEnergy``.
        ctx_rows: the G rows' contexts (canonical observation of one view of one person).
        owner: (G, k) long, hypothesis of each term.
        A: (G, k, 3, 3) and b: (G, k, 1, 3): ``P_v = P[owner] @ A^T + b``.
        weight: (G, k) weight of each term's consistency energy (0: padding, or a view that cannot score it).
        ctx_ref: (C,) context of the hypotheses' reference views (the temporal term reads its history).
        static: ``prepare(energy, ctx_rows)`` when already at hand (``energy_grad.select_static``).
    """

    def __init__(self, energy: PoseEnergy, ctx_rows: EnergyContext, owner: torch.Tensor, A: torch.Tensor,
                 b: torch.Tensor, weight: torch.Tensor, ctx_ref: EnergyContext, static: dict | None = None) -> None:
        G, k = owner.shape
        assert ctx_rows.obs.shape[0] == G and A.shape == (G, k, 3, 3) and b.shape == (G, k, 1, 3), (A.shape, b.shape)
        assert weight.shape == (G, k), weight.shape
        self.energy, self.ctx_rows, self.ctx_ref = energy, ctx_rows, ctx_ref
        self.owner, self.A, self.b, self.weight = owner, A, b, weight
        self.C = ctx_ref.obs.shape[0]
        # pose-independent parts, shared by every step
        self._static = prepare(energy, ctx_rows) if static is None else static
        self._ref = {"temporal": temporal_static(energy, ctx_ref)}
        self._flat_owner = owner.flatten()  # (G k,)
        self._AT = A.transpose(-1, -2).flatten(0, 1).contiguous()  # (G k, 3, 3)
        self._b = b.flatten(0, 1)
        self._wA = (weight[..., None, None] * A).flatten(0, 1)  # the chain rule's map, weighted

    def view_poses(self, pose: torch.Tensor) -> torch.Tensor:
        """(G, k, 17, 3) each term's hypothesis in its view's canonical frame and units."""
        G, k = self.owner.shape
        return torch.baddbmm(self._b, pose[self._flat_owner], self._AT).view(G, k, *pose.shape[1:])

    def _sum(self, pose: torch.Tensor, need_grad: bool, temporal: bool):
        ec, gc = grouped_consistency_and_grad(self.view_poses(pose), self._static, need_grad)  # (G, k), (G, k, 17, 3)
        value = pose.new_zeros(self.C).index_add(0, self._flat_owner, (self.weight * ec).flatten())
        ef, gf = feasibility_and_grad(pose, self._static, need_grad)
        value = value + ef
        grad = None
        if need_grad:
            back = gc.flatten(0, 1) @ self._wA  # (G k, 17, 3) chain rule to the state
            grad = torch.zeros_like(pose).index_add(0, self._flat_owner, back) + gf
        if temporal:
            et, gt = temporal_and_grad(self.energy, pose, self.ctx_ref, need_grad, self._ref)
            if et is not None:
                value, grad = value + et, (grad + gt if need_grad else None)
        return value, grad, ec, ef

    def value_and_grad(self, pose: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Closed-form total energy (C,) and gradient (C, 17, 3) (no autograd graph)."""
        with torch.no_grad():
            return self._sum(pose, True, True)[:2]

    def value(self, pose: torch.Tensor) -> torch.Tensor:
        """Closed-form total energy (C,) (the descent's objective)."""
        with torch.no_grad():
            return self._sum(pose, False, True)[0]

    def terms(self, pose: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Total energy (C,), feasibility (C,) and each term's unweighted consistency (G, k), in one evaluation."""
        with torch.no_grad():
            value, _, ec, ef = self._sum(pose, False, True)
        return value, ef, ec

    def __call__(self, pose: torch.Tensor) -> torch.Tensor:
        """Autograd form of the same energy (C,) through the energy modules (checks and training)."""
        k = self.owner.shape[1]
        ec = self.energy.consistency(self.view_poses(pose).flatten(0, 1), self.ctx_rows.expand(k))
        value = pose.new_zeros(self.C).index_add(0, self._flat_owner, self.weight.flatten() * ec)
        return value + self.energy.feasibility(pose) + self.energy.temporal(pose, self.ctx_ref)
