"""package.xml: every dependency must resolve with rosdep on a fresh ROS machine (rosdistro index + rosdep keys)."""
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


def dependencies() -> list[str]:
    tree = ET.parse(ROOT / "package.xml")
    return [e.text.strip() for tag in DEPEND_TAGS for e in tree.getroot().iter(tag)]


def test_package_xml_lists_dependencies():
    deps = dependencies()
    assert "rclpy" in deps and "sensor_msgs" in deps and "python3-pytorch-pip" in deps
    assert "rclpy_lifecycle" not in deps  # no such package in any distribution


@pytest.mark.parametrize("distro", DISTROS)
def test_every_dependency_resolves(lists, distro):
    missing = [d for d in dependencies() if d not in lists[distro] and d not in lists["keys"]]
    assert not missing, f"not released in {distro} and not a rosdep key: {missing}"
