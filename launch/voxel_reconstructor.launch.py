"""Launch the voxel_reconstructor lifecycle node and bring it to active.

    ros2 launch learned_energy_ros voxel_reconstructor.launch.py namespace:=front \
        camera_info:=/camera/camera_info image:=/camera/image_raw detections:=/yolo/detections

The node configures and activates itself (parameter ``autostart``, default true);
pass ``autostart:=false`` to drive the transitions with ``ros2 lifecycle set``.
Pip installs without ``launch`` get the same from
``learned-energy-ros run --nodes voxel_reconstructor --params-file config/voxel_reconstructor.yaml``.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode
from launch_ros.parameter_descriptions import ParameterValue


def generate_launch_description() -> LaunchDescription:
    default_params = os.path.join(get_package_share_directory("learned_energy_ros"), "config",
                                  "voxel_reconstructor.yaml")
    args = [
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node"),
        DeclareLaunchArgument("params_file", default_value=default_params, description="parameter YAML"),
        DeclareLaunchArgument("camera_info", default_value="camera/camera_info", description="CameraInfo topic"),
        DeclareLaunchArgument("image", default_value="camera/image_raw", description="image topic"),
        DeclareLaunchArgument("detections", default_value="detections",
                              description="vision_msgs/Detection2DArray topic (read when use_detections is true)"),
        DeclareLaunchArgument("autostart", default_value="true", description="configure + activate at start"),
    ]
    node = LifecycleNode(
        package="learned_energy_ros",
        executable="voxel_reconstructor",
        name="voxel_reconstructor",
        namespace=LaunchConfiguration("namespace"),
        parameters=[LaunchConfiguration("params_file"),
                    {"autostart": ParameterValue(LaunchConfiguration("autostart"), value_type=bool)}],
        remappings=[("camera_info", LaunchConfiguration("camera_info")), ("image", LaunchConfiguration("image")),
                    ("detections", LaunchConfiguration("detections"))],
        output="screen",
    )
    return LaunchDescription(args + [node])
