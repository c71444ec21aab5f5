"""GAN pose prior: a WGAN-GP generator of canonical poses, fitted to 2D by multi-start Adam.

Canonical pose (what the generator outputs, (17, 3)): pelvis at the origin,
unit RMS joint distance to the pelvis, axes x = the person's left (horizontal),
y = down (gravity), z = x × y, so the person faces -z (towards a camera
looking along +z). Built from motion capture in the world Z-up frame.

Inference: ``X = s * R(yaw, pitch, roll) @ G(z) + t`` with
``t = exp(log_depth) * (anchor + size * offset, 1)``. In the camera frame the
vertical is unknown: we assume modest camera pitch/roll (true of the virtual
cameras used here: a camera at 0.5-2.5 m looking at a person 2.5-10 m away)
and optimise a full rotation (yaw free, pitch and roll with a weak quadratic
prior), the latent (Gaussian prior), translation and log scale (prior at the
training mean). Several starts (yaws evenly spread) run in parallel and the
one with the lowest reprojection energy is kept.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from learned_energy_ros.core.skeleton import MOCAP_SKELETON, TRAINING_SKELETON, get_skeleton, joint_mapping
from learned_energy_ros.pose.baselines.features import anchor_and_size, check_batch
from learned_energy_ros.pose.baselines.reprojection import observed_pairs, reprojection_energy

_J = len(get_skeleton(TRAINING_SKELETON))


@dataclass
class GanArgs:
    """Architecture and inference settings of the GAN prior (``model_args`` in the checkpoint)."""

    latent: int = 16  # latent size (issue: 16-d)
    hidden: int = 256  # units of both MLPs
    starts: int = 8  # multi-start count at inference (yaws evenly spread)
    steps: int = 150  # Adam steps at inference
    lr: float = 0.05  # Adam step size at inference
    latent_weight: float = 1e-3  # weight of |z|² (Gaussian latent prior)
    scale_weight: float = 0.1  # weight of (log s - log s0)²
    tilt_weight: float = 0.05  # weight of pitch² + roll² (modest camera tilt)


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),
                         nn.Linear(hidden, n_out))


def canonical_poses(joints_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canonicalize world Z-up poses (N, 17, 3) h36m17.

    Returns:
        poses (N, 17, 3) canonical unit-scale poses and scales (N,) in meters (RMS distance to pelvis).
    """
    skel = get_skeleton(TRAINING_SKELETON)
    rel = joints_world - joints_world[:, skel.root_index : skel.root_index + 1]
    left = rel[:, skel.index("left_hip")] - rel[:, skel.index("right_hip")]
    left[:, 2] = 0.0
    left /= np.linalg.norm(left, axis=-1, keepdims=True).clip(1e-9)
    up = np.broadcast_to(np.array([0.0, 0.0, 1.0]), left.shape)
    R = np.stack([left, -up, -np.cross(left, up)], axis=1)  # (N, 3, 3) rows: canonical axes in world
    canon = np.einsum("nij,nkj->nki", R, rel)
    scale = np.sqrt((canon**2).sum(-1).mean(-1))  # (N,)
    return canon / scale[:, None, None], scale


def _rotation(yaw, pitch, roll) -> torch.Tensor:
    """R = Rx(pitch) Rz(roll) Ry(yaw), (..., 3, 3); yaw turns about the canonical vertical (y)."""
    def axis(angle, i, j):
        c, s = torch.cos(angle), torch.sin(angle)
        R = torch.zeros(*angle.shape, 3, 3, dtype=angle.dtype, device=angle.device)
        k = 3 - i - j
        R[..., k, k] = 1.0
        R[..., i, i], R[..., j, j], R[..., i, j], R[..., j, i] = c, c, -s, s
        return R
    return axis(pitch, 1, 2) @ axis(roll, 0, 1) @ axis(yaw, 2, 0)


class GanPrior(nn.Module):
    """Generator + critic, and the latent-space fitting used at inference."""

    method = "gan-prior"

    def __init__(self, args: GanArgs | dict) -> None:
        super().__init__()
        self.args = args if isinstance(args, GanArgs) else GanArgs(**args)
        self.generator = _mlp(self.args.latent, self.args.hidden, _J * 3)
        self.critic = _mlp(_J * 3, self.args.hidden, 1)
        self.register_buffer("scale_mean", torch.tensor(0.5))  # meters (RMS joint distance to pelvis)
        self.register_buffer("size_ratio", torch.tensor(1.0))  # 3D median hip-mid distance / RMS scale

    def model_args(self) -> dict:
        return asdict(self.args)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """Map latents (N, latent) to canonical unit-scale poses (N, 17, 3), pelvis at 0.

        The output is renormalized to unit RMS so that metric size comes only from
        the (prior-weighted) scale: otherwise the latent search shrinks the person
        and walks it towards the camera, which fits the 2D equally well.
        """
        pose = self.generator(z).reshape(-1, _J, 3)
        pose = pose - pose[:, :1]
        rms = pose.pow(2).sum(-1).mean(-1).sqrt().clamp_min(1e-6)  # (N,)
        return pose / rms[:, None, None]

    def predict(self, batch) -> torch.Tensor:
        """Fit the prior to each sample's 2D; return joints (B, 17, 3), meters, camera frame."""
        batch = batch.to(self.scale_mean.device)
        check_batch(batch)
        a = self.args
        B, S = len(batch), a.starts
        dev, dt = batch.normalized.device, batch.normalized.dtype
        anchor, size = anchor_and_size(batch.normalized, batch.scores, batch.input_skeleton)
        rep = batch.index(torch.arange(B, device=dev).repeat_interleave(S))  # (B*S) samples
        anchor_r, size_r = anchor.repeat_interleave(S, 0), size.repeat_interleave(S, 0)
        out_idx, in_idx = observed_pairs(batch.input_skeleton)
        depth0 = (self.scale_mean * self.size_ratio / size_r).clamp(0.5, 100.0)
        yaw0 = (torch.arange(S, dtype=dt, device=dev) * (2 * math.pi / S)).repeat(B)
        params = {
            "z": torch.zeros(B * S, a.latent, dtype=dt, device=dev), "yaw": yaw0,
            "pitch": torch.zeros(B * S, dtype=dt, device=dev), "roll": torch.zeros(B * S, dtype=dt, device=dev),
            "log_depth": torch.log(depth0), "offset": torch.zeros(B * S, 2, dtype=dt, device=dev),
            "log_scale": torch.log(self.scale_mean).expand(B * S).clone().to(dt),
        }
        for p in params.values():
            p.requires_grad_(True)
        opt = torch.optim.Adam(params.values(), lr=a.lr)
        with torch.enable_grad():
            for _ in range(a.steps):
                opt.zero_grad()
                data = reprojection_energy(self._pose(params, anchor_r, size_r), rep, out_idx, in_idx, size_r)
                prior = (a.latent_weight * (params["z"] ** 2).sum(-1)
                         + a.scale_weight * (params["log_scale"] - torch.log(self.scale_mean)) ** 2
                         + a.tilt_weight * (params["pitch"] ** 2 + params["roll"] ** 2))
                (data + prior).sum().backward()
                opt.step()
        with torch.no_grad():
            joints = self._pose(params, anchor_r, size_r)  # (B*S, 17, 3)
            energy = reprojection_energy(joints, rep, out_idx, in_idx, size_r).reshape(B, S)
            best = energy.argmin(dim=1)
            return joints.reshape(B, S, _J, 3)[torch.arange(B, device=dev), best]

    def _pose(self, p: dict, anchor: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
        canon = self.generate(p["z"])  # (N, 17, 3)
        R = _rotation(p["yaw"], p["pitch"], p["roll"])  # (N, 3, 3)
        depth = torch.exp(p["log_depth"])[:, None]
        t = torch.cat([(anchor + size[:, None] * p["offset"]) * depth, depth], dim=-1)  # (N, 3)
        return torch.exp(p["log_scale"])[:, None, None] * canon @ R.transpose(-1, -2) + t[:, None]


def clip_poses(clips, stride: int = 4) -> np.ndarray:
    """Stack every ``stride``-th frame of the clips as h36m17 world poses (N, 17, 3)."""
    mapping = joint_mapping(MOCAP_SKELETON, TRAINING_SKELETON)
    frames = [np.asarray(c.joints)[::stride][:, mapping] for c in clips]
    return np.concatenate(frames, axis=0)


def mirror(poses: np.ndarray) -> np.ndarray:
    """Mirror canonical poses left-right (x -> -x with joint names swapped)."""
    perm = get_skeleton(TRAINING_SKELETON).flip_permutation
    out = poses[:, perm].copy()
    out[..., 0] *= -1
    return out
