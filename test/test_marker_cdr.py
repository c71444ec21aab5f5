"""The bulk MarkerArray serializer equals rclpy's own objects, field for field (no spinning)."""
import numpy as np
import pytest

pytest.importorskip("rclpy", reason="rclpy is not installed")

from builtin_interfaces.msg import Duration, Time  # noqa: E402
from geometry_msgs.msg import Point  # noqa: E402
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from std_msgs.msg import ColorRGBA, Header  # noqa: E402
from visualization_msgs.msg import Marker, MarkerArray  # noqa: E402

from learned_energy_ros.ros.marker_cdr import MarkerSpec, marker_array_cdr  # noqa: E402
from learned_energy_ros.ros.markers import cube_list_cdr, skeletons_to_cdr  # noqa: E402

RNG = np.random.default_rng(0)


def reference(stamp, frame_id, spec) -> Marker:
    """The same marker built the slow way, through rclpy's message classes."""
    m = Marker()
    m.header = Header(stamp=Time(sec=stamp[0], nanosec=stamp[1]), frame_id=frame_id)
    m.ns, m.id, m.type, m.action = spec.ns, spec.id, spec.type, spec.action
    m.pose.position = Point(x=spec.position[0], y=spec.position[1], z=spec.position[2])
    m.scale.x, m.scale.y, m.scale.z = map(float, spec.scale)
    r, g, b, a = np.float32(spec.color).tolist()  # ColorRGBA holds float32
    m.color = ColorRGBA(r=r, g=g, b=b, a=a)
    m.lifetime = Duration(sec=spec.lifetime[0], nanosec=spec.lifetime[1])
    if spec.points is not None:
        m.points = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in spec.points]
    if spec.colors is not None:
        m.colors = [ColorRGBA(r=r, g=g, b=b, a=a) for r, g, b, a in np.float32(spec.colors).tolist()]
    m.text = spec.text
    return m


@pytest.mark.parametrize("frame_id", ["", "c", "camera_optical_frame", "üñí"])
def test_bulk_serialization_equals_rclpy_messages(frame_id):
    specs = [
        MarkerSpec("person_3", 0, Marker.SPHERE_LIST, Marker.ADD, scale=(0.05, 0.05, 0.05), color=(0.1, 0.2, 0.3, 1.0),
                   lifetime=(0, 500_000_000), points=RNG.normal(size=(17, 3))),
        MarkerSpec("p", 2, Marker.TEXT_VIEW_FACING, Marker.ADD, position=(1.0, -2.0, 3.5), scale=(0, 0, 0.1),
                   text="id 3  E=0.5", colors=RNG.uniform(size=(2, 4)).astype(np.float32)),
        MarkerSpec("person_12", 1, Marker.ARROW, Marker.DELETE),
        MarkerSpec("odd", 7, Marker.CUBE_LIST, Marker.ADD, points=RNG.normal(size=(1, 3)), text="x" * 5),
    ]
    data = marker_array_cdr((12, 345), frame_id, specs)
    got = deserialize_message(data, MarkerArray)
    assert got == MarkerArray(markers=[reference((12, 345), frame_id, s) for s in specs])
    # and rclpy reads back what it writes for the same message (padding bytes aside)
    assert deserialize_message(serialize_message(got), MarkerArray) == got


def test_skeleton_and_cube_lists_in_bulk():
    header = Header(stamp=Time(sec=5, nanosec=7), frame_id="cam")
    joints = RNG.normal(size=(3, 17, 3)) + [0, 0, 4]
    arr = deserialize_message(skeletons_to_cdr(header, joints, [4, 9, 11], energies=[0.1, 0.2, 0.3], deleted_ids=[2]),
                              MarkerArray)
    spheres = [m for m in arr.markers if m.type == Marker.SPHERE_LIST]
    assert [m.ns for m in spheres] == ["person_4", "person_9", "person_11"]
    assert np.allclose([[p.x, p.y, p.z] for p in spheres[1].points], joints[1])
    assert {m.ns for m in arr.markers if m.action == Marker.DELETE} == {"person_2"}
    cubes = deserialize_message(cube_list_cdr(header, np.ones((5, 3)), 0.1, colors=np.full((5, 4), 0.5)),
                                MarkerArray).markers
    assert len(cubes) == 1 and len(cubes[0].points) == 5 and cubes[0].colors[4].a == pytest.approx(0.5)
