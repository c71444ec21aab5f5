"""Real photographs and footage available offline, for the demo and the tests.

* ``astronaut``: ``skimage.data.astronaut()`` (Eileen Collins, NASA, public domain), in the scikit-image wheel.
* ``basketball1``/``basketball2`` and ``vtest.avi``: OpenCV's sample data from Debian's ``opencv-doc``
  package (``apt-get install opencv-doc``; ``scripts/env.sh`` installs it when run as root).
Nothing is downloaded; a missing source is reported with how to get it.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["SampleMissing", "opencv_sample", "astronaut", "basketball", "vtest_path", "real_images"]

#: Where ``opencv-doc`` puts its sample data (``dpkg -L opencv-doc``); override with LER_OPENCV_SAMPLES.
_OPENCV_DATA = ("/usr/share/doc/opencv-doc/examples/data", "/usr/share/opencv4/samples/data")


class SampleMissing(FileNotFoundError):
    """Raised when a real sample is not installed on this machine (the message says how to install it)."""


def opencv_sample(name: str) -> Path:
    """Path of an OpenCV sample file (``vtest.avi``, ``basketball1.png``, ...)."""
    folders = [os.environ["LER_OPENCV_SAMPLES"]] if os.environ.get("LER_OPENCV_SAMPLES") else list(_OPENCV_DATA)
    for folder in folders:
        path = Path(folder) / name
        if path.is_file():
            return path
    raise SampleMissing(f"OpenCV sample {name} not found in {', '.join(folders)} "
                        "(install Debian's opencv-doc package: apt-get install opencv-doc)")


def astronaut() -> np.ndarray:
    """The astronaut portrait (512, 512, 3) uint8 RGB (upper body, standing)."""
    try:
        from skimage import data
    except ImportError:
        raise SampleMissing("scikit-image is not installed (it comes with the [detector] extra)") from None
    return np.ascontiguousarray(data.astronaut())


def basketball(which: int = 1) -> np.ndarray:
    """OpenCV's ``basketball1.png``/``basketball2.png`` (two people indoors) as RGB."""
    import cv2

    bgr = cv2.imread(str(opencv_sample(f"basketball{which}.png")))
    if bgr is None:
        raise SampleMissing(f"basketball{which}.png cannot be decoded")
    return np.ascontiguousarray(bgr[..., ::-1])


def vtest_path() -> Path:
    """Path of OpenCV's ``vtest.avi`` (768x576, 10 fps, pedestrians outdoors)."""
    return opencv_sample("vtest.avi")


def real_images() -> dict[str, np.ndarray]:
    """Every real still image installed here: ``{name: rgb}`` (possibly empty)."""
    images = {}
    for name, load in (("astronaut", astronaut), ("basketball1", lambda: basketball(1)),
                       ("basketball2", lambda: basketball(2))):
        try:
            images[name] = load()
        except SampleMissing:
            continue
    return images
