"""What the image + camera_info nodes (``keypoint_detector``, ``voxel_reconstructor``) share beyond ``FrameWorker``.

Both hold one model loaded in ``on_configure`` (``MODEL_ATTR``), take ``image`` and ``camera_info``, refuse
configure-time parameters while that model is loaded, and retune their synchronizer's slop at run time.
"""
from __future__ import annotations

from rclpy.lifecycle import LifecycleState, TransitionCallbackReturn

from learned_energy_ros.ros.worker import FrameWorker

__all__ = ["ImageFrameNode"]


class ImageFrameNode(FrameWorker):
    """``FrameWorker`` for nodes fed ``image`` + ``camera_info``, with the lifecycle and parameter steps they share.

    Subclasses set ``MODEL_ATTR`` (the attribute holding the loaded model) and implement ``on_cleanup``.
    """

    INPUT_NAMES = ("image", "camera_info")
    MODEL_ATTR = "model"

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._deactivate_worker()
        return super().on_deactivate(state)

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        return self.on_cleanup(state)

    def _late_refusal(self, changes: dict, table: dict) -> str | None:
        """Why configure-time parameters in ``changes`` are refused now (the model is loaded), else None."""
        late = [n for n in changes if table.get(n, (0, 0, ""))[2] == "configure"]
        if getattr(self, self.MODEL_ATTR, None) is not None and late:
            return f"{late} apply on configure: deactivate and cleanup the node first"
        return None

    def _apply_sync_slop(self, changes: dict) -> None:
        """Give a running synchronizer a new ``sync_slop`` (message_filters' or the internal one)."""
        if self._sync is not None and "sync_slop" in changes:
            if self._mf:
                self._sync.slop = float(changes["sync_slop"])
            else:
                self._sync.set_params(None, changes["sync_slop"])
