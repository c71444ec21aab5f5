"""The real CMU subset (skipped without the shared data): counts, rigid bones, body size, floor contact."""
import numpy as np
import pytest

from learned_energy_ros.core.skeleton import get_skeleton
from learned_energy_ros.data.mocap import load_clip, load_mocap_dir
from learned_energy_ros.data.paths import shared_data

S = get_skeleton("mocap27")
FEET = [S.index(n) for n in ("left_ankle", "right_ankle", "left_big_toe", "right_big_toe", "left_heel", "right_heel")]
ANKLES = [S.index("left_ankle"), S.index("right_ankle")]
# Bones that are one rigid BVH offset in both cgspeed conventions (daz spine/neck are midpoints).
RIGID = [b for b in S.bones if b not in {("pelvis", "spine"), ("spine", "thorax")} and "big_toe" not in b[1]]


@pytest.fixture(scope="module")
def root():
    path = shared_data("cmu_mocap")
    if path is None:
        pytest.skip("shared CMU mocap data not found (set LER_SHARED_DIR to a folder holding data/cmu_mocap)")
    return path


@pytest.fixture(scope="module")
def sample(root):
    """The first two clips of every subject folder (both splits): a fast cross-section of the data."""
    files = [f for d in sorted(root.glob("*/*/*")) if d.is_dir() for f in sorted(d.glob("*.bvh"))[:2]]
    return [load_clip(f, fps=30.0, root=root) for f in files]


def test_val_split_loads(root):
    clips = load_mocap_dir(root / "val", fps=None, progress=False)
    assert len(clips) == 20 and {c.subject for c in clips} == {"06", "10"}
    assert {c.fps for c in clips} == {120.0}
    assert sum(c.num_frames for c in clips) == 11959  # the README's motion frames (frame 0 of each clip dropped)
    for clip in clips:
        assert clip.joints.dtype == np.float32 and np.isfinite(clip.joints).all()


def test_sample_covers_both_conventions(sample):
    assert {c.source.split("/")[1] for c in sample} == {"mb2", "daz"}
    assert len({c.subject for c in sample}) == 10


def test_rigid_bones_keep_their_length(sample):
    for clip in sample:
        j = clip.joints.astype(np.float64)
        for a, b in RIGID:
            length = np.linalg.norm(j[:, S.index(a)] - j[:, S.index(b)], axis=-1)
            assert np.ptp(length) < 1e-3, (clip.source, a, b, np.ptp(length))


def test_body_size(sample):
    # head_top (mb2 Head end site, ~10 cm above the skull base, below the skull top) to the
    # lowest foot point, 95th percentile over a clip: the README's joint extent is 1.43-1.54 m.
    for clip in sample:
        j = clip.joints
        extent = np.percentile(j[:, S.index("head_top"), 2] - j[:, FEET, 2].min(axis=1), 95)
        assert 1.35 < extent < 1.65, (clip.source, extent)
        pelvis_height = np.percentile(j[:, S.index("pelvis"), 2] - j[:, FEET, 2].min(axis=1), 95)  # standing
        assert 0.7 < pelvis_height < 1.1, (clip.source, pelvis_height)


def test_feet_on_flat_floor(sample):
    # Subjects 05-10 move on a flat floor at Z ~ 0 (01, 03, 13, 14 climb on props).
    for clip in sample:
        if clip.subject not in {"05", "06", "07", "08", "09", "10"}:
            continue
        assert -0.01 < clip.joints[:, ANKLES, 2].min() < 0.10, clip.source
        assert -0.10 < clip.joints[:, FEET, 2].min() < 0.05, clip.source


def test_person_faces_forward_and_left_is_left(sample):
    # nose in front of the ears, and (left_hip - right_hip) x up points forward
    for clip in sample:
        j = clip.joints.astype(np.float64)
        ears = 0.5 * (j[:, S.index("left_ear")] + j[:, S.index("right_ear")])
        face = j[:, S.index("nose")] - ears
        left = j[:, S.index("left_hip")] - j[:, S.index("right_hip")]
        forward = np.cross(left, [0.0, 0.0, 1.0])
        agree = np.mean(np.sum(face[:, :2] * forward[:, :2], axis=1) > 0)
        assert agree > 0.8, (clip.source, agree)
