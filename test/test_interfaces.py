"""The interface packages built for pip users (interfaces/, scripts/build_interfaces.py) carry the official type hashes.

A message with another hash than the upstream one does not talk to real ROS 2 machines. The
official hashes are in ../shared/ros/interfaces/HASHES.md; the built ones are read where they
matter, from a live publisher (what DDS announces), and for services and actions from the
installed type descriptions.
"""
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from learned_energy_ros.data.paths import package_root, shared_dir
from ros_fixtures import require_interfaces

pytest.importorskip("rclpy", reason="rclpy is not installed")

PACKAGES = ("tf2_msgs", "vision_msgs", "hri_msgs")


@pytest.fixture(scope="module")
def official() -> dict:
    """``pkg/kind/Type`` -> official RIHS01 hash, from the shared HASHES.md."""
    shared = shared_dir()
    table = shared / "ros" / "interfaces" / "HASHES.md" if shared is not None else None
    if table is None or not table.is_file():
        pytest.skip("../shared/ros/interfaces/HASHES.md not found: no official hashes to compare with")
    return dict(re.findall(r"^\| (\w+/\w+/\w+) \| `(RIHS01_[0-9a-f]{64})`", table.read_text(), re.M))


def message_types(package: str) -> dict:
    module = importlib.import_module(f"{package}.msg")
    return {name: cls for name, cls in vars(module).items()
            if isinstance(cls, type) and hasattr(cls, "get_fields_and_field_types")}


@pytest.mark.parametrize("package", PACKAGES)
def test_every_message_announces_the_official_hash(ctx, official, package):
    require_interfaces(package)
    import rclpy
    types = message_types(package)
    expected = {name.split("/")[-1]: h for name, h in official.items() if name.startswith(f"{package}/msg/")}
    assert expected, f"HASHES.md lists no {package} messages"
    assert set(types) == set(expected), f"built {sorted(types)} but upstream has {sorted(expected)}"
    node = rclpy.create_node(f"hash_check_{package}", context=ctx)
    try:
        wrong = {}
        for name, cls in sorted(types.items()):
            topic = f"/hash_check/{package}/{name}"
            node.create_publisher(cls, topic, 1)
            (info,) = node.get_publishers_info_by_topic(topic)
            if str(info.topic_type_hash) != expected[name]:
                wrong[name] = (str(info.topic_type_hash), expected[name])
    finally:
        node.destroy_node()
    assert not wrong, f"{package}: (built, official) hashes differ: {wrong}"


def _share_dir(package: str) -> Path | None:
    """``share/<package>`` of the prefix the Python package was installed into (``<prefix>/lib/pythonX.Y/...``)."""
    module = importlib.import_module(package)
    for parent in Path(module.__file__).resolve().parents:
        if (parent / "share" / package / "package.xml").is_file():
            return parent / "share" / package
    return None


@pytest.mark.parametrize("kind_type", ["srv/FrameGraph", "action/LookupTransform"])
def test_tf2_service_and_action_have_the_official_hash(official, kind_type):
    require_interfaces("tf2_msgs")
    share = _share_dir("tf2_msgs")
    if share is None:
        pytest.skip("tf2_msgs has no share/ folder beside its Python package: cannot read its type descriptions")
    description = json.loads((share / f"{kind_type}.json").read_text())
    name = f"tf2_msgs/{kind_type}"
    hashes = {h["type_name"]: h["hash_string"] for h in description["type_hashes"]}
    assert hashes[name] == official[name]


def test_second_build_run_builds_nothing():
    """``scripts/env.sh`` runs the build on every call: once built (or provided by ROS), nothing is rebuilt."""
    require_interfaces(*PACKAGES)
    script = package_root() / "scripts" / "build_interfaces.py"
    if not script.is_file():
        pytest.skip("not a source checkout: scripts/build_interfaces.py is absent")
    run = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, f"a rebuild would happen:\n{run.stdout}{run.stderr}"
    assert "building" not in run.stdout
