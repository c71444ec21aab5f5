"""The summed multi-view energy: each camera's consistency term on one hypothesis, + feasibility + temporal.

The descent state is a pose ``P`` (K, 17, 3) in the canonical frame and person-size units of one
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
"""
from __future__ import annotations

import torch

from learned_energy_ros.pose.energy import EnergyContext, PoseEnergy
from learned_energy_ros.pose.energy_grad import (consistency_and_grad, feasibility_and_grad, prepare,
                                                 temporal_and_grad)

__all__ = ["MultiViewEnergy"]


class MultiViewEnergy:
    """``energy_fn`` of ``UnrolledOptimizer`` over K hypotheses and T (hypothesis, view) terms.

    Args:
        energy: the lifter's ``PoseEnergy``.
        ctx_terms: the T views' contexts (canonical observation of that view of that hypothesis's person).
        owner: (T,) long, hypothesis of each term.
        A: (T, 3, 3) and b: (T, 1, 3): ``P_v = P[owner] @ A^T + b``.
        weight: (T,) weight of each term's consistency energy.
        ctx_ref: (K,) context of the hypotheses' reference views (the temporal term reads its history).
    """

    def __init__(self, energy: PoseEnergy, ctx_terms: EnergyContext, owner: torch.Tensor, A: torch.Tensor,
                 b: torch.Tensor, weight: torch.Tensor, ctx_ref: EnergyContext) -> None:
        T = owner.shape[0]
        assert A.shape == (T, 3, 3) and b.shape == (T, 1, 3) and weight.shape == (T,), (A.shape, b.shape, weight.shape)
        self.energy, self.ctx_terms, self.ctx_ref = energy, ctx_terms, ctx_ref
        self.owner, self.A, self.b, self.weight = owner, A, b, weight
        self.K = ctx_ref.obs.shape[0]
        self._static = prepare(energy, ctx_terms)  # pose-independent parts, shared by every step

    def view_poses(self, pose: torch.Tensor) -> torch.Tensor:
        """(T, 17, 3) each term's hypothesis in its view's canonical frame and units."""
        return pose[self.owner] @ self.A.transpose(1, 2) + self.b

    def view_energies(self, pose: torch.Tensor) -> torch.Tensor:
        """(T,) unweighted consistency energy of every (hypothesis, view) term."""
        with torch.no_grad():
            return consistency_and_grad(self.view_poses(pose), self._static, need_grad=False)[0]

    def _sum(self, pose: torch.Tensor, need_grad: bool, temporal: bool):
        ec, gc = consistency_and_grad(self.view_poses(pose), self._static, need_grad)  # (T,), (T, 17, 3)
        value = pose.new_zeros(self.K).index_add(0, self.owner, self.weight * ec)
        ef, gf = feasibility_and_grad(pose, self._static, need_grad)
        value = value + ef
        grad = None
        if need_grad:
            back = (self.weight[:, None, None] * gc) @ self.A  # (T, 17, 3) chain rule to the state
            grad = torch.zeros_like(pose).index_add(0, self.owner, back) + gf
        if temporal:
            et, gt = temporal_and_grad(self.energy, pose, self.ctx_ref, need_grad)
            if et is not None:
                value, grad = value + et, (grad + gt if need_grad else None)
        return value, grad

    def value_and_grad(self, pose: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Closed-form total energy (K,) and gradient (K, 17, 3) (no autograd graph)."""
        with torch.no_grad():
            return self._sum(pose, True, True)

    def value(self, pose: torch.Tensor) -> torch.Tensor:
        """Closed-form total energy (K,) (the descent's objective)."""
        with torch.no_grad():
            return self._sum(pose, False, True)[0]

    def __call__(self, pose: torch.Tensor) -> torch.Tensor:
        """Autograd form of the same energy (K,) through the energy modules (checks and training)."""
        views = self.view_poses(pose)
        ec = self.energy.consistency(views, self.ctx_terms)
        value = pose.new_zeros(self.K).index_add(0, self.owner, self.weight * ec)
        return value + self.energy.feasibility(pose) + self.energy.temporal(pose, self.ctx_ref)
