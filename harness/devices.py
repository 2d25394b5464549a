"""Which torch device a model runs on: one rule for translation systems and neural metrics alike."""

from __future__ import annotations

from harness.errors import ConfigError


def pick_device(device: str) -> str:
    """`auto` picks cuda, then mps, then cpu; an explicit device is checked for availability."""
    import torch

    if device != "auto":
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} requested but CUDA is not available; use device=auto or cpu")
        if device == "mps" and not (getattr(torch.backends, "mps", None) is not None
                                    and torch.backends.mps.is_available()):
            raise ConfigError("device 'mps' requested but MPS is not available; use device=auto or cpu")
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"
