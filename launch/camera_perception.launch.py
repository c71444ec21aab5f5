"""Launch the camera chain: camera -> keypoint_detector -> pose_lifter (-> voxel_reconstructor).

    ros2 launch learned_energy_ros camera_perception.launch.py video:=/path/clip.mp4 camera_info_file:=calib.yaml
    ros2 launch learned_energy_ros camera_perception.launch.py use_video_camera:=false \
        image:=/my_camera/image_raw camera_info:=/my_camera/camera_info      # a real camera driver
    rviz2 -d $(ros2 pkg prefix learned_energy_ros)/share/learned_energy_ros/rviz/camera_perception.rviz

The topic defaults equal ``CAMERA_TOPICS`` of ``learned_energy_ros/ros/camera_profile.py``, so
``learned-energy-ros run --video FILE`` (pip installs) starts the same graph and the RViz file fits both.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node
from launch_ros.parameter_descriptions import ParameterValue


def generate_launch_description() -> LaunchDescription:
    config = os.path.join(get_package_share_directory("learned_energy_ros"), "config")
    arg = LaunchConfiguration
    args = [
        DeclareLaunchArgument("namespace", default_value="", description="namespace of every node"),
        DeclareLaunchArgument("image", default_value="camera/image_raw", description="image topic"),
        DeclareLaunchArgument("camera_info", default_value="camera/camera_info", description="CameraInfo topic"),
        DeclareLaunchArgument("keypoints", default_value="camera/keypoints", description="keypoint cloud topic"),
        DeclareLaunchArgument("use_video_camera", default_value="true",
                              description="start video_camera (false: another driver publishes image/camera_info)"),
        DeclareLaunchArgument("video", default_value="", description="video file for video_camera"),
        DeclareLaunchArgument("webcam", default_value="-1", description="webcam index for video_camera"),
        DeclareLaunchArgument("camera_info_file", default_value="", description="calibration YAML (else a logged guess)"),
        DeclareLaunchArgument("detector_params_file", default_value=os.path.join(config, "keypoint_detector.yaml"),
                              description="keypoint_detector parameter YAML"),
        DeclareLaunchArgument("pose_params_file", default_value=os.path.join(config, "pose_lifter.yaml"),
                              description="pose_lifter parameter YAML"),
        DeclareLaunchArgument("with_voxel", default_value="false", description="also start voxel_reconstructor"),
        DeclareLaunchArgument("voxel_params_file", default_value=os.path.join(config, "voxel_reconstructor.yaml"),
                              description="voxel_reconstructor parameter YAML"),
        DeclareLaunchArgument("autostart", default_value="true", description="configure + activate at start"),
    ]
    remaps = [("image", arg("image")), ("camera_info", arg("camera_info")), ("keypoints", arg("keypoints"))]
    autostart = {"autostart": ParameterValue(arg("autostart"), value_type=bool)}
    camera = Node(package="learned_energy_ros", executable="video_camera", name="video_camera",
                  namespace=arg("namespace"), condition=IfCondition(arg("use_video_camera")), remappings=remaps,
                  parameters=[os.path.join(config, "video_camera.yaml"),
                              {"video": arg("video"), "camera_info_file": arg("camera_info_file"),
                               "webcam": ParameterValue(arg("webcam"), value_type=int)}], output="screen")
    detector = LifecycleNode(package="learned_energy_ros", executable="keypoint_detector", name="keypoint_detector",
                             namespace=arg("namespace"), parameters=[arg("detector_params_file"), autostart],
                             remappings=remaps, output="screen")
    lifter = LifecycleNode(package="learned_energy_ros", executable="pose_lifter", name="pose_lifter",
                           namespace=arg("namespace"), remappings=remaps, output="screen",
                           parameters=[arg("pose_params_file"), autostart,
                                       {"input_skeleton": "mediapipe33", "publish_overlay": True}])
    voxel = LifecycleNode(package="learned_energy_ros", executable="voxel_reconstructor", name="voxel_reconstructor",
                          namespace=arg("namespace"), parameters=[arg("voxel_params_file"), autostart],
                          remappings=remaps, condition=IfCondition(arg("with_voxel")), output="screen")
    return LaunchDescription(args + [camera, detector, lifter, voxel])
