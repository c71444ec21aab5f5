"""Single-view voxel reconstruction by inverse-graphics energy networks (ROS-free).

Public API: ``load_reconstructor(checkpoint="default", device="auto")`` ->
``Reconstructor.reconstruct(image, camera, roi=None, near=None, far=None)`` ->
``VoxelResult`` (occupancy in frustum coordinates, ``points()``); the demo
helpers ``demo_scene(seed)`` and ``save_comparison(path, image, panels)``.
"""
from __future__ import annotations

__all__ = ["load_reconstructor", "Reconstructor", "ReconstructionError", "VoxelResult", "FrustumGrid",
           "demo_scene", "ObjectScene", "DemoScene", "save_comparison"]

_LAZY = {
    "load_reconstructor": "reconstructor", "Reconstructor": "reconstructor", "ReconstructionError": "reconstructor",
    "VoxelResult": "reconstructor", "FrustumGrid": "frustum", "demo_scene": "object_scene", "ObjectScene": "object_scene",
    "DemoScene": "object_scene",
    "save_comparison": "object_scene",
}


def __getattr__(name: str):
    # lazy: ``import learned_energy_ros.vox.frustum`` should not pay for torch and trimesh
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
