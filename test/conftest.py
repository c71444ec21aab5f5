"""Shared test setup: isolate ROS 2 traffic of this test session.

Set before anything imports rclpy, and inherited by subprocesses: discovery is
limited to localhost and the domain id is private to this pytest process, so
parallel sessions (other helpers, CI jobs) never see each other's topics.
"""
import gc
import os

import pytest

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_LOCALHOST_ONLY", "1")  # spelling of older distros
# 1..101: valid on every OS, avoiding 0 (the default everybody else uses)
os.environ["ROS_DOMAIN_ID"] = str(1 + os.getpid() % 101)


@pytest.fixture(scope="session")
def ros_domain_id() -> int:
    """The private ROS_DOMAIN_ID of this test session."""
    return int(os.environ["ROS_DOMAIN_ID"])


@pytest.fixture(scope="module")
def ctx():
    """A private rclpy context for one test module (its nodes are created in it, not in the global one)."""
    import rclpy

    context = rclpy.Context()
    rclpy.init(context=context)
    yield context
    rclpy.shutdown(context=context)  # destroys the module's nodes
    gc.collect()  # and finalizes their handles now, not during a later module's DDS traffic
