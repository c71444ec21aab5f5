"""voxel_io conversions without spinning: Detection2D boxes, class ids, the occupancy grid message; parameter checks."""
import math
from types import SimpleNamespace as NS

import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

from learned_energy_ros.ros.errors import ConversionError  # noqa: E402
from learned_energy_ros.ros.voxel_io import class_number, detections_to_boxes, transform_to_plane  # noqa: E402
from learned_energy_ros.ros.voxel_params import VOXEL_PARAMETERS, check_values  # noqa: E402


def det(cx, cy, sx, sy, theta=0.0, results=()):
    """A Detection2D-shaped object (vision_msgs >= 4 field names)."""
    centre = NS(position=NS(x=cx, y=cy), theta=theta)
    return NS(bbox=NS(center=centre, size_x=sx, size_y=sy),
              results=[NS(hypothesis=NS(class_id=c, score=s)) for c, s in results])


def test_detections_become_boxes_with_their_best_class():
    msg = NS(detections=[det(50, 40, 20, 10, results=[("cup", 0.3), ("bowl", 0.8)]), det(10, 10, 4, 2),
                         det(0, 0, 10, 0), det(float("nan"), 0, 3, 3),
                         det(100, 100, 20, 10, theta=math.pi / 2, results=[("7", 0.5)])])
    boxes, bad = detections_to_boxes(msg)
    assert [(b.index, b.class_id, b.score) for b in boxes] == [(0, "bowl", 0.8), (1, "", 1.0), (4, "7", 0.5)]
    assert boxes[0].roi == (40.0, 35.0, 20.0, 10.0) and boxes[1].roi == (8.0, 9.0, 4.0, 2.0)
    assert boxes[2].roi == pytest.approx((95.0, 90.0, 10.0, 20.0))  # a quarter turn swaps width and height
    assert [i for i, _ in bad] == [2, 3] and all("positive size" in why for _, why in bad)
    old = NS(detections=[NS(bbox=NS(center=NS(x=5.0, y=6.0, theta=0.0), size_x=2.0, size_y=2.0), results=[])])
    assert detections_to_boxes(old)[0][0].roi == (4.0, 5.0, 2.0, 2.0)  # vision_msgs 3: Pose2D with x, y


def test_class_numbers():
    assert [class_number(c) for c in ("39", " 0 ", "-2", "cup", "", "1.5", str(2**40))] == [39, 0, -2, -1, -1, -1, -1]


def test_tf_transform_becomes_the_support_plane():
    # optical -> plane frame of a level camera 0.7 m up: (x, y, z)_optical -> (z, -x, -y) + (0, 0, 0.7)
    tf = NS(rotation=NS(x=-0.5, y=0.5, z=-0.5, w=0.5), translation=NS(x=1.0, y=2.0, z=0.7))
    plane = transform_to_plane(tf)
    np.testing.assert_allclose(plane.rotation, [[0, 0, 1], [-1, 0, 0], [0, -1, 0]], atol=1e-12)
    assert plane.height == 0.7 and plane.intersect(np.array([0.0, 0.7, 1.0])) == pytest.approx(1.0)
    below = NS(rotation=NS(x=0.0, y=0.0, z=0.0, w=1.0), translation=NS(x=0.0, y=0.0, z=-1.0))
    with pytest.raises(ValueError, match="above the support plane"):
        transform_to_plane(below)


def test_grid_message_in_the_plane_frame_and_in_the_optical_frame():
    pytest.importorskip("nav_msgs", reason="nav_msgs is not installed")
    from std_msgs.msg import Header
    from learned_energy_ros.ros.voxel_io import grid_to_message
    from learned_energy_ros.vox.ground_grid import GridSpec
    from learned_energy_ros.vox.placement import SupportPlane
    spec = GridSpec(0.5, (2.0, 1.0), (1.0, -0.5))
    cells = np.array([[-1, 0, 100, 0], [0, 0, 0, 100]], np.int8)  # (height 2, width 4)
    msg = grid_to_message(cells, spec, Header(frame_id="map"))
    assert (msg.info.width, msg.info.height, msg.info.resolution) == (4, 2, 0.5)
    assert list(msg.data) == [-1, 0, 100, 0, 0, 0, 0, 100]
    assert (msg.info.origin.position.x, msg.info.origin.position.y, msg.info.origin.orientation.w) == (1.0, -0.5, 1.0)
    plane = SupportPlane.from_height_pitch(2.0, 90.0)  # looking straight down from 2 m, image top = ahead
    msg = grid_to_message(cells, spec, Header(frame_id="cam"), plane)
    p = msg.info.origin.position
    # corner (1, -0.5) on the floor: 1 m toward the image top (-y), 0.5 m to the right (+x), 2 m deep
    assert (p.x, p.y, p.z) == pytest.approx((0.5, -1.0, 2.0))


def _values(**changes):
    return {**{k: v[0] for k, v in VOXEL_PARAMETERS.items()}, **changes}


@pytest.mark.parametrize("changes, message", [
    ({"far": float("inf")}, "near < far"),
    ({"roi": [10.0, 10.0, float("nan"), 50.0]}, "roi"),
    ({"camera_height": 1.0, "support_plane": [0.0, -1.0, 0.0, 1.0]}, "both set the support plane"),
    ({"plane_frame": "base_footprint", "camera_height": 1.0}, "both set the support plane"),
    ({"camera_height": 1.0, "camera_pitch": 95.0}, "camera_pitch"),
    ({"camera_height": -1.0}, "camera_height"),
    ({"support_plane": [0.0, -1.0, 0.0, 0.0]}, "above the support plane"),
    ({"support_plane": [0.0, 0.0, 0.0, 1.0]}, "support plane needs"),
    ({"box_padding": 0.5}, "box_padding"),
    ({"max_objects": 0}, "max_objects"),
    ({"object_depth_ratio": float("nan")}, "object_depth_ratio"),
    ({"grid_resolution": 0.0}, "grid_resolution"),
    ({"grid_size": [4.0, 4.0, 1.0]}, "grid needs"),
    ({"grid_size": [1000.0, 1000.0], "grid_resolution": 0.01}, "cells"),
])
def test_bad_object_and_grid_parameters_are_refused(changes, message):
    check_values(_values())  # the defaults pass
    with pytest.raises(ValueError, match=message):
        check_values(_values(**changes))


def test_person_hint_boxes_read_both_vision_msgs_layouts_and_filter_by_best_class():
    """The pose node's hint boxes share the box reader: vision_msgs 3 and 4, rotated boxes, best hypothesis."""
    from learned_energy_ros.ros.pose_io import detections_to_boxes as person_boxes

    old = NS(id="7", bbox=NS(center=NS(x=5.0, y=6.0, theta=0.0), size_x=2.0, size_y=4.0),
             results=[NS(hypothesis=NS(class_id="person", score=0.9))])
    new = det(50, 40, 20, 10, results=[("person", 0.2), ("dog", 0.7)])
    new.id = "8"
    boxes, ids = person_boxes(NS(detections=[old, new]), ["person"])
    assert ids == ["7"] and boxes.tolist() == [[4.0, 4.0, 6.0, 8.0]]  # the dog box is left out
    boxes, ids = person_boxes(NS(detections=[old, new]), [])
    assert ids == ["7", "8"] and boxes[1].tolist() == [40.0, 35.0, 60.0, 45.0]
    with pytest.raises(ConversionError, match="positive size"):
        person_boxes(NS(detections=[det(1, 1, 0, 3)]), [])
