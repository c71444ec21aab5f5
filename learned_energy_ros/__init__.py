"""learned_energy_ros: monocular 3D perception by inverse-graphics energy networks.

The core (``learned_energy_ros.core``, ``.data``, ``.pose``, ``.vox``) never
imports rclpy; ROS 2 nodes live in ``learned_energy_ros.ros``.
"""
__version__ = "0.1.0"
