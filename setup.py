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
]

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
    ],
    install_requires=INSTALL_REQUIRES,
    extras_require={
        "ros": ROS_WHEELS,
        "render": ["embreex>=2.17"],
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
        ],
    },
)
