"""PosePipeline validation, tracking, smoothing hand-off and energy filter (ROS-free).

The lifter here is a *test double* (``RecordingLifter``): it back-projects the
2D input to a fixed depth so the pipeline's own logic can be checked without a
trained model. The real lifter is exercised by the node integration tests.
"""
import math
from types import SimpleNamespace

import numpy as np
import pytest

from learned_energy_ros.core.camera import Camera
from learned_energy_ros.core.skeleton import get_skeleton, joint_mapping
from learned_energy_ros.pose.pipeline import FrameSkipped, KeypointFrame, PipelineConfig, PosePipeline

CAM_A = Camera.pinhole(500, 500, 320, 240, 640, 480, "cam")
CAM_B = Camera(np.array([[300.0, 0, 330], [0, 300, 250], [0, 0, 1]]), [-0.1, 0.01, 0, 0, 0], "plumb_bob", 640, 480, "cam")


class RecordingLifter:
    """Test double: h36m17 joints at 3 m depth under each input joint; energy from ``energies``."""

    def __init__(self, energies=None):
        self.calls = []
        self.energies = energies

    def lift(self, keypoints_px, scores, camera, input_skeleton="coco17", previous=None, steps=None,
             temporal_weight=None, previous_dt=None, height_prior=None, **_):
        self.calls.append(SimpleNamespace(previous=previous, steps=steps, temporal_weight=temporal_weight,
                                          previous_dt=previous_dt, height_prior=height_prior))
        xy = camera.normalize(keypoints_px.astype(np.float64))
        mapping = joint_mapping(input_skeleton, "h36m17")
        joints = np.zeros((len(xy), 17, 3))
        joints[:, :, :2] = 3.0 * xy[:, np.maximum(mapping, 0)]
        joints[:, :, 2] = 3.0
        energy = np.zeros(len(xy)) if self.energies is None else np.asarray(self.energies[: len(xy)], float)
        return SimpleNamespace(joints=joints.astype(np.float32), energy=energy, skeleton=get_skeleton("h36m17"))


def detections(n=2, stamp=0.0, camera=CAM_A, ids=None):
    rng = np.random.default_rng(int(stamp * 100))
    kp = np.stack([np.column_stack([np.linspace(200, 260, 17), np.linspace(100, 400, 17)]) + [150 * i, 0]
                   for i in range(n)]) + rng.normal(scale=0.5, size=(n, 17, 2))
    return KeypointFrame(stamp, camera, kp, np.full((n, 17), 0.9), np.arange(n) if ids is None else np.asarray(ids))


def test_tracks_and_warm_start_previous_on_second_frame():
    lifter = RecordingLifter()
    pipe = PosePipeline(lifter, PipelineConfig(temporal_weight=2.0, num_steps=3))
    first = pipe.process(detections(stamp=0.0))
    second = pipe.process(detections(stamp=0.1))
    assert first.track_ids.tolist() == second.track_ids.tolist() == [0, 1]
    assert lifter.calls[0].previous is None
    np.testing.assert_allclose(lifter.calls[1].previous, first.joints)
    assert lifter.calls[1].temporal_weight == 2.0 and lifter.calls[1].steps == 3
    assert second.joints.shape == (2, 17, 3) and second.confidence.shape == (2, 17)
    np.testing.assert_allclose(lifter.calls[1].previous_dt, [0.1, 0.1])  # the real time since each track's 3D
    pipe.process(detections(n=1, stamp=0.35))  # a frame with one person only: track 1 keeps its older skeleton
    pipe.process(detections(stamp=0.4))
    np.testing.assert_allclose(lifter.calls[3].previous_dt, [0.05, 0.3])
    assert lifter.calls[3].height_prior is None
    pipe.reconfigure(person_height_prior=1.2)
    pipe.process(detections(stamp=0.45))
    assert lifter.calls[4].height_prior == 1.2


def test_zero_temporal_weight_disables_smoothing():
    lifter = RecordingLifter()
    pipe = PosePipeline(lifter, PipelineConfig(temporal_weight=0.0))
    pipe.process(detections(stamp=0.0))
    pipe.process(detections(stamp=0.1))
    assert lifter.calls[1].previous is None and lifter.calls[1].temporal_weight is None


def test_energy_filter_drops_and_reports_implausible_skeletons():
    pipe = PosePipeline(RecordingLifter(energies=[0.5, 7.0]), PipelineConfig(max_energy=1.0))
    result = pipe.process(detections(stamp=0.0))
    assert result.track_ids.tolist() == [0] and result.rejected == [1] and result.energy.tolist() == [0.5]
    assert pipe.tracker.tracks[1].joints3d is None  # a rejected skeleton never warm-starts the next frame


@pytest.mark.parametrize("mutate, reason", [
    (lambda f: f.keypoints.__setitem__((0, 3, 0), np.nan), "invalid_keypoints"),
    (lambda f: setattr(f, "keypoints", f.keypoints[:, :12]), "skeleton_mismatch"),
    (lambda f: setattr(f, "stamp", -1.0), "out_of_order"),
    (lambda f: setattr(f, "stamp", math.nan), "bad_stamp"),
])
def test_bad_frames_are_skipped_with_a_reason_and_state_kept(mutate, reason):
    pipe = PosePipeline(RecordingLifter())
    pipe.process(detections(stamp=0.0))
    frame = detections(stamp=0.1)
    mutate(frame)
    with pytest.raises(FrameSkipped) as info:
        pipe.process(frame)
    assert info.value.reason == reason and pipe.last_stamp == 0.0
    assert pipe.process(detections(stamp=0.2)).track_ids.tolist() == [0, 1]  # keeps working


def test_nan_on_a_missing_joint_is_fine():
    pipe = PosePipeline(RecordingLifter())
    frame = detections(stamp=0.0)
    frame.keypoints[0, 2] = np.nan
    frame.scores[0, 2] = 0.0
    assert len(pipe.process(frame).track_ids) == 2


def test_camera_change_is_flagged_once_and_keeps_tracks():
    pipe = PosePipeline(RecordingLifter())
    pipe.process(detections(stamp=0.0, camera=CAM_A))
    # the same 3D people seen through camera B: project the A back-projections through B
    frame_a = detections(stamp=0.1, camera=CAM_A)
    rays = np.concatenate([CAM_A.normalize(frame_a.keypoints), np.ones((2, 17, 1))], -1) * 3.0
    frame_b = KeypointFrame(0.1, CAM_B, CAM_B.project(rays), frame_a.scores, frame_a.person_ids + 10)
    swapped = pipe.process(frame_b)
    assert swapped.camera_changed and swapped.track_ids.tolist() == [0, 1]  # normalized coords: tracks survive
    assert not pipe.process(detections(stamp=0.2, camera=CAM_B)).camera_changed


def test_too_few_joints_and_empty_frames():
    pipe = PosePipeline(RecordingLifter(), PipelineConfig(min_joints=6))
    frame = detections(stamp=0.0)
    frame.scores[1, 4:] = 0.0  # 4 visible joints
    result = pipe.process(frame)
    assert result.track_ids.tolist() == [0] and result.too_few_joints == 1
    empty = pipe.process(KeypointFrame(0.1, CAM_A, np.zeros((0, 17, 2)), np.zeros((0, 17)), np.zeros(0, int)))
    assert empty.joints.shape == (0, 17, 3)


def test_vanished_tracks_after_timeout():
    pipe = PosePipeline(RecordingLifter(), PipelineConfig(track_timeout=0.3))
    pipe.process(detections(n=2, stamp=0.0))
    pipe.process(detections(n=1, stamp=0.2))
    assert pipe.process(detections(n=1, stamp=0.4)).vanished == [1]


def test_reconfigure_validates_and_applies():
    pipe = PosePipeline(RecordingLifter())
    with pytest.raises(ValueError):
        pipe.reconfigure(min_score=2.0)
    with pytest.raises(KeyError):
        pipe.reconfigure(input_skeleton="no_such_layout")
    assert pipe.config.min_score == 0.2
    pipe.reconfigure(track_timeout=3.0, input_skeleton="body25")
    assert pipe.tracker.config.timeout_s == 3.0 and pipe.config.input_skeleton == "body25"
    with pytest.raises(FrameSkipped, match="skeleton_mismatch"):
        pipe.process(detections(stamp=0.0))  # 17-joint input against a body25 node


def test_confidence_uses_input_scores_and_person_mean_for_missing_joints():
    pipe = PosePipeline(RecordingLifter())
    frame = detections(n=1, stamp=0.0)
    frame.scores[0] = np.linspace(0.3, 0.9, 17)
    conf = pipe.process(frame).confidence[0]
    h36m = get_skeleton("h36m17")
    assert conf[h36m.index("left_wrist")] == pytest.approx(frame.scores[0, get_skeleton("coco17").index("left_wrist")])
    assert conf[h36m.index("pelvis")] == pytest.approx(frame.scores[0].mean())


class NoisyDepthLifter(RecordingLifter):
    """Test double whose depth jitters frame to frame, like a monocular size estimate."""

    def __init__(self):
        super().__init__()
        self.rng = np.random.default_rng(0)

    def lift(self, *args, **kwargs):
        result = super().lift(*args, **kwargs)
        result.joints = result.joints * np.float32(1 + self.rng.normal(scale=0.05))
        return result


def test_depth_filter_cuts_distance_jitter_and_keeps_the_2d_fit():
    def run(cutoff):
        pipe = PosePipeline(NoisyDepthLifter(), PipelineConfig(depth_cutoff=cutoff, temporal_weight=0.0))
        frames = [pipe.process(detections(n=1, stamp=i / 15)) for i in range(45)]
        return np.stack([f.joints[0] for f in frames]), frames
    raw, _ = run(0.0)
    smooth, frames = run(1.0)
    depth = lambda j: np.linalg.norm(j.mean(axis=1), axis=-1)  # noqa: E731
    assert np.std(np.diff(depth(smooth)[15:])) < 0.5 * np.std(np.diff(depth(raw)[15:]))
    # rescaling about the camera centre does not move the reprojection
    np.testing.assert_allclose(CAM_A.project(smooth[-1]), CAM_A.project(raw[-1]), atol=1e-3)


def test_smoothing_parameter_sets_map_to_pipeline_settings():
    pytest.importorskip("sensor_msgs", reason="learned_energy_ros.ros needs ROS 2 messages")
    from learned_energy_ros.ros.params import pipeline_settings, smoothing_parameters
    off = PipelineConfig(**pipeline_settings(smoothing_parameters(False)))
    on = PipelineConfig(**pipeline_settings(smoothing_parameters(True)))
    assert off.temporal_weight == 0 and off.depth_cutoff == 0
    assert on.temporal_weight > 0 and on.depth_cutoff > 0


class NormalizedRecordingLifter(RecordingLifter):
    """Test double with the batched entry point: records the keypoint noise it is told (normalized units)."""

    def lift_normalized(self, keypoints, scores, input_skeleton="coco17", keypoint_noise=None, **kwargs):
        self.calls.append(SimpleNamespace(keypoint_noise=np.asarray(keypoint_noise)))
        joints = np.zeros((len(keypoints), 17, 3), np.float32)
        joints[..., 2] = 3.0
        return SimpleNamespace(joints=joints, energy=np.zeros(len(keypoints)), skeleton=get_skeleton("h36m17"))


def test_keypoint_noise_reaches_the_lifter_in_each_cameras_units():
    lifter = NormalizedRecordingLifter()
    pipe = PosePipeline(lifter)
    pipe.process(detections(n=2, stamp=0.0))
    np.testing.assert_allclose(lifter.calls[-1].keypoint_noise, [2.0 / 500] * 2)  # default 2 px, f = 500 px
    pipe.reconfigure(keypoint_noise_px=8.0)
    pipe.process(detections(n=2, stamp=0.1, camera=Camera.pinhole(1000, 1000, 320, 240, 640, 480, "cam")))
    np.testing.assert_allclose(lifter.calls[-1].keypoint_noise, [8.0 / 1000] * 2)
    for bad in (-1.0, 101.0, float("nan")):
        with pytest.raises(ValueError, match="keypoint_noise_px"):
            pipe.reconfigure(keypoint_noise_px=bad)
    assert pipe.config.keypoint_noise_px == 8.0
