"""Reading and writing text files: strict UTF-8 with errors that name the file and byte offset,
and atomic writes so an interrupted run never leaves half a results file."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from harness.errors import DataError


def read_text(path: str | os.PathLike) -> str:
    """The whole file as text. `.gz` files are decompressed; a leading byte-order mark is dropped."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"file not found: {path} (relative paths are taken from {Path.cwd()})") from None
    except IsADirectoryError:
        raise DataError(f"expected a file but {path} is a directory") from None
    except (OSError, EOFError) as e:
        raise DataError(f"cannot read {path}: {e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        context = raw[max(0, e.start - 20): e.start + 20]
        line = raw.count(b"\n", 0, e.start) + 1
        raise DataError(
            f"{path} is not valid UTF-8: byte offset {e.start} (line {line}) has {raw[e.start:e.end]!r} "
            f"({e.reason}); nearby bytes: {context!r}. Re-encode the file as UTF-8, e.g. "
            f"`iconv -f <its-encoding> -t UTF-8 {path} > fixed.txt`."
        ) from None
    return text.removeprefix("\ufeff")


def read_lines(path: str | os.PathLike) -> list[str]:
    """One entry per line, split on '\\n' only, trailing whitespace stripped (as sacreBLEU reads files)."""
    text = read_text(path)
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.rstrip() for line in lines]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise DataError(f"cannot write {path}: {e.strerror or e} ({e.filename or path.parent}); choose a folder "
                        f"you can write") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` atomically (temporary file + rename)."""
    _atomic_write_bytes(Path(path), data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` atomically (temporary file + rename)."""
    _atomic_write_bytes(Path(path), text.encode("utf-8"))


def write_lines(path: str | os.PathLike, lines: Iterable[str]) -> None:
    write_text(path, "".join(f"{line}\n" for line in lines))


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> None:
    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
