"""Node ``video_camera``: play a video file or a webcam as ``image`` + ``camera_info`` at its frame rate.

A camera driver for laptops and recordings, so the whole chain (detector ->
lifter -> RViz) runs without a robot. The CameraInfo comes from a
``camera_calibration`` YAML, or is a logged guess from the image size and
``hfov_deg``. Each image and its CameraInfo share the stamp (node clock at
capture) and ``frame_id``.
"""
from __future__ import annotations

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from learned_energy_ros.ros.conversions import camera_to_camera_info
from learned_energy_ros.ros.images import rgb_to_image
from learned_energy_ros.ros.qos import qos_from_name

__all__ = ["VideoCameraNode", "VIDEO_CAMERA_PARAMETERS", "main"]

VIDEO_CAMERA_PARAMETERS: dict[str, tuple[object, str, str]] = {
    "video": ("", "Video file to play (empty: use webcam).", "start"),
    "webcam": (-1, "Webcam index for OpenCV (used when video is empty; -1: none).", "start"),
    "camera_info_file": ("", "Calibration YAML written by camera_calibration / camera_info_manager (empty: guess from hfov_deg).", "start"),
    "hfov_deg": (60.0, "Horizontal field of view assumed when there is no calibration file (logged).", "start"),
    "fps": (0.0, "Playback rate (0: the file's own rate; webcams without one: 30).", "start"),
    "loop": (False, "Restart the file at its end (else stop publishing and log it).", "start"),
    "frame_id": ("camera_optical_frame", "frame_id of image and camera_info (the camera optical frame).", "start"),
    "image_qos": ("reliable", "QoS of image (reliable: best-effort large images are lost across processes with FastDDS).", "start"),
    "qos_depth": (5, "History depth of the publishers.", "start"),
}


class VideoCameraNode(Node):
    """Publish frames of a video file or webcam with their CameraInfo."""

    def __init__(self, node_name: str = "video_camera", **kwargs):
        self.source = None  # rclpy may destroy a node whose construction failed: destroy_node must cope
        super().__init__(node_name, **kwargs)
        for name, (default, description, _) in VIDEO_CAMERA_PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=f"{description} [read at start]"))
        from learned_energy_ros.core.calibration import guess_camera, load_calibration_yaml
        from learned_energy_ros.detect.video import VideoSource

        p = lambda name: self.get_parameter(name).value  # noqa: E731
        source = p("video") or int(p("webcam"))
        if source == -1:
            raise ValueError("video_camera needs a video file (video) or a webcam index (webcam >= 0)")
        self.source = VideoSource(source, fps=float(p("fps")) or None)
        if p("camera_info_file"):
            self.camera = load_calibration_yaml(p("camera_info_file"), frame_id=p("frame_id"))
        else:
            self.camera = guess_camera(self.source.width, self.source.height, float(p("hfov_deg")), p("frame_id"))
        if (self.camera.width, self.camera.height) != (self.source.width, self.source.height):
            self.get_logger().warning(f"calibration is for {self.camera.width}x{self.camera.height} but "
                                      f"{self.source.name} gives {self.source.width}x{self.source.height}")
        depth = int(p("qos_depth"))
        self.pub_image = self.create_publisher(Image, "image", qos_from_name(p("image_qos"), depth))
        self.pub_info = self.create_publisher(CameraInfo, "camera_info", depth)
        self.published = 0
        self._timer = self.create_timer(1.0 / self.source.fps, self._tick)
        self.get_logger().info(f"playing {self.source.name} at {self.source.fps:.1f} fps as image + camera_info")

    def _tick(self) -> None:
        rgb = self.source.read()
        if rgb is None and self.get_parameter("loop").value and not self.source.is_webcam:
            self.source = type(self.source)(self.source.name, fps=self.source.fps)
            rgb = self.source.read()
        if rgb is None:
            self.get_logger().info(f"end of {self.source.name} after {self.published} frames")
            self._timer.cancel()
            return
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.camera.frame_id)
        self.pub_image.publish(rgb_to_image(rgb, header, "bgr8"))
        self.pub_info.publish(camera_to_camera_info(self.camera, header))
        self.published += 1

    def destroy_node(self):
        if self.source is not None:
            self.source.close()
        return super().destroy_node()


NODE_CLASS = VideoCameraNode


def main(args=None) -> None:
    """Run the node alone (``ros2 run learned_energy_ros video_camera --ros-args -p video:=FILE``)."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    try:
        with rclpy.init(args=args):
            rclpy.spin(VideoCameraNode())
    except (KeyboardInterrupt, ExternalShutdownException):
        pass


if __name__ == "__main__":
    main()
