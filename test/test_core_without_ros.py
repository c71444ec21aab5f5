"""The core must import and work in an interpreter where rclpy is unavailable."""
import subprocess
import sys
import textwrap

CORE_MODULES = [
    "learned_energy_ros.core",
    "learned_energy_ros.core.camera",
    "learned_energy_ros.core.skeleton",
    "learned_energy_ros.pose.batch",
    "learned_energy_ros.pose.multi",
    "learned_energy_ros.data.paths",
]


def test_core_imports_with_rclpy_blocked():
    code = textwrap.dedent(
        f"""
        import importlib, importlib.util, pkgutil, sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                root = name.split('.')[0]
                if root in ('rclpy', 'sensor_msgs', 'visualization_msgs', 'std_msgs', 'geometry_msgs', 'diagnostic_msgs', 'cv_bridge', 'message_filters'):
                    raise ImportError('blocked for the test: ' + name)
        sys.meta_path.insert(0, Block())
        import learned_energy_ros
        names = {CORE_MODULES!r}
        # every module of the ROS-free subpackages, whatever helpers have added
        for sub in ('core', 'data', 'pose', 'vox', 'demo', 'detect'):
            try:
                pkg = importlib.import_module('learned_energy_ros.' + sub)
            except ImportError as err:
                raise SystemExit('ROS-free package needs ROS: ' + sub + ': ' + str(err))
            for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):
                names.append(info.name)
        # The demo's runner modules drive the real nodes over ROS 2 (they are an
        # entry point, like ros/); its scene, rendering and output modules are core.
        ros_drivers = set('learned_energy_ros.demo.' + m for m in ('main', 'player', 'session', 'pipeline', 'voxel'))
        for name in names:
            if name not in ros_drivers:
                importlib.import_module(name)
        assert 'rclpy' not in sys.modules
        print('ok', len(names))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.startswith("ok")
