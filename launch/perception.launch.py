"""Launch every learned_energy_ros node: pose_lifter and voxel_reconstructor.

    ros2 launch learned_energy_ros perception.launch.py namespace:=front

Both nodes share the camera topics; each reads its section of its params file.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("learned_energy_ros")
    args = [
        DeclareLaunchArgument("namespace", default_value="", description="namespace of both nodes"),
        DeclareLaunchArgument("pose_params_file", default_value=os.path.join(share, "config", "pose_lifter.yaml")),
        DeclareLaunchArgument("voxel_params_file", default_value=os.path.join(share, "config", "voxel_reconstructor.yaml")),
        DeclareLaunchArgument("camera_info", default_value="camera/camera_info"),
        DeclareLaunchArgument("keypoints", default_value="camera/keypoints"),
        DeclareLaunchArgument("image", default_value="camera/image_raw"),
    ]
    pose = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(os.path.join(share, "launch", "pose_lifter.launch.py")),
        launch_arguments={"namespace": LaunchConfiguration("namespace"),
                          "params_file": LaunchConfiguration("pose_params_file"),
                          "camera_info": LaunchConfiguration("camera_info"),
                          "keypoints": LaunchConfiguration("keypoints"),
                          "image": LaunchConfiguration("image")}.items(),
    )
    voxel = LifecycleNode(
        package="learned_energy_ros",
        executable="voxel_reconstructor",
        name="voxel_reconstructor",
        namespace=LaunchConfiguration("namespace"),
        parameters=[LaunchConfiguration("voxel_params_file")],
        remappings=[("camera_info", LaunchConfiguration("camera_info")), ("image", LaunchConfiguration("image"))],
        output="screen",
    )
    return LaunchDescription(args + [pose, voxel])
