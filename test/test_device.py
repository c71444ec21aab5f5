"""One device policy for every entry point (ROS-free): names, ``auto``, and the CUDA fallback."""
import pytest
import torch

from learned_energy_ros.core.device import resolve_device


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


def test_names_and_auto(no_cuda):
    assert resolve_device("auto") == torch.device("cpu") and resolve_device(" CPU ") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    for bad in ("gpu", "cuda:x", "mps", ""):
        with pytest.raises(ValueError, match="unknown device"):
            resolve_device(bad)


def test_cuda_without_cuda_falls_back_with_one_warning_or_is_refused(no_cuda):
    warnings = []
    assert resolve_device("cuda:1", fallback=True, warn=warnings.append) == torch.device("cpu")
    assert len(warnings) == 1 and "falling back to cpu" in warnings[0]
    with pytest.raises(ValueError, match="refusing"):
        resolve_device("cuda", fallback=False)


def test_gpu_settings_of_the_loaders_run_on_the_cpu(no_cuda):
    from learned_energy_ros.pose.lifter import load_lifter
    from learned_energy_ros.vox.reconstructor import load_reconstructor

    assert load_lifter("default", device="cuda").device == torch.device("cpu")
    assert load_reconstructor("default", device="cuda").device == torch.device("cpu")
