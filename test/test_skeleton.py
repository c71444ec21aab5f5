"""Skeleton layouts: names, bones, symmetry and name-based remapping."""
import numpy as np
import pytest

from learned_energy_ros.core.skeleton import (
    MOCAP_SKELETON, TRAINING_SKELETON, SkeletonError, get_skeleton, joint_mapping, register_skeleton, remap_joints,
    skeleton_names,
)

H36M_ORDER = ["pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle", "spine", "thorax",
              "neck", "head", "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist"]


def test_layout_sizes_and_training_skeleton_order():
    sizes = {name: len(get_skeleton(name)) for name in skeleton_names()}
    assert sizes["coco17"] == 17 and sizes["coco18"] == 18 and sizes["body25"] == 25 and sizes["mediapipe33"] == 33
    assert list(get_skeleton(TRAINING_SKELETON).joints) == H36M_ORDER
    assert list(get_skeleton(MOCAP_SKELETON).joints[:17]) == H36M_ORDER


@pytest.mark.parametrize("name", ["coco17", "coco18", "body25", "mediapipe33", "h36m17", "mocap27"])
def test_flip_permutation_is_an_involution_that_swaps_sides(name):
    skel = get_skeleton(name)
    perm = skel.flip_permutation
    assert np.array_equal(perm[perm], np.arange(len(skel)))
    for i, joint in enumerate(skel.joints):
        if joint.startswith("left_"):
            assert skel.joints[perm[i]] == "right_" + joint[5:]


def test_coco17_known_indices():
    coco = get_skeleton("coco17")
    assert coco.index("nose") == 0 and coco.index("left_wrist") == 9 and coco.index("right_ankle") == 16


def test_mapping_by_name_between_layouts():
    mapping = joint_mapping("coco17", "h36m17")
    coco = get_skeleton("coco17")
    h36m = get_skeleton("h36m17")
    for target_index, source_index in enumerate(mapping):
        if source_index >= 0:
            assert coco.joints[source_index] == h36m.joints[target_index]
    assert mapping[h36m.index("pelvis")] == -1  # COCO has no pelvis
    assert (mapping >= 0).sum() == 12  # shoulders, elbows, wrists, hips, knees, ankles


def test_remap_marks_missing_joints_with_zero_score():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, 17, 2))
    scores = np.ones((3, 17))
    out, out_scores = remap_joints(values, scores, "coco17", "coco18")
    coco18 = get_skeleton("coco18")
    assert out.shape == (3, 18, 2) and out_scores.shape == (3, 18)
    assert np.all(out_scores[:, coco18.index("thorax")] == 0)  # OpenPose neck is not in COCO-17
    assert np.allclose(out[:, coco18.index("left_wrist")], values[:, get_skeleton("coco17").index("left_wrist")])


def test_remap_rejects_wrong_joint_count():
    with pytest.raises(SkeletonError):
        remap_joints(np.zeros((1, 18, 2)), np.ones((1, 18)), "coco17", "h36m17")


def test_unknown_layout_and_bad_definition():
    with pytest.raises(SkeletonError, match="unknown skeleton layout"):
        get_skeleton("coco99")
    with pytest.raises(SkeletonError):
        register_skeleton("broken", ["a", "b"], [("a", "c")])


def test_adding_a_layout_is_data():
    custom = register_skeleton("test_upper3", ["left_shoulder", "thorax", "right_shoulder"], [("left_shoulder", "thorax"), ("thorax", "right_shoulder")])
    mapping = joint_mapping(custom, "h36m17")
    assert mapping[get_skeleton("h36m17").index("thorax")] == 1
