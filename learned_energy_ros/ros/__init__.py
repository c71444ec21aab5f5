"""ROS 2 layer: nodes, message conversions, synchronization, QoS and diagnostics.

Detector authors publish the keypoint cloud with::

    from learned_energy_ros.ros import keypoints_to_cloud
    pub.publish(keypoints_to_cloud(header, keypoints, scores, person_ids))
"""
from learned_energy_ros.ros.clouds import cloud_to_keypoints, keypoints_to_cloud
from learned_energy_ros.ros.errors import ConversionError

__all__ = ["keypoints_to_cloud", "cloud_to_keypoints", "ConversionError"]
