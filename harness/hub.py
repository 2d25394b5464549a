"""Getting models and data from local folders, the local cache, or the Hugging Face Hub.

Every hub load in the harness goes through `load_pretrained`, so that a failed download always gives the
same kind of message: which model, why it could not be loaded, and how to point the config at a local copy.
transformers itself retries an unreachable hub for about a minute per file; a quick socket probe avoids that.
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, TypeVar
from urllib.parse import urlparse

from harness.errors import ModelUnavailableError

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}


def _offline_by_env() -> str | None:
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in _TRUE:
            return f"{var}=1 is set (offline mode)"
    return None


@lru_cache(maxsize=4)
def _probe(host: str, port: int, timeout: float) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as e:
        return f"the Hugging Face Hub ({host}) is unreachable: {e.strerror or e}"


def hub_unreachable_reason(timeout: float = 3.0) -> str | None:
    """Why the hub cannot be used right now, or None if it answers. Cached per process."""
    offline = _offline_by_env()
    if offline:
        return offline
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    return _probe(endpoint.hostname or "huggingface.co", endpoint.port or 443, timeout)


def looks_like_local_path(name: str) -> bool:
    """Hub ids look like `org/name`; paths start with / . ~ or have more than one slash, or end in a file suffix."""
    return (name.startswith(("/", ".", "~")) or name.count("/") > 1 or os.sep == "\\" and "\\" in name
            or Path(name).suffix in {".ckpt", ".bin", ".safetensors", ".pt"})


def cached_hub_file(repo_id: str, filename: str) -> str | None:
    """The local path of `filename` of a hub repository in the Hugging Face cache, or None (not cached, or
    not a valid repository id)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, filename)
    except ValueError:  # not a valid repository id: loading it will say so
        return None
    return found if isinstance(found, str) else None


def hub_revision(repo_id: str, filename: str) -> str | None:
    """The commit of a hub repository: the cached snapshot holding `filename` if any, else the hub's
    (None when neither is known, e.g. offline and not cached)."""
    cached = cached_hub_file(repo_id, filename)
    if cached is not None:  # .../snapshots/<commit>/<filename>
        return Path(cached).parents[len(Path(filename).parts) - 1].name
    if hub_unreachable_reason():
        return None
    from huggingface_hub import HfApi

    try:
        return HfApi().model_info(repo_id).sha
    except (OSError, ValueError):
        return None


def load_pretrained(load: Callable[..., T], name: str, *, what: str, config_key: str, **kwargs) -> T:
    """Call a `from_pretrained`-style `load(name, **kwargs)`: a local folder as is; a hub id from the local
    cache first and from the hub only if it is reachable.

    `what` names the thing for messages ("model", "tokenizer", "COMET checkpoint"); `config_key` is the
    config entry a user sets to point at a local copy (e.g. `systems.opus_mt_vi_en.model`)."""
    fix = (f"Download it where the hub is reachable (e.g. `huggingface-cli download {name} --local-dir "
           f"/models/{name.split('/')[-1]}`), copy the folder here and set `{config_key}=/models/"
           f"{name.split('/')[-1]}`; or set HF_HOME to a cache that holds it.")
    path = Path(name).expanduser()
    if path.exists():
        try:
            return load(str(path), **kwargs)
        except (OSError, ValueError) as e:
            raise ModelUnavailableError(f"cannot load {what} from local path {path}: {e}") from None
    if looks_like_local_path(name):
        raise ModelUnavailableError(f"{what} path {name!r} does not exist (relative paths are taken from "
                                    f"{Path.cwd()}). Set `{config_key}` to an existing folder or a hub id.")
    try:
        return load(name, local_files_only=True, **kwargs)
    except (OSError, ValueError):
        pass  # not (completely) in the local cache: try the hub below
    reason = hub_unreachable_reason()
    if reason:
        raise ModelUnavailableError(f"cannot load {what} {name!r}: {reason}, and no copy is in the local cache. {fix}")
    try:
        return load(name, **kwargs)
    except (OSError, ValueError) as e:
        raise ModelUnavailableError(f"cannot load {what} {name!r} from the hub: {e}. Check the id (is it "
                                    f"spelled right, is the repository public?) or use a local copy. {fix}") from None


def dtype_kwarg(dtype) -> dict[str, Any]:
    """transformers renamed `torch_dtype` to `dtype` in 4.56; pass whichever this version knows."""
    import transformers

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype" if (major, minor) >= (4, 56) else "torch_dtype": dtype}


def local_fingerprint(name: str) -> str | None:
    """For a local folder: the newest modification time of its files, so edited weights change the signature."""
    path = Path(name).expanduser()
    if not path.is_dir():
        return None
    mtimes = [p.stat().st_mtime_ns for p in path.iterdir() if p.is_file()]
    return str(max(mtimes, default=0))
