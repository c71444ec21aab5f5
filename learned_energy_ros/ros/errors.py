"""The one error type of the message conversions (like cv_bridge's ``CvBridgeError``)."""
from __future__ import annotations


class ConversionError(ValueError):
    """Raised when a ROS message cannot be converted to or from a core value."""
