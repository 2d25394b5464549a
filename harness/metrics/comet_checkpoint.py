"""COMET checkpoints on disk and on the hub: finding the `.ckpt` file, reading `hparams.yaml`, the checkpoint's
identity for signatures (a content hash for local files, the commit for hub ids), and whether its encoder's
tokenizer and config can be loaded offline. Never loads a model and never imports comet or torch."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from harness.cache import FILE_SHA256, Cache, file_hash_key
from harness.errors import ModelUnavailableError
from harness.hub import cached_hub_file, hub_revision, hub_unreachable_reason, looks_like_local_path

#: hub repositories that need an accepted licence and `huggingface-cli login`
GATED = {"Unbabel/wmt22-cometkiwi-da", "Unbabel/wmt23-cometkiwi-da-xl", "Unbabel/wmt23-cometkiwi-da-xxl",
         "Unbabel/XCOMET-XL", "Unbabel/XCOMET-XXL"}
CHECKPOINT_IN_FOLDER = Path("checkpoints") / "model.ckpt"


def checkpoint_in(path: Path) -> Path:
    """The `.ckpt` file of a local checkpoint: the file itself, or `<folder>/checkpoints/model.ckpt`."""
    if path.is_file():
        if path.suffix != ".ckpt":
            raise ModelUnavailableError(f"COMET checkpoint {path} is not a .ckpt file; give the checkpoint folder "
                                        f"(with hparams.yaml and checkpoints/model.ckpt) or its .ckpt file")
        return path
    ckpt = path / CHECKPOINT_IN_FOLDER
    if not ckpt.is_file():
        found = sorted(str(p.relative_to(path)) for p in path.glob("**/*.ckpt"))
        raise ModelUnavailableError(f"COMET checkpoint folder {path} has no {CHECKPOINT_IN_FOLDER}"
                                    + (f" (it has {', '.join(found[:3])}: give that file's path)" if found else
                                       "; a COMET checkpoint is hparams.yaml plus checkpoints/model.ckpt"))
    return ckpt


def read_hparams(ckpt: Path) -> dict[str, Any]:
    """hparams.yaml of a checkpoint (in the folder above `checkpoints/`), as comet's loader reads it."""
    import yaml

    hparams_file = ckpt.parents[1] / "hparams.yaml"
    if not hparams_file.is_file():
        raise ModelUnavailableError(f"COMET checkpoint {ckpt} has no hparams.yaml at {hparams_file}; comet needs "
                                    f"it to know the model class and its encoder")
    try:
        hparams = yaml.load(hparams_file.read_text(encoding="utf-8"), Loader=yaml.FullLoader) or {}  # as comet
    except yaml.YAMLError as e:
        raise ModelUnavailableError(f"cannot read {hparams_file}: {e}") from None
    if not isinstance(hparams, dict) or "class_identifier" not in hparams:
        raise ModelUnavailableError(f"{hparams_file} names no class_identifier; is it a COMET checkpoint?")
    return hparams


def file_sha256(path: Path, memo: Cache) -> str:
    """sha256 of a file, remembered in `memo` by (path, size, modification time): a multi-GB checkpoint is
    read once, not on every run."""
    st = path.stat()
    key = file_hash_key(str(path.resolve()), st.st_size, st.st_mtime_ns)
    known = memo.get_many(FILE_SHA256, [key]).get(key)
    if known:
        return known
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    memo.put_many(FILE_SHA256, {key: h.hexdigest()})
    return h.hexdigest()


def _legacy_checkpoint(name: str) -> Path | None:
    """Where comet's `download_model` keeps the pre-hub models it fetches by name (wmt20-comet-da, ...)."""
    folder = Path.home() / ".cache" / "torch" / "unbabel_comet" / name / "checkpoints"
    found = sorted(folder.glob("*.ckpt")) if "/" not in name and folder.is_dir() else []
    return found[-1] if found else None


def checkpoint_identity(model: str, memo: Cache) -> str | None:
    """`<name>@sha256:<content hash>` for a local checkpoint, `<hub id>@<commit>` for a hub one; None when the
    revision cannot be known yet (a hub checkpoint neither cached nor reachable). Never loads the model."""
    path = Path(model).expanduser()
    ckpt = checkpoint_in(path) if path.exists() else _legacy_checkpoint(model)
    if ckpt is not None:
        h = hashlib.sha256()
        for part in (ckpt.parents[1] / "hparams.yaml", ckpt):
            if part.is_file():
                h.update(file_sha256(part, memo).encode())
        label = path.name if path.is_dir() else (ckpt.parents[1].name if path.exists() else model)
        return f"{label}@sha256:{h.hexdigest()[:12]}"
    if looks_like_local_path(model):
        return None
    revision = hub_revision(model, CHECKPOINT_IN_FOLDER.as_posix())
    return f"{model}@{revision[:12]}" if revision else None



def encoder_files_available(encoder: str, checkpoint: str, hint: str) -> bool:
    """Whether the encoder's tokenizer and config are on disk. Raises the user-facing error when they are not
    and the hub cannot be reached. (Offline, transformers fails on a missing XLM-R tokenizer with
    `AttributeError: 'NoneType' object has no attribute 'endswith'`, so check before comet loads it.)"""
    short = encoder.rstrip("/").split("/")[-1]
    path = Path(encoder).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelUnavailableError(f"encoder folder {path} (for COMET checkpoint {checkpoint}) has no config.json; "
                                        f"it must hold the encoder's config and tokenizer files")
        return True
    if looks_like_local_path(encoder):
        raise ModelUnavailableError(f"encoder path {encoder!r} of COMET checkpoint {checkpoint} does not exist. "
                                    f"Set `{hint}` to a folder with the encoder's config and tokenizer.")
    if cached_hub_file(encoder, "config.json") is not None:
        return True
    reason = hub_unreachable_reason()
    if reason:
        raise ModelUnavailableError(
            f"COMET checkpoint {checkpoint} is built on the encoder {encoder!r} (pretrained_model in its hparams.yaml), "
            f"whose tokenizer and config must be loaded too: {reason}, and no copy is in the local cache. Download it "
            f"where the hub is reachable (`huggingface-cli download {encoder} --local-dir /models/{short}`; only the "
            f"*.json and tokenizer files are needed, the weights come from the COMET checkpoint), copy the folder here "
            f"and set `{hint}=/models/{short}`; or set HF_HOME to a cache that holds it.")
    return False
