"""Martinez et al. 2017 ("A simple yet effective baseline for 3d human pose estimation").

Residual MLP: linear to ``width``, then ``blocks`` residual blocks of
2 x (linear, batch norm, ReLU, dropout), then linear out. Inputs and outputs
are standardized with statistics of the training data, as in the paper.

Two input variants:

* ``px``: raw pixel keypoints scaled by the image size ((u - W/2) / (W/2),
  (v - H/2) / (W/2)), as in the paper: the network cannot know the camera.
* ``norm``: undistorted normalized coordinates, centred on the anchor
  (hip midpoint), so intrinsics and distortion are removed before the network.
  Centring drops where the person is in view, so the network cannot tell the
  viewing direction: for people far off the optical axis (the ``standard-13``
  protocol puts the pelvis anywhere in the central 80 % of a 500-1500 px lens)
  its camera-axes pose is rotated (measured there: P-MPJPE 46.4 mm but MPJPE
  82.9 mm after 35,000 steps).
* ``ray``: the same undistorted normalized coordinates, not centred: the
  camera-normalized input of the outside ``standard-13`` anchor.

Missing joints (score <= ``MIN_SCORE``) are zeros after standardization, and
every joint's score is an extra input channel. Outputs: 17 x 3 pelvis-relative
joints (meters, camera axes), the log depth of the pelvis and the pelvis 2D
offset from the observed anchor in person-size units; absolute camera-frame
joints follow from ``features.decode_outputs`` (the anchor ray comes from the
undistorted observation for both variants, the network predicts only depth
and offset).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from learned_energy_ros.core.skeleton import TRAINING_SKELETON, get_skeleton
from learned_energy_ros.pose.baselines.features import (
    BaselineError, anchor_and_size, check_batch, decode_outputs, encode_targets, visible,
)

_OUT_JOINTS = len(get_skeleton(TRAINING_SKELETON))
_N_OUT = _OUT_JOINTS * 3 + 1 + 2  # joints, log depth, anchor offset
INPUT_MODES = ("px", "norm", "ray")


@dataclass
class MartinezArgs:
    """Architecture of one Martinez MLP (stored as ``model_args`` in the checkpoint)."""

    input_mode: str = "norm"  # "px" (paper), "norm" (camera-normalized, centred) or "ray" (camera-normalized)
    width: int = 1024  # hidden units (paper: 1024)
    blocks: int = 2  # residual blocks (paper: 2)
    dropout: float = 0.5  # paper value
    input_skeleton: str = "coco17"
    num_input_joints: int = 17
    #: ``joint``: mean Euclidean joint error + |log depth error| + 0.1 |offset error| (meters / log units).
    #: ``paper``: mean squared error of the standardized outputs, as in the paper; joints outside
    #: ``focus_joints`` weigh ``other_weight`` (they are still trained, so ``predict`` stays a full skeleton).
    loss: str = "joint"
    focus_joints: tuple[str, ...] = ()
    other_weight: float = 1.0
    #: Weight of the placement terms (pelvis log depth and 2D offset) in either loss. 0 trains the
    #: pelvis-relative joints only, the paper's output; the absolute placement is then untrained.
    placement_weight: float = 1.0


class _Block(nn.Module):
    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        layers = []
        for _ in range(2):
            layers += [nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


class MartinezLifter(nn.Module):
    """Martinez residual MLP wrapped to map a ``PoseBatch`` to absolute joints (B, 17, 3)."""

    def __init__(self, args: MartinezArgs | dict) -> None:
        super().__init__()
        args = args if isinstance(args, MartinezArgs) else MartinezArgs(**args)
        if args.input_mode not in INPUT_MODES:
            raise BaselineError(f"unknown Martinez input mode {args.input_mode!r}; use one of {INPUT_MODES}")
        self.args = args
        n_in = args.num_input_joints * 3
        self.net = nn.Sequential(
            nn.Linear(n_in, args.width), nn.BatchNorm1d(args.width), nn.ReLU(), nn.Dropout(args.dropout),
            *[_Block(args.width, args.dropout) for _ in range(args.blocks)],
            nn.Linear(args.width, _N_OUT),
        )
        self.register_buffer("in_mean", torch.zeros(args.num_input_joints, 2))
        self.register_buffer("in_std", torch.ones(args.num_input_joints, 2))
        self.register_buffer("out_mean", torch.zeros(_N_OUT))
        self.register_buffer("out_std", torch.ones(_N_OUT))

    @property
    def method(self) -> str:
        return f"martinez-{self.args.input_mode}-{self.args.width}x{self.args.blocks}"

    def model_args(self) -> dict:
        return asdict(self.args)

    # ------------------------------------------------------------------ geometry
    def _coords(self, batch) -> torch.Tensor:
        if self.args.input_mode == "px":
            wh = batch.image_size.to(batch.keypoints_px.dtype)  # (B, 2)
            half_w = (wh[:, :1] / 2)[:, None]  # (B, 1, 1)
            return (batch.keypoints_px - wh[:, None] / 2) / half_w  # (B, J, 2)
        if self.args.input_mode == "ray":  # K^-1 and distortion removed, where the person is in view kept
            return batch.normalized  # (B, J, 2)
        anchor, _ = anchor_and_size(batch.normalized, batch.scores, batch.input_skeleton)
        return batch.normalized - anchor[:, None]  # (B, J, 2)

    def _check(self, batch) -> None:
        J = batch.keypoints_px.shape[1]
        if batch.input_skeleton != self.args.input_skeleton or J != self.args.num_input_joints:
            raise BaselineError(
                f"{self.method} was trained on {self.args.input_skeleton} ({self.args.num_input_joints} joints), "
                f"got {batch.input_skeleton} ({J} joints)"
            )
        check_batch(batch)

    def features(self, batch) -> torch.Tensor:
        """Return the (B, 3J) network input: standardized coords (zero where missing) + scores."""
        vis = visible(batch.scores)[..., None]  # (B, J, 1)
        coords = torch.nan_to_num(self._coords(batch))
        coords = (coords - self.in_mean) / self.in_std * vis
        return torch.cat([coords.flatten(1), batch.scores * vis[..., 0]], dim=1)

    def _targets(self, batch) -> torch.Tensor:
        anchor, size = anchor_and_size(batch.normalized, batch.scores, batch.input_skeleton)
        rel, log_z, offset = encode_targets(batch.joints_cam, anchor, size)
        return torch.cat([rel.flatten(1), log_z[:, None], offset], dim=1)  # (B, _N_OUT)

    @torch.no_grad()
    def fit_normalization(self, batch) -> None:
        """Set input/output standardization from a (large) training batch."""
        self._check(batch)
        vis = visible(batch.scores)[..., None]
        coords = torch.nan_to_num(self._coords(batch))
        count = vis.sum(dim=0).clamp_min(1)
        mean = (coords * vis).sum(dim=0) / count
        var = (((coords - mean) * vis) ** 2).sum(dim=0) / count
        self.in_mean.copy_(mean)
        self.in_std.copy_(var.sqrt().clamp_min(1e-4))
        out = self._targets(batch)
        self.out_mean.copy_(out.mean(dim=0))
        self.out_std.copy_(out.std(dim=0).clamp_min(1e-4))

    # ------------------------------------------------------------------ API
    def raw(self, batch) -> torch.Tensor:
        """Return de-standardized outputs (B, 17*3 + 3)."""
        self._check(batch)
        return self.net(self.features(batch)) * self.out_std + self.out_mean

    def _decode(self, batch, out: torch.Tensor) -> torch.Tensor:
        anchor, size = anchor_and_size(batch.normalized, batch.scores, batch.input_skeleton)
        rel = out[:, : _OUT_JOINTS * 3].reshape(-1, _OUT_JOINTS, 3)
        return decode_outputs(rel, out[:, _OUT_JOINTS * 3], out[:, -2:], anchor, size)

    def forward(self, batch) -> torch.Tensor:
        try:
            batch = batch.to(self.in_mean.device).remap(self.args.input_skeleton)  # other layouts by joint name
        except ValueError as err:
            raise BaselineError(f"{self.method}: {err}") from err
        return self._decode(batch, self.raw(batch))

    @torch.no_grad()
    def predict(self, batch) -> torch.Tensor:
        """Lift a ``PoseBatch`` to absolute joints (B, 17, 3), meters, camera optical frame."""
        was_training = self.training
        self.eval()
        try:
            return self(batch)
        finally:
            self.train(was_training)

    def _joint_weights(self) -> torch.Tensor:
        """(17,) loss weight per output joint: 1 on ``focus_joints`` (all when empty), else ``other_weight``."""
        if not self.args.focus_joints:
            return torch.ones(_OUT_JOINTS)
        skel = get_skeleton(TRAINING_SKELETON)
        unknown = [name for name in self.args.focus_joints if not skel.has(name)]
        if unknown:
            raise BaselineError(f"focus_joints {unknown} are not joints of {TRAINING_SKELETON}")
        focus = torch.tensor([name in self.args.focus_joints for name in skel.joints])
        return torch.where(focus, 1.0, float(self.args.other_weight))

    def loss(self, batch) -> torch.Tensor:
        """Training loss of the configured kind (``MartinezArgs.loss``)."""
        out = self.raw(batch)
        target = self._targets(batch)
        n = _OUT_JOINTS * 3
        weights = self._joint_weights().to(out.device)
        if self.args.loss == "paper":
            err = ((out - target) / self.out_std) ** 2  # standardized outputs
            joints = (err[:, :n].reshape(-1, _OUT_JOINTS, 3).mean(-1) * weights).sum(-1) / weights.sum()
            return joints.mean() + self.args.placement_weight * err[:, n:].mean()
        if self.args.loss != "joint":
            raise BaselineError(f"unknown Martinez loss {self.args.loss!r}; expected 'joint' or 'paper'")
        rel = out[:, :n].reshape(-1, _OUT_JOINTS, 3)
        rel_t = target[:, :n].reshape(-1, _OUT_JOINTS, 3)
        rel = rel - rel[:, :1]
        joint = ((torch.linalg.norm(rel - rel_t, dim=-1) * weights).sum(-1) / weights.sum()).mean()
        depth = (out[:, n] - target[:, n]).abs().mean()
        offset = (out[:, -2:] - target[:, -2:]).abs().mean()
        return joint + self.args.placement_weight * (depth + 0.1 * offset)


def parse_method(method: str) -> MartinezArgs:
    """Parse ``martinez-<px|norm>-<width>x<blocks>`` (width/blocks default to 1024x2)."""
    parts = method.split("-")
    if len(parts) < 2 or parts[0] != "martinez" or parts[1] not in INPUT_MODES or len(parts) > 3:
        raise BaselineError(f"bad Martinez method name {method!r}; expected martinez-<px|norm>[-<width>x<blocks>]")
    args = MartinezArgs(input_mode=parts[1])
    if len(parts) == 3:
        try:
            width, blocks = (int(v) for v in parts[2].split("x"))
        except ValueError:
            raise BaselineError(f"bad size {parts[2]!r} in {method!r}; expected <width>x<blocks>") from None
        if width <= 0 or blocks < 0:
            raise BaselineError(f"width must be > 0 and blocks >= 0 in {method!r}")
        args.width, args.blocks = width, blocks
    return args
