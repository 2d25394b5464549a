"""Facts that make a number reproducible: package versions and the harness's git commit."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

import harness

_PACKAGES = ("sacrebleu", "numpy", "hydra-core", "omegaconf", "torch", "transformers", "tokenizers",
             "sentencepiece", "unbabel-comet", "pytorch-lightning", "datasets", "huggingface-hub")


def package_versions() -> dict[str, str | None]:
    """Installed versions, read from metadata (importing torch just to ask would cost seconds)."""
    out: dict[str, str | None] = {"python": platform.python_version(), "mt-harness": harness.__version__}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_state(root: Path) -> dict[str, str | bool | None]:
    """The commit of the checkout at `root` and whether it has uncommitted changes (None outside git)."""
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip() != ""
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
