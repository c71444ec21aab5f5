"""The MediaPipe detector on real photographs, offline; lifts of real detections are anatomically plausible.

No 3D ground truth exists for these images: the checks are what a person can
judge (docs/benchmarks/real.md gives the figures). Skipped, with the reason,
where the [detector] extra or the sample images are not installed.
"""
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from learned_energy_ros.detect.mediapipe_backend import mediapipe_available
from learned_energy_ros.detect.samples import SampleMissing, astronaut, basketball

pytestmark = [pytest.mark.skipif(not mediapipe_available(), reason="mediapipe ([detector] extra) is not installed"),
              pytest.mark.timeout(240)]

NO_NETWORK_SCRIPT = textwrap.dedent("""
    import socket, sys
    attempts = []
    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network blocked by the test")
    class NoSocket(socket.socket):
        def __init__(self, family=-1, *args, **kwargs):
            if family in (socket.AF_INET, socket.AF_INET6):
                refuse(family)
            super().__init__(family, *args, **kwargs)
    socket.socket = NoSocket
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    from learned_energy_ros.detect import KeypointDetector
    from learned_energy_ros.detect.mediapipe_backend import MediaPipePose
    from learned_energy_ros.detect.samples import astronaut
    found = KeypointDetector(MediaPipePose()).detect(astronaut())
    print("PEOPLE", len(found), "SOCKETS", len(attempts))
    sys.exit(0 if attempts == [] else 3)
""")


def _unshare_works() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.parametrize("isolation", ["python-sockets", "network-namespace"])
def test_detector_runs_with_the_network_blocked(isolation):
    command = [sys.executable, "-c", NO_NETWORK_SCRIPT]
    if isolation == "network-namespace":
        if not _unshare_works():
            pytest.skip("unshare -n is not permitted here (needs root or user namespaces)")
        command = ["unshare", "-n"] + command  # no interface but loopback: a download would fail
    done = subprocess.run(command, capture_output=True, text=True, timeout=200,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "PEOPLE 1 SOCKETS 0" in done.stdout


@pytest.fixture(scope="module")
def lifted():
    from learned_energy_ros.detect.real_stage import RealLifter, lift_real_images

    images = []
    for name, load in (("astronaut", astronaut), ("basketball1", lambda: basketball(1)),
                       ("basketball2", lambda: basketball(2))):
        try:
            images.append((name, load(), 1))
        except SampleMissing:
            continue
    if not images:
        pytest.skip("no real sample image installed (scikit-image / opencv-doc)")
    lifter = RealLifter(device="cpu")
    try:
        return lift_real_images(images, lifter)
    finally:
        lifter.close()


def _rows(frames):
    from learned_energy_ros.detect.real_stage import plausibility_table
    return plausibility_table(frames)


def test_every_real_image_yields_its_people(lifted):
    counts = {f.name: len(f.detections) for f in lifted}
    assert counts.get("astronaut", 1) == 1
    for name in ("basketball1", "basketball2"):
        assert counts.get(name, 2) == 2, counts


def test_head_above_hips_for_every_upright_person(lifted):
    rows = _rows(lifted)
    assert rows and all(r["head_above_hips_m"] > 0.3 for r in rows), [(r["image"], r["head_above_hips_m"]) for r in rows]


def test_reprojection_onto_the_detected_2d_within_a_few_percent_of_body_height(lifted):
    for r in _rows(lifted):
        assert r["reprojection_px"] < 0.04 * r["height_px"], (r["image"], r["id"], r["reprojection_px"], r["height_px"])


def _split_players(rows):
    """basketball*: the player on the left stands whole in the frame, facing the camera; the one on the
    right is cut by the right and bottom edges and turned away (BlazePose's legs for him are guesses)."""
    clear, cut = [], []
    for image in ("basketball1", "basketball2"):
        players = sorted((r for r in rows if r["image"] == image), key=lambda r: r["x0"])
        clear += players[:1]
        cut += players[1:]
    return clear + [r for r in rows if r["image"] == "astronaut"], cut


def test_clearly_seen_people_have_training_bone_ratios_and_left_right_kept(lifted):
    rows = _rows(lifted)
    for r, frame_box in zip(rows, [b for f in lifted for b in f.detections.boxes]):
        r["x0"] = float(frame_box[0])
    clear, cut = _split_players(rows)
    assert len(clear) >= 2
    for r in clear:
        assert r["ratio_violations"] == {}, (r["image"], r["ratios"])
        assert r["left_right_consistent"] is True, (r["image"], r["facing_2d_px"], r["facing_3d"])
    # the whole, frontal players are judged; the astronaut's legs are outside the picture, so hers are not
    assert all(r["ratios_judged"] for r in clear if r["image"] != "astronaut")
    assert not any(r["ratios_judged"] for r in clear if r["image"] == "astronaut")
    for r in cut:  # the checks are not blind: the cut-off, turned-away player is flagged
        assert r["ratio_violations"] or r["left_right_consistent"] is False, (r["image"], r["ratios"])


def test_swapping_left_and_right_in_3d_is_caught(lifted):
    from learned_energy_ros.core.skeleton import get_skeleton
    from learned_energy_ros.detect.plausibility import facing_sign_2d, facing_sign_3d

    frame = next(f for f in lifted if f.name.startswith("basketball") or f.name == "astronaut")
    flip = get_skeleton("h36m17").flip_permutation
    joints, det = frame.joints[0], frame.detections
    assert np.sign(facing_sign_3d(joints)) == np.sign(facing_sign_2d(det.keypoints[0], det.scores[0]))
    assert np.sign(facing_sign_3d(joints[flip])) != np.sign(facing_sign_2d(det.keypoints[0], det.scores[0]))


def test_bone_ratios_are_judged_only_against_a_seen_leg():
    from learned_energy_ros.core.skeleton import get_skeleton
    from learned_energy_ros.detect.plausibility import leg_seen

    skeleton = get_skeleton("mediapipe33")
    scores = np.ones(len(skeleton))
    assert leg_seen(scores)
    for joint in ("left_ankle", "right_knee"):  # one joint of each leg missing: no whole leg seen
        scores[skeleton.index(joint)] = 0.0
    assert not leg_seen(scores)
    scores[skeleton.index("right_knee")] = 0.5  # the right leg complete again
    assert leg_seen(scores)
