"""ROS-free core: camera model, skeleton layouts, virtual cameras, metrics."""
from learned_energy_ros.core.camera import Camera, CameraError
from learned_energy_ros.core.skeleton import Skeleton, SkeletonError, get_skeleton, joint_mapping, remap_joints

__all__ = ["Camera", "CameraError", "Skeleton", "SkeletonError", "get_skeleton", "joint_mapping", "remap_joints"]
