"""load_clip / load_mocap_dir on small generated files: conventions, units, frames, cache, skipping."""
import logging

import numpy as np
import pytest

from learned_energy_ros.core.skeleton import get_skeleton
from learned_energy_ros.data import mocap as mocap_module
from learned_energy_ros.data.mocap import MocapError, MocapNamingError, load_clip, load_mocap_dir, mocap_stats
from learned_energy_ros.data.mocap_names import CMU_UNIT

S = get_skeleton("mocap27")
# (name, parent, offset, end site) of a tiny Motionbuilder-friendly (mb2) skeleton, CMU units, T-pose.
MB2 = [
    ("Hips", None, (0, 0, 0), None),
    ("LeftUpLeg", "Hips", (1, -1, 0), None), ("LeftLeg", "LeftUpLeg", (0, -8, 0), None),
    ("LeftFoot", "LeftLeg", (0, -8, 0), None), ("LeftToeBase", "LeftFoot", (0, -1, 2), (0, 0, 1)),
    ("RightUpLeg", "Hips", (-1, -1, 0), None), ("RightLeg", "RightUpLeg", (0, -8, 0), None),
    ("RightFoot", "RightLeg", (0, -8, 0), None), ("RightToeBase", "RightFoot", (0, -1, 2), (0, 0, 1)),
    ("Spine", "Hips", (0, 2, 0), None), ("Spine1", "Spine", (0, 2, 0), None),
    ("Neck1", "Spine1", (0, 2, 0), None), ("Head", "Neck1", (0, 1.5, 0), (0, 1.7, 0)),
    ("LeftArm", "Spine1", (3, 0.5, 0), None), ("LeftForeArm", "LeftArm", (5, 0, 0), None),
    ("LeftHand", "LeftForeArm", (2.5, 0, 0), (1, 0, 0)),
    ("RightArm", "Spine1", (-3, 0.5, 0), None), ("RightForeArm", "RightArm", (-5, 0, 0), None),
    ("RightHand", "RightForeArm", (-2.5, 0, 0), (-1, 0, 0)),
]


def write_bvh(path, joints, frames, frame_time=1 / 120):
    """Write a BVH: root channels X/Y/Z position + Z Y X rotation, other joints Z Y X rotation."""
    lines = ["HIERARCHY"]

    def emit(name, depth):
        entry = next(j for j in joints if j[0] == name)
        pad = "  " * depth
        lines.append(f"{pad}{'ROOT' if entry[1] is None else 'JOINT'} {name}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {' '.join(map(str, entry[2]))}")
        pos = "Xposition Yposition Zposition " if entry[1] is None else ""
        lines.append(f"{pad}  CHANNELS {6 if entry[1] is None else 3} {pos}Zrotation Yrotation Xrotation")
        for child in (j[0] for j in joints if j[1] == name):
            emit(child, depth + 1)
        if entry[3] is not None:
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {' '.join(map(str, entry[3]))}", f"{pad}  }}"])
        lines.append(f"{pad}}}")

    emit(joints[0][0], 0)
    lines += ["MOTION", f"Frames: {len(frames)}", f"Frame Time: {frame_time}"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in frames]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def mb2_frames(count, root=(0.0, 17.0, 0.0)):
    """Frames with a fixed root and all rotations zero (a T-pose)."""
    frames = np.zeros((count, 6 + 3 * (len(MB2) - 1)))
    frames[:, :3] = root
    return frames


def zup(p):
    return np.array([p[0], -p[2], p[1]])


def test_mb2_conversion_units_axes_and_face(tmp_path):
    frames = mb2_frames(5, root=(1.0, 17.0, 2.0))
    frames[1:, 3] = 1e-3  # frame 0 stays the synthetic T-pose (root rotation exactly 0) and is dropped
    clip = load_clip(write_bvh(tmp_path / "01_02.bvh", MB2, frames), fps=None)
    assert (clip.name, clip.subject, clip.source, clip.fps) == ("01_02", "01", "01_02.bvh", pytest.approx(120.0))
    assert clip.joints.shape == (4, 27, 3) and clip.joints.dtype == np.float32
    j = clip.joints[0].astype(np.float64)
    root = np.array([1.0, 17.0, 2.0])
    expect = {
        # torso by geometry: pelvis = hip midpoint, thorax = shoulder midpoint, spine and neck midpoints
        "pelvis": root + (0, -1, 0), "left_hip": root + (1, -1, 0), "left_knee": root + (1, -9, 0), "right_ankle": root + (-1, -17, 0),
        "spine": root + (0, 1.75, 0), "thorax": root + (0, 4.5, 0), "neck": root + (0, 6, 0), "head": root + (0, 7.5, 0),
        "head_top": root + (0, 9.2, 0), "left_wrist": root + (10.5, 4.5, 0), "left_big_toe": root + (1, -18, 3),
    }
    for name, point in expect.items():
        np.testing.assert_allclose(j[S.index(name)], zup(point) * CMU_UNIT, atol=2e-4, err_msg=name)
    # person's left is +X in the T-pose, forward (left x up) is BVH +Z = world -Y; Z is up
    head = j[S.index("head")]
    np.testing.assert_allclose(j[S.index("nose")], head + [0.0, -0.11, 0.03], atol=2e-4)
    np.testing.assert_allclose(j[S.index("left_ear")], head + [0.075, 0.0, 0.04], atol=2e-4)
    np.testing.assert_allclose(j[S.index("left_heel")], j[S.index("left_ankle")] + [0.0, 0.06, -0.05], atol=2e-4)


def test_dropout_frames_trimmed_and_resampling_is_linear(tmp_path):
    frames = mb2_frames(121)
    frames[:, 0] = 0.5 * np.arange(121)  # root x moves 0.5 units per 1/120 s
    frames[1:, 3] = 1e-3
    frames[1:3, :3] = 0.0  # capture dropout: root at the origin
    path = write_bvh(tmp_path / "05_01.bvh", MB2, frames)
    assert load_clip(path, fps=None).num_frames == 118
    clip = load_clip(path, fps=50.0)
    times = np.arange(clip.num_frames) / 50.0  # from frame 3 (t = 0.025 s) to frame 120 (t = 1 s)
    assert clip.num_frames == int((120 - 3) / 120 * 50) + 1
    np.testing.assert_allclose(clip.joints[:, 0, 0], (1.5 + 60.0 * times) * CMU_UNIT, atol=1e-5)


def test_units_argument(tmp_path):
    path = write_bvh(tmp_path / "a_1.bvh", MB2, mb2_frames(3))
    pelvis_z = lambda clip: float(clip.joints[0, 0, 2])  # noqa: E731  (hip midpoint: root height 17 - 1)
    assert pelvis_z(load_clip(path, units="cm")) == pytest.approx(0.16, abs=1e-6)
    assert pelvis_z(load_clip(path, units=0.1)) == pytest.approx(1.6, abs=1e-6)
    assert pelvis_z(load_clip(path)) == pytest.approx(16 * CMU_UNIT, abs=1e-6)
    with pytest.raises(MocapError, match="unknown units"):
        load_clip(path, units="furlong")


def test_unit_heuristic_for_implausible_size(tmp_path):
    k = 100 * CMU_UNIT  # the same body written in centimetres but with mb2 joint names
    big = [(n, p, tuple(k * np.asarray(o)), e if e is None else tuple(k * np.asarray(e))) for n, p, o, e in MB2]
    frames = mb2_frames(3, root=(0.0, 17.0 * k, 0.0))
    clip = load_clip(write_bvh(tmp_path / "b_1.bvh", big, frames))
    height = clip.joints[0, S.index("head_top"), 2] - clip.joints[0, S.index("left_big_toe"), 2]
    # the mb2 unit would make it 8.8 m tall; the heuristic picks cm: 27.2 CMU units = 1.535 m
    assert height == pytest.approx(27.2 * CMU_UNIT, abs=1e-4)


def test_naming_and_directory_loader(tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("LER_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "data"
    write_bvh(data / "sub" / "01_02.bvh", MB2, mb2_frames(9))
    odd = [("Root", None, (0, 0, 0), None), ("Thing", "Root", (0, 1, 0), (0, 1, 0))]
    write_bvh(data / "sub" / "odd_1.bvh", odd, np.zeros((3, 9)))
    (data / "README.md").write_text("# not mocap\n")
    broken = write_bvh(data / "02_01.bvh", MB2, mb2_frames(4))
    broken.write_text("\n".join(broken.read_text().splitlines()[:-1]) + "\n")  # drop the last frame
    with pytest.raises(MocapNamingError, match="odd_1.bvh"):
        load_clip(data / "sub" / "odd_1.bvh")
    with caplog.at_level(logging.WARNING, logger="learned_energy_ros.data.mocap"):
        clips = load_mocap_dir(data, progress=False)
    assert [(c.source, c.subject, c.name) for c in clips] == [("sub/01_02.bvh", "01", "01_02")]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2, warnings
    assert any("odd_1.bvh" in w and "no known convention" in w for w in warnings)
    assert any("02_01.bvh" in w and "truncated" in w for w in warnings)
    assert not any("README" in w for w in warnings)
    # 9 frames at 120 fps, frame 0 dropped: 7/120 s -> 2 frames at 30 fps
    assert mocap_stats(clips) == {"clips": 1, "frames": 2, "subjects": 1, "seconds": pytest.approx(2 / 30)}


def test_cache_is_used_and_invalidated(tmp_path, monkeypatch):
    monkeypatch.setenv("LER_CACHE_DIR", str(tmp_path / "cache"))
    path = write_bvh(tmp_path / "data" / "07_01.bvh", MB2, mb2_frames(9))
    first = load_mocap_dir(tmp_path / "data", progress=False)
    assert len(list((tmp_path / "cache" / "mocap").glob("*.npz"))) == 1

    def fail(*args, **kwargs):
        raise RuntimeError("parsed again")

    monkeypatch.setattr(mocap_module, "load_clip", fail)
    second = load_mocap_dir(tmp_path / "data", progress=False)
    np.testing.assert_array_equal(first[0].joints, second[0].joints)
    assert (second[0].source, second[0].subject) == ("07_01.bvh", "07")
    with pytest.raises(RuntimeError, match="parsed again"):  # another fps is another cache entry
        load_mocap_dir(tmp_path / "data", fps=60.0, progress=False)
    write_bvh(path, MB2, mb2_frames(13))  # new size / mtime: the old entry no longer matches
    with pytest.raises(RuntimeError, match="parsed again"):
        load_mocap_dir(tmp_path / "data", progress=False)


# (bone, parent, direction, length) of a tiny CMU-named ASF skeleton (CMU units, T-pose, faces +Z).
ASF_BONES = [
    ("lhipjoint", "root", (1, -1, 0), 2 ** 0.5), ("lfemur", "lhipjoint", (0, -1, 0), 8), ("ltibia", "lfemur", (0, -1, 0), 8),
    ("lfoot", "ltibia", (0, 0, 1), 2), ("ltoes", "lfoot", (0, 0, 1), 1),
    ("rhipjoint", "root", (-1, -1, 0), 2 ** 0.5), ("rfemur", "rhipjoint", (0, -1, 0), 8), ("rtibia", "rfemur", (0, -1, 0), 8),
    ("rfoot", "rtibia", (0, 0, 1), 2),
    ("lowerback", "root", (0, 1, 0), 2), ("upperback", "lowerback", (0, 1, 0), 2), ("thorax", "upperback", (0, 1, 0), 2),
    ("lowerneck", "thorax", (0, 1, 0), 1.5), ("upperneck", "lowerneck", (0, 1, 0), 1.5), ("head", "upperneck", (0, 1, 0), 1.7),
    ("lclavicle", "thorax", (1, 0, 0), 3), ("lhumerus", "lclavicle", (1, 0, 0), 5), ("lradius", "lhumerus", (1, 0, 0), 3),
    ("lwrist", "lradius", (1, 0, 0), 1),
    ("rclavicle", "thorax", (-1, 0, 0), 3), ("rhumerus", "rclavicle", (-1, 0, 0), 5), ("rradius", "rhumerus", (-1, 0, 0), 3),
    ("rwrist", "rradius", (-1, 0, 0), 1),
]


def test_cmu_asf_amc_through_load_clip(tmp_path):
    blocks = [
        f"  begin\n    id {i}\n    name {n}\n    direction {' '.join(map(str, d))}\n    length {ln}\n"
        f"    axis 0 0 0 XYZ\n    dof rx ry rz\n  end" for i, (n, _, d, ln) in enumerate(ASF_BONES, start=1)
    ]
    hierarchy = "\n".join(f"    {p} {' '.join(b for b, q, _, _ in ASF_BONES if q == p)}" for p in ["root"] + [b[0] for b in ASF_BONES]
                          if any(q == p for _, q, _, _ in ASF_BONES))
    (tmp_path / "35.asf").write_text(
        ":version 1.10\n:name VICON\n:units\n  mass 1.0\n  length 0.45\n  angle deg\n:documentation\n  test\n"
        ":root\n  order TX TY TZ RX RY RZ\n  axis XYZ\n  position 0 0 0\n  orientation 0 0 0\n"
        f":bonedata\n" + "\n".join(blocks) + f"\n:hierarchy\n  begin\n{hierarchy}\n  end\n")
    frame = "root 0 17 0 0 0 0\n" + "".join(f"{n} 0 0 0\n" for n, *_ in ASF_BONES)
    (tmp_path / "35_01.amc").write_text(":FULLY-SPECIFIED\n:DEGREES\n" + "".join(f"{k}\n{frame}" for k in (1, 2, 3)))
    clip = load_clip(tmp_path / "35_01.amc", fps=None)
    assert clip.num_frames == 3  # no synthetic T-pose in original AMC files: nothing dropped
    j = clip.joints[0].astype(np.float64)
    root = np.array([0.0, 17.0, 0.0])
    expect = {"pelvis": root + (0, -1, 0), "left_hip": root + (1, -1, 0), "left_knee": root + (1, -9, 0), "left_ankle": root + (1, -17, 0),
              "spine": root + (0, 2.5, 0), "thorax": root + (0, 6, 0), "neck": root + (0, 7.5, 0), "head": root + (0, 9, 0),
              "head_top": root + (0, 10.7, 0), "left_shoulder": root + (3, 6, 0), "right_wrist": root + (-11, 6, 0),
              "left_big_toe": root + (1, -17, 3), "right_big_toe": root + (-1, -17, 2)}
    for name, point in expect.items():
        np.testing.assert_allclose(j[S.index(name)], zup(point) * CMU_UNIT, atol=2e-4, err_msg=name)
