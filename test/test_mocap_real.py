"""The real CMU subset (skipped without the shared data): counts, rigid bones, body size, floor contact."""
import numpy as np
import pytest

from learned_energy_ros.core.skeleton import get_skeleton
from learned_energy_ros.data.mocap import load_clip, load_mocap_dir
from learned_energy_ros.data.paths import shared_data

S = get_skeleton("mocap27")
FEET = [S.index(n) for n in ("left_ankle", "right_ankle", "left_big_toe", "right_big_toe", "left_heel", "right_heel")]
ANKLES = [S.index("left_ankle"), S.index("right_ankle")]
# Bones that are one rigid BVH offset in both cgspeed conventions. The torso points are midpoints of the
# hips / shoulders (``mocap_names._torso``); the shoulders move with the clavicles, so bones that reach the
# thorax, spine or neck are not rigid.
_GEOMETRIC = {"spine", "thorax", "neck"}
RIGID = [b for b in S.bones if not _GEOMETRIC & set(b) and "big_toe" not in b[1]]


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


# Source joints of the hips and shoulders in each cgspeed convention, read straight from the BVH.
_SOURCE_GIRDLES = {"mb2": ("LeftUpLeg", "RightUpLeg", "LeftArm", "RightArm"), "daz": ("lThigh", "rThigh", "lShldr", "rShldr")}


def _girdle_midpoints(path):
    """Hip and shoulder midpoints (F, 3) in meters, world +Z up, from the raw BVH (no conversion tables)."""
    from learned_energy_ros.data.bvh import read_bvh
    from learned_energy_ros.data.kinematics import forward_kinematics
    from learned_energy_ros.data.mocap_points import yup_to_zup

    motion = read_bvh(path)
    positions = forward_kinematics(motion.select_frames(np.arange(1, motion.num_frames)))[0]  # frame 0 is the T-pose
    scale = {"mb2": 0.0254 / 0.45, "daz": 0.01}[path.parts[-3]]
    lh, rh, ls, rs = (positions[:, motion.index(n)] for n in _SOURCE_GIRDLES[path.parts[-3]])
    return yup_to_zup((lh + rh) / 2 * scale), yup_to_zup((ls + rs) / 2 * scale)


@pytest.mark.parametrize("convention", ["mb2", "daz"])
def test_torso_joints_share_one_geometric_definition(root, convention):
    """Pelvis = hip midpoint, thorax = shoulder midpoint, spine between them, in every exporter convention.

    The mocap roots differ by ~12 cm between conventions (mb2 ~10 cm above the hips, Daz ~2.5 cm below),
    which made every root-relative training label depend on a convention the lifter cannot see.
    """
    path = sorted((root / "train" / convention).glob("*/*.bvh"))[0]
    clip = load_clip(path, fps=None, root=root)
    hips, shoulders = _girdle_midpoints(path)
    n = min(len(hips), clip.num_frames)  # dropout frames (if any) are removed by the loader
    joints = clip.joints[:n].astype(np.float64)
    offsets_mm = {
        "pelvis": np.linalg.norm(joints[:, S.index("pelvis")] - hips[:n], axis=-1).mean() * 1000,
        "thorax": np.linalg.norm(joints[:, S.index("thorax")] - shoulders[:n], axis=-1).mean() * 1000,
        "spine": np.linalg.norm(joints[:, S.index("spine")] - (hips[:n] + shoulders[:n]) / 2, axis=-1).mean() * 1000,
    }
    assert max(offsets_mm.values()) < 15.0, offsets_mm

