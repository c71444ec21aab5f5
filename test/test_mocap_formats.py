"""BVH and ASF/AMC readers: hand-computed forward kinematics and malformed-input errors."""
from pathlib import Path

import numpy as np
import pytest

from learned_energy_ros.data.asf_amc import find_skeleton, read_amc, read_amc_with_skeleton, read_asf
from learned_energy_ros.data.bvh import parse_bvh, read_bvh
from learned_energy_ros.data.kinematics import MocapError, euler_to_matrix, forward_kinematics

FIXTURES = Path(__file__).parent / "fixtures" / "mocap"


def test_euler_composition_order_is_listed_order():
    r = euler_to_matrix(np.deg2rad([90.0, 90.0]), "zx")  # Rz(90) @ Rx(90)
    # Rx(90) takes +Y to +Z; Rz(90) leaves +Z alone. The reverse order would give -X.
    np.testing.assert_allclose(r @ [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], atol=1e-12)


def test_bvh_forward_kinematics_by_hand():
    motion = read_bvh(FIXTURES / "tiny_chain.bvh")  # CRLF and LF mixed on purpose
    assert motion.names == ["Hips", "Knee"] and list(motion.parents) == [-1, 0]
    assert motion.frame_time == 0.5 and motion.num_frames == 2
    positions, rotations, ends = forward_kinematics(motion)
    # frame 0: no rotation -> knee 2 up from the root at (1, 2, 3), end site 1 along +Z
    np.testing.assert_allclose(positions[0], [[1, 2, 3], [1, 4, 3]], atol=1e-12)
    np.testing.assert_allclose(ends[1][0], [1, 4, 4], atol=1e-12)
    # frame 1: root "Z X Y" = (90, 90, 0) -> Rz90 @ Rx90 maps the (0, 2, 0) offset to (0, 0, 2);
    # knee "Z Y X" = (0, 90, 0) -> the (0, 0, 1) end site goes Ry90 -> +X, Rx90 -> +X, Rz90 -> +Y.
    np.testing.assert_allclose(positions[1], [[1, 2, 3], [1, 2, 5]], atol=1e-12)
    np.testing.assert_allclose(ends[1][1], [1, 3, 5], atol=1e-12)
    np.testing.assert_allclose(rotations[1, 1] @ rotations[1, 1].T, np.eye(3), atol=1e-12)


def test_asf_amc_forward_kinematics_by_hand():
    skeleton = read_asf(FIXTURES / "tiny.asf")
    assert skeleton["order"] == ["root", "thigh", "shin"] and skeleton["length_unit"] == 0.45
    assert find_skeleton(FIXTURES / "tiny_01.amc") == FIXTURES / "tiny.asf"
    motion = read_amc(FIXTURES / "tiny_01.amc", skeleton)
    assert motion.num_frames == 2 and list(motion.lines) == [4, 8]
    positions, _, ends = forward_kinematics(motion)
    # frame 1: thigh from the root (1, 2, 3) straight down 2, shin 3 along +X.
    np.testing.assert_allclose(positions[0], [[1, 2, 3], [1, 2, 3], [1, 0, 3]], atol=1e-12)
    np.testing.assert_allclose(ends[2][0], [4, 0, 3], atol=1e-12)
    # frame 2: root ry 90 -> Ry90. thigh: axis Z90 makes its "rx 90" a turn about world Y
    # (C Rx90 C^-1 = Ry90), so G_thigh = Ry180 and the thigh still hangs down;
    # shin "rx 90" keeps +X, then Ry180 flips it: shin end = (1, 0, 3) + (-3, 0, 0).
    np.testing.assert_allclose(positions[1, 2], [1, 0, 3], atol=1e-12)
    np.testing.assert_allclose(ends[2][1], [-2, 0, 3], atol=1e-12)
    assert read_amc_with_skeleton(FIXTURES / "tiny_01.amc").num_frames == 2


_GOOD = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  End Site
  {
    OFFSET 0 1 0
  }
}
MOTION
Frames: 2
Frame Time: 0.1
0 0 0 0 0 0
1 1 1 0 0 0
"""


@pytest.mark.parametrize(
    "old, new, line, words",
    [
        ("1 1 1 0 0 0\n", "", 14, "truncated"),
        ("1 1 1 0 0 0", "1 1 x 0 0 0", 15, "bad number"),
        ("1 1 1 0 0 0", "1 1 1 0 0", 15, "expected 6 values"),
        ("Zrotation Yrotation", "Wrotation Yrotation", 5, "unknown channel"),
        ("CHANNELS 6", "CHANNELS 5", 5, "channels"),
        ("Frames: 2", "Frames: two", 12, "Frames"),
        ("OFFSET 0 1 0", "OFFSET 0 1", 8, "expected 3 numbers"),
        ("0 0 0 0 0 0", "0 0 nan 0 0 0", 14, "non-finite"),
    ],
)
def test_malformed_bvh_names_file_and_line(old, new, line, words):
    assert old in _GOOD
    with pytest.raises(MocapError) as info:
        parse_bvh(_GOOD.replace(old, new), "broken.bvh")
    assert str(info.value).startswith(f"broken.bvh:{line}:"), str(info.value)
    assert words.lower() in str(info.value).lower()
    assert info.value.line == line


def test_good_bvh_parses():
    assert parse_bvh(_GOOD).num_frames == 2


def test_not_a_bvh_file():
    with pytest.raises(MocapError, match="HIERARCHY"):
        parse_bvh("# just a readme\n", "README.md")


@pytest.mark.parametrize(
    "old, new, line, words",
    [
        ("shin 90\n", "shin 90 10\n", 11, "expected 1 numbers"),
        ("thigh 90 0 0", "thigh 90 zero 0", 10, "bad number"),
        ("shin 90\n", "knee 90\n", 11, "unknown bone"),
        ("thigh 90 0 0\n", "", 8, "lacks bone 'thigh'"),
    ],
)
def test_malformed_amc_names_file_and_line(tmp_path, old, new, line, words):
    text = (FIXTURES / "tiny_01.amc").read_text()
    assert old in text
    (tmp_path / "tiny_01.amc").write_text(text.replace(old, new))
    (tmp_path / "tiny.asf").write_text((FIXTURES / "tiny.asf").read_text())
    with pytest.raises(MocapError) as info:
        read_amc_with_skeleton(tmp_path / "tiny_01.amc")
    assert f"tiny_01.amc:{line}:" in str(info.value) and words in str(info.value), str(info.value)


def test_malformed_asf(tmp_path):
    text = (FIXTURES / "tiny.asf").read_text()
    bad = tmp_path / "bad.asf"
    bad.write_text(text.replace("    length 3\n", "    length three\n"))
    with pytest.raises(MocapError, match=r"bad.asf:31: bad number"):
        read_asf(bad)
    bad.write_text(text.replace(":hierarchy", ":nothing"))
    with pytest.raises(MocapError, match="no :hierarchy"):
        read_asf(bad)
    bad.write_text(text.replace("dof rx\n", "dof rx l\n"))
    with pytest.raises(MocapError, match="unsupported bone dof 'l'"):
        read_asf(bad)
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    (lonely / "lonely_01.amc").write_text((FIXTURES / "tiny_01.amc").read_text())
    with pytest.raises(MocapError, match="no matching .asf"):
        read_amc_with_skeleton(lonely / "lonely_01.amc")
