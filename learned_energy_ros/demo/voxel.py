"""The demo's object part: one rendered object view through the real ``voxel_reconstructor`` node.

The procedural object scene comes from ``learned_energy_ros.vox.object_scene``; its
image and CameraInfo are published, the node's ``~/occupancy`` cloud is
binned back into the scene's frustum grid and compared with the true
occupancy (IoU). A side-by-side picture input | predicted | true is written.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from learned_energy_ros.demo.session import DemoError

__all__ = ["voxel_part", "occupancy_from_points"]

log = logging.getLogger(__name__)

_IMAGE, _INFO, _OCCUPANCY = "/object_camera/image", "/object_camera/camera_info", "/voxel_reconstructor/occupancy"


def occupancy_from_points(points: np.ndarray, grid) -> np.ndarray:
    """Bin occupied voxel centres (P, 3) (optical frame) into a boolean (R, R, R) grid of ``grid``."""
    R = grid.resolution
    occ = np.zeros((R, R, R), dtype=bool)
    if len(points) == 0:
        return occ
    ijk = np.floor(grid.points_to_bins(points)).astype(np.int64)  # (P, 3)
    inside = np.all((ijk >= 0) & (ijk < R), axis=1)
    if not inside.all():
        log.warning("%d of %d occupied points fall outside the demo grid", int((~inside).sum()), len(points))
    occ[tuple(ijk[inside].T)] = True
    return occ


def _node_class():
    try:
        from learned_energy_ros.ros.run import node_class

        return node_class("voxel_reconstructor")
    except ImportError as err:
        raise DemoError(f"the voxel_reconstructor node is not available: {err}") from err


def _exchange(scene, params: dict, timeout: float):
    """Publish the object view to a fresh node; return the occupied points (P, 3) it publishes."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CameraInfo, Image, PointCloud2
    from std_msgs.msg import Header

    from learned_energy_ros.ros.clouds import cloud_to_structured
    from learned_energy_ros.ros.conversions import camera_to_camera_info, sec_to_stamp
    from learned_energy_ros.ros.images import rgb_to_image

    cls = _node_class()
    rclpy.init()
    try:
        node = cls("voxel_reconstructor", cli_args=["--ros-args", "-r", f"image:={_IMAGE}", "-r", f"camera_info:={_INFO}"],
                   parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])
        if isinstance(node, LifecycleNode):
            for step in (node.trigger_configure, node.trigger_activate):
                if step() != TransitionCallbackReturn.SUCCESS:
                    raise DemoError("voxel_reconstructor failed to configure/activate (see its log above)")
        client = rclpy.create_node("demo_object_camera")
        reliable = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        pubs = (client.create_publisher(Image, _IMAGE, reliable), client.create_publisher(CameraInfo, _INFO, reliable))
        got = []
        client.create_subscription(PointCloud2, _OCCUPANCY, got.append,
                                   QoSProfile(depth=5, reliability=ReliabilityPolicy.BEST_EFFORT))
        executor = SingleThreadedExecutor()
        for n in (node, client):
            executor.add_node(n)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(p.get_subscription_count() for p in pubs):
            executor.spin_once(timeout_sec=0.05)
        header = Header(stamp=sec_to_stamp(time.time()), frame_id=scene.camera.frame_id)
        start = time.perf_counter()
        pubs[0].publish(rgb_to_image(scene.image, header, "rgb8"))
        pubs[1].publish(camera_to_camera_info(scene.camera, header))
        while time.monotonic() < deadline and not got:
            executor.spin_once(timeout_sec=0.05)
        latency = time.perf_counter() - start
        executor.shutdown()
        node.destroy_node()
        client.destroy_node()
    finally:
        rclpy.try_shutdown()
    if not got:
        raise DemoError(f"no {_OCCUPANCY} message within {timeout:.0f} s (is the node subscribed to image/camera_info?)")
    points = cloud_to_structured(got[0])
    xyz = np.stack([points["x"], points["y"], points["z"]], axis=-1).astype(np.float64)  # (P, 3)
    return xyz, latency


def voxel_part(args, out: Path) -> dict:
    """Run the object part; return its summary (IoU, threshold, timings, files)."""
    from learned_energy_ros.core.metrics import voxel_iou
    from learned_energy_ros.vox.object_scene import demo_scene, save_comparison

    scene = demo_scene(seed=args.seed)
    threshold = 0.5
    params = {"device": args.device, "resolution": int(scene.occupancy.shape[0]), "near": float(scene.near),
              "far": float(scene.far), "occupancy_threshold": threshold}
    points, latency = _exchange(scene, params, timeout=max(30.0, args.timeout))
    pred = occupancy_from_points(points, scene.grid)
    iou = float(voxel_iou(pred.astype(np.float64), scene.occupancy, threshold))
    picture = save_comparison(out / "voxel_comparison.png", scene.image, {"predicted": pred, "true": scene.occupancy})
    return {"iou": iou, "threshold": threshold, "occupied_predicted": int(pred.sum()),
            "occupied_true": int(scene.occupancy.sum()), "latency_s": latency, "params": params,
            "files": {"comparison": picture}}
