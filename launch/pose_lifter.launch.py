"""Launch the pose_lifter lifecycle node and bring it to active.

    ros2 launch learned_energy_ros pose_lifter.launch.py namespace:=front \
        camera_info:=/camera/camera_info keypoints:=/camera/keypoints image:=/camera/image_raw

The node configures and activates itself (parameter ``autostart``, default true,
so ``ros2 run`` behaves the same); pass ``autostart:=false`` to drive the
transitions with ``ros2 lifecycle set``. Pip installs without ``launch`` get
the same behaviour from ``learned-energy-ros run --params-file ...``.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode
from launch_ros.parameter_descriptions import ParameterValue


def generate_launch_description() -> LaunchDescription:
    default_params = os.path.join(get_package_share_directory("learned_energy_ros"), "config", "pose_lifter.yaml")
    args = [
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node"),
        DeclareLaunchArgument("params_file", default_value=default_params, description="parameter YAML"),
        DeclareLaunchArgument("camera_info", default_value="camera/camera_info", description="CameraInfo topic"),
        DeclareLaunchArgument("keypoints", default_value="camera/keypoints", description="keypoint cloud topic"),
        DeclareLaunchArgument("image", default_value="camera/image_raw", description="image topic (overlay only)"),
        DeclareLaunchArgument("autostart", default_value="true", description="configure + activate at start"),
    ]
    node = LifecycleNode(
        package="learned_energy_ros",
        executable="pose_lifter",
        name="pose_lifter",
        namespace=LaunchConfiguration("namespace"),
        parameters=[LaunchConfiguration("params_file"),
                    {"autostart": ParameterValue(LaunchConfiguration("autostart"), value_type=bool)}],
        remappings=[("camera_info", LaunchConfiguration("camera_info")),
                    ("keypoints", LaunchConfiguration("keypoints")),
                    ("image", LaunchConfiguration("image"))],
        output="screen",
    )
    return LaunchDescription(args + [node])
