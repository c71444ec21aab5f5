"""Exporter naming conventions as data: source joint names -> ``mocap27`` joint names.

Each convention maps our joint names to a *point spec* on the source skeleton:

* ``"Name"``            the source joint's position;
* ``"Name:end"``        the (first) end site / bone end of that joint;
* ``{"mid": [a, b]}``   the midpoint of two point specs;
* ``{"first": [a, b]}`` the first spec whose joint exists in the file.

``mocap27`` joints a convention leaves out (face points, heels, sometimes toes and the
head top) are approximated from the head / foot orientation (see ``mocap.py``).
A file matches a convention when it contains every joint in ``detect``; the first
matching convention (in ``CONVENTIONS`` order) wins. ``units`` is meters per file
unit (None: decide by the body-size heuristic); ``cgspeed_tpose`` marks converters
that prepend a synthetic T-pose frame 0 to every clip.
"""
from __future__ import annotations

CMU_UNIT = 0.0254 / 0.45  # CMU ASF length unit: 1/0.45 inch, in meters

_MB2_SIDE = {
    "{s}_hip": "{S}UpLeg", "{s}_knee": "{S}Leg", "{s}_ankle": "{S}Foot", "{s}_big_toe": "{S}ToeBase:end",
    "{s}_shoulder": "{S}Arm", "{s}_elbow": "{S}ForeArm", "{s}_wrist": "{S}Hand",
}
_DAZ_SIDE = {
    "{s}_hip": "{c}Thigh", "{s}_knee": "{c}Shin", "{s}_ankle": "{c}Foot", "{s}_big_toe": "{c}Foot:end",
    "{s}_shoulder": "{c}Shldr", "{s}_elbow": "{c}ForeArm", "{s}_wrist": "{c}Hand", "{s}_eye": "{e}Eye",
}
# 3ds Max Biped / Character Studio BVH names (cgspeed's first, "3dsMax-friendly" CMU release
# follows this scheme; taken from the CS BVH import specification, not checked on a release file).
_MAX_SIDE = {
    "{s}_hip": "{S}Hip", "{s}_knee": "{S}Knee", "{s}_ankle": "{S}Ankle", "{s}_big_toe": {"first": ["{S}Toe:end", "{S}Ankle:end"]},
    "{s}_shoulder": "{S}Shoulder", "{s}_elbow": "{S}Elbow", "{s}_wrist": "{S}Wrist",
}
# Original CMU ASF/AMC bone names; a joint sits at the *start* of its bone.
_ASF_SIDE = {
    "{s}_hip": "{c}femur", "{s}_knee": "{c}tibia", "{s}_ankle": "{c}foot", "{s}_big_toe": {"first": ["{c}toes:end", "{c}foot:end"]},
    "{s}_shoulder": "{c}humerus", "{s}_elbow": "{c}radius", "{s}_wrist": "{c}wrist",
}


def _torso(left_hip: str, right_hip: str, left_shoulder: str, right_shoulder: str, head: str) -> dict:
    """Torso points defined by geometry, so they mean the same point in every exporter convention.

    The source skeletons disagree on where their root and spine joints sit (the cgspeed mb2 / ASF root is
    ~10 cm above the hip midpoint, the Daz root ~2.5 cm below it; Daz's ``neck`` is mb2's ``Neck1`` + 4 cm).
    So: pelvis = hip midpoint, thorax = shoulder midpoint, spine = midpoint of those two, neck = midpoint
    of thorax and the skull-base ``head`` joint (which all conventions place within a few cm).
    """
    pelvis = {"mid": [left_hip, right_hip]}
    thorax = {"mid": [left_shoulder, right_shoulder]}
    return {"pelvis": pelvis, "thorax": thorax, "spine": {"mid": [pelvis, thorax]}, "neck": {"mid": [thorax, head]},
            "head": head}


def _sided(template: dict) -> dict:
    """Expand a per-side template for both sides ({s}: left/right, {S}: Left/Right, {c}: l/r, {e}: left/right)."""
    out = {}
    for side, cap, short in (("left", "Left", "l"), ("right", "Right", "r")):
        def fill(spec):
            if isinstance(spec, dict):
                return {k: [fill(v) for v in vs] for k, vs in spec.items()}
            return spec.format(s=side, S=cap, c=short, e=side)
        out.update({key.format(s=side): fill(spec) for key, spec in template.items()})
    return out


CONVENTIONS: dict[str, dict] = {
    "cgspeed_mb2": {
        "description": "CMU BVH, cgspeed Motionbuilder-friendly release (per-subject CMU skeleton)",
        "units": CMU_UNIT,
        "cgspeed_tpose": True,
        "detect": ["Hips", "LeftUpLeg", "LeftLeg", "LeftFoot", "RightUpLeg", "Spine", "Spine1", "Neck1", "Head", "LeftArm", "LeftForeArm", "LeftHand"],
        "joints": {
            **_torso("LeftUpLeg", "RightUpLeg", "LeftArm", "RightArm", "Head"), "head_top": "Head:end", **_sided(_MB2_SIDE),
        },
    },
    "cgspeed_daz": {
        "description": "CMU BVH, cgspeed Daz-friendly hip-corrected release (fixed Aiko3 skeleton, cm)",
        "units": 0.01,
        "cgspeed_tpose": True,
        "detect": ["hip", "abdomen", "chest", "neck", "head", "lThigh", "lShin", "lFoot", "rThigh", "lShldr", "lForeArm", "lHand"],
        "joints": {
            **_torso("lThigh", "rThigh", "lShldr", "rShldr", "head"), **_sided(_DAZ_SIDE),
        },
    },
    "cgspeed_3dsmax": {
        "description": "CMU BVH, cgspeed 3dsMax-friendly release (Character Studio Biped names)",
        "units": None,
        "cgspeed_tpose": True,
        "detect": ["Hips", "LeftHip", "LeftKnee", "LeftAnkle", "RightHip", "Chest", "Neck", "Head", "LeftShoulder", "LeftElbow", "LeftWrist"],
        "joints": {
            **_torso("LeftHip", "RightHip", "LeftShoulder", "RightShoulder", "Head"), "head_top": "Head:end",
            **_sided(_MAX_SIDE),
        },
    },
    "cmu_asf": {
        "description": "original CMU ASF/AMC (bone names; joints at bone starts)",
        "units": CMU_UNIT,
        "cgspeed_tpose": False,
        "detect": ["root", "lfemur", "ltibia", "lfoot", "rfemur", "upperback", "lowerneck", "upperneck", "head", "lhumerus", "lradius", "lwrist"],
        "joints": {
            **_torso("lfemur", "rfemur", "lhumerus", "rhumerus", "head"), "head_top": "head:end", **_sided(_ASF_SIDE),
        },
    },
}

#: Anatomical offsets (meters) of approximated points, in the head frame
#: (forward, left, up) from the skull-base ``head`` joint, for an adult head;
#: eyes ~9 cm forward / 6 cm up, ears lateral at ~4 cm up, nose tip 11 cm forward.
FACE_OFFSETS = {
    "nose": (0.11, 0.0, 0.03),
    "left_eye": (0.09, 0.032, 0.06),
    "right_eye": (0.09, -0.032, 0.06),
    "left_ear": (0.0, 0.075, 0.04),
    "right_ear": (0.0, -0.075, 0.04),
    "head_top": (0.0, 0.0, 0.10),  # same point as the mb2 Head end site (~10 cm above the skull base)
}
#: Foot points (meters) in the rest body frame (forward, left, up) from the ankle, carried by
#: the ankle joint's rotation: heel 6 cm behind and 5 cm below the ankle centre (CMU ankles
#: reach ~3-6 cm above the floor when standing); toe only when the skeleton has no toe point.
FOOT_OFFSETS = {"heel": (-0.06, 0.0, -0.05), "big_toe": (0.16, 0.0, -0.05)}
