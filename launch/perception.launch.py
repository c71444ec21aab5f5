"""Launch every learned_energy_ros node: pose_lifter and voxel_reconstructor, brought to active.

    ros2 launch learned_energy_ros perception.launch.py namespace:=front \
        camera_info:=/camera/camera_info keypoints:=/camera/keypoints image:=/camera/image_raw

Both nodes share the camera topics; each reads its own params file. Pip
installs get the same from
``learned-energy-ros run --nodes pose_lifter,voxel_reconstructor --params-file ...``.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("learned_energy_ros")
    args = [
        DeclareLaunchArgument("namespace", default_value="", description="namespace of both nodes"),
        DeclareLaunchArgument("pose_params_file", default_value=os.path.join(share, "config", "pose_lifter.yaml"),
                              description="pose_lifter parameter YAML"),
        DeclareLaunchArgument("voxel_params_file",
                              default_value=os.path.join(share, "config", "voxel_reconstructor.yaml"),
                              description="voxel_reconstructor parameter YAML"),
        DeclareLaunchArgument("camera_info", default_value="camera/camera_info", description="CameraInfo topic"),
        DeclareLaunchArgument("keypoints", default_value="camera/keypoints", description="keypoint cloud topic"),
        DeclareLaunchArgument("image", default_value="camera/image_raw", description="image topic"),
        DeclareLaunchArgument("autostart", default_value="true", description="configure + activate at start"),
    ]
    common = {"namespace": LaunchConfiguration("namespace"), "camera_info": LaunchConfiguration("camera_info"),
              "image": LaunchConfiguration("image"), "autostart": LaunchConfiguration("autostart")}

    def include(name: str, extra: dict) -> IncludeLaunchDescription:
        return IncludeLaunchDescription(PythonLaunchDescriptionSource(os.path.join(share, "launch", name)),
                                        launch_arguments={**common, **extra}.items())

    return LaunchDescription(args + [
        include("pose_lifter.launch.py", {"params_file": LaunchConfiguration("pose_params_file"),
                                          "keypoints": LaunchConfiguration("keypoints")}),
        include("voxel_reconstructor.launch.py", {"params_file": LaunchConfiguration("voxel_params_file")}),
    ])
