"""Windows of consecutive frames for the temporal term: rates, dropped frames, one camera and one body per window."""
import numpy as np
import torch

from learned_energy_ros.core.protocol_cameras import Standard13Cameras
from learned_energy_ros.core.virtual_camera import DetectorNoise
from learned_energy_ros.pose.augment import BodyAugment
from learned_energy_ros.pose.synthetic import SyntheticClip, random_poses
from learned_energy_ros.pose.windows import WindowSampler, window_frames


def _clips():
    rng = np.random.default_rng(0)
    return [SyntheticClip(f"c{i}", "s", "synthetic", 120.0, random_poses(600, rng, scale_range=(1.0, 1.0))) for i in range(2)]  # one body per clip


def test_window_frames_follow_rate_and_drops():
    rng = np.random.default_rng(0)
    idx = window_frames(rng, 1000, 120.0, 30.0, 0.0, 5)
    assert np.all(np.diff(idx) == 4)  # 120 fps source at 30 Hz: every 4th frame
    gaps = np.concatenate([np.diff(window_frames(rng, 10000, 120.0, 10.0, 0.5, 4)) for _ in range(400)]) // 12
    assert set(np.unique(gaps)) >= {1, 2, 3} and 0.4 < np.mean(gaps == 1) < 0.6  # half the frames dropped
    assert window_frames(rng, 10, 120.0, 10.0, 0.0, 4) is None  # too short a clip


def test_windows_share_camera_and_body_and_report_dt():
    sampler = WindowSampler(_clips(), Standard13Cameras(), DetectorNoise(sigma_px=0.0), "coco17", seed=1,
                            augment=BodyAugment(), window=4, rates=(15.0, 60.0), drop_prob=0.2)
    batch, dt = sampler.sample_windows(16)
    assert len(batch) == 64 and dt.shape == (16, 4) and torch.all(dt[:, 0] == 0)
    for w in range(16):
        K = batch.K[4 * w: 4 * w + 4]
        assert torch.equal(K, K[:1].expand(4, 3, 3))  # one fixed camera per window
        multiples = [dt[w, 1:].numpy() / p for p in (1 / 15, 1 / 60)]  # whole frame periods of the window's rate
        assert any(np.allclose(m, np.round(m), atol=1e-3) and (m >= 1 - 1e-3).all() for m in multiples), dt[w]
        bones = torch.linalg.norm(batch.joints_cam[4 * w: 4 * w + 4, 12] - batch.joints_cam[4 * w: 4 * w + 4, 11], dim=-1)
        assert torch.allclose(bones, bones[:1].expand(4), rtol=1e-4)  # one body: the same upper-arm length
    windowed = sampler.sample(32)
    assert len(windowed.batch) == 32 and windowed.dt.shape == (8, 4)
