"""package.xml: every dependency must resolve with rosdep on a fresh ROS machine (rosdistro index + rosdep keys)."""
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from learned_energy_ros.data.paths import shared_dir

ROOT = Path(__file__).resolve().parents[1]
DEPEND_TAGS = ("depend", "build_depend", "build_export_depend", "exec_depend", "test_depend", "buildtool_depend")
DISTROS = ("humble", "jazzy", "kilted")


@pytest.fixture(scope="module")
def lists():
    shared = shared_dir()
    folder = shared / "ros" if shared is not None else None
    if folder is None or not (folder / "rosdep-keys.txt").is_file():
        pytest.skip("rosdistro lists not found (../shared/ros): cannot check package.xml dependencies")
    read = lambda name: set((folder / name).read_text().split())  # noqa: E731
    return {"keys": read("rosdep-keys.txt"), **{d: read(f"{d}-packages.txt") for d in DISTROS}}


def applies(condition: str | None, distro: str) -> bool:
    """Evaluate a REP 149 ``condition`` of the simple form ``$ROS_DISTRO == name`` or ``!=`` (None: always)."""
    if not condition:
        return True
    match = re.fullmatch(r"\s*\$ROS_DISTRO\s*(==|!=)\s*(\w+)\s*", condition)
    assert match, f"condition {condition!r} is not understood by this test: extend applies()"
    return (match.group(2) == distro) == (match.group(1) == "==")


def dependencies(distro: str | None = None) -> list[str]:
    """Every dependency of package.xml; with ``distro``, only those whose condition holds there."""
    tree = ET.parse(ROOT / "package.xml")
    return [e.text.strip() for tag in DEPEND_TAGS for e in tree.getroot().iter(tag)
            if distro is None or applies(e.get("condition"), distro)]


def test_package_xml_lists_dependencies():
    deps = dependencies()
    assert "rclpy" in deps and "sensor_msgs" in deps and "python3-pytorch-pip" in deps
    assert "rclpy_lifecycle" not in deps  # no such package in any distribution


@pytest.mark.parametrize("distro", DISTROS)
def test_every_dependency_resolves(lists, distro):
    missing = [d for d in dependencies(distro) if d not in lists[distro] and d not in lists["keys"]]
    assert not missing, f"not released in {distro} and not a rosdep key: {missing}"


def test_optional_message_packages_are_conditional_where_a_distro_lacks_them():
    assert "hri_msgs" in dependencies("jazzy") and "hri_msgs" not in dependencies("kilted")
    assert {"tf2_ros", "tf2_msgs", "vision_msgs"} <= set(dependencies("kilted"))
