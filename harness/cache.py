"""A persistent key -> JSON (or binary) value cache in one SQLite file, keyed by content hashes, and the one
place where its namespaces and keys are defined.

Used for translations (system signature + languages + source), metric statistics (metric signature +
implementation tag + hypothesis + source + references) and file hashes, so re-running an experiment
recomputes only what changed, and an interrupted run resumes. SQLite makes it safe for several processes
at once."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

_CHUNK = 500  # SQLite's limit on bound parameters is 999 in old builds

# Namespaces: one per kind of value. Bump a namespace's version when the shape of its values changes.
TRANSLATIONS = "translations"              # value: hypothesis, or {"hyp": ..., "details": {...}}
STATISTICS = "statistics"                  # value: one row of a metric's per-segment statistics
SEGMENT_DETAILS = "segment_details"        # value: one segment's details (e.g. xCOMET error spans)
STATISTICS_MATRIX = "statistics-matrix"    # value (blob): a whole system's statistics, np.save format
FILE_SHA256 = "file_sha256"                # value: the sha256 of a file, by path, size and mtime


def content_key(*parts: str) -> str:
    """A stable key for a tuple of strings (unambiguous: parts are length-prefixed)."""
    # one update of the joined bytes: the same digest as updating part by part, with less Python per key
    encoded = [p.encode("utf-8") for p in parts]
    return hashlib.sha256(b"".join(len(b).to_bytes(8, "little") + b for b in encoded)).hexdigest()


def signature_key(obj: Any) -> str:
    """A stable key for a JSON-serialisable signature (dict keys sorted)."""
    return content_key(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str))


def translation_key(system_signature: Mapping[str, Any], src_lang: str, tgt_lang: str, source: str) -> str:
    """Key of one translation: what the system is (its settings-only signature), the direction, the source."""
    return content_key(signature_key(system_signature), src_lang, tgt_lang, source)


def metric_key(signature: str, implementation: str) -> str:
    """What identifies a metric's statistics: its public signature (settings and package versions) and the
    tag of the harness code that extracts them, so a fix to that code never meets statistics it computed
    before (the tag is not part of the public signature: the numbers must not change)."""
    return content_key(signature, "implementation", implementation)


def statistics_key(metric: str, hypothesis: str, source: str, references: Sequence[str]) -> str:
    """Key of one segment's statistics under `metric_key(...)`; `source` is "" for metrics that do not read it."""
    return content_key(metric, hypothesis, source, *references)


def statistics_matrix_key(metric: str, rows: Sequence[tuple[str, ...]]) -> str:
    """Key of a whole system's statistics: every row's parts, each row's part count first (so the parts
    cannot be regrouped into other rows)."""
    return content_key(metric, "whole system", *(x for row in rows for x in (str(len(row)), *row)))


def file_hash_key(resolved_path: str, size: int, mtime_ns: int) -> str:
    return content_key("sha256", resolved_path, str(size), str(mtime_ns))


class Cache:
    """Namespaced key-value store. `Cache(None)` is a no-op cache (nothing stored, nothing found)."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path is not None else None
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=60)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("CREATE TABLE IF NOT EXISTS kv (ns TEXT, key TEXT, value TEXT, PRIMARY KEY (ns, key))")
        return self._conn

    def get_many(self, namespace: str, keys: Iterable[str]) -> dict[str, Any]:
        if self.path is None:
            return {}
        keys = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        db = self._db()
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i:i + _CHUNK]
            rows = db.execute(f"SELECT key, value FROM kv WHERE ns = ? AND key IN ({','.join('?' * len(chunk))})",
                              (namespace, *chunk)).fetchall()
            if rows:
                # one JSON document for the whole chunk: a single parser call instead of one per row
                values = json.loads("[" + ",".join(v for _, v in rows) + "]")
                found.update(zip((k for k, _ in rows), values))
        return found

    def put_many(self, namespace: str, items: Mapping[str, Any]) -> None:
        if self.path is None or not items:
            return
        db = self._db()
        with db:
            db.executemany("INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?, ?, ?)",
                           [(namespace, k, json.dumps(v, ensure_ascii=False)) for k, v in items.items()])

    def get_blob(self, namespace: str, key: str) -> bytes | None:
        """A binary value stored with `put_blob` (None if absent)."""
        if self.path is None:
            return None
        row = self._db().execute("SELECT value FROM kv WHERE ns = ? AND key = ?", (namespace, key)).fetchone()
        return bytes(row[0]) if row is not None and isinstance(row[0], (bytes, memoryview)) else None

    def put_blob(self, namespace: str, key: str, value: bytes) -> None:
        if self.path is None:
            return
        db = self._db()
        with db:
            db.execute("INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?, ?, ?)", (namespace, key, sqlite3.Binary(value)))

    def count(self, namespace: str) -> int:
        if self.path is None or not self.path.exists():
            return 0
        return self._db().execute("SELECT COUNT(*) FROM kv WHERE ns = ?", (namespace,)).fetchone()[0]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __getstate__(self):  # a connection cannot cross a process boundary; workers reopen
        return {"path": self.path, "_conn": None}


def cached_map(cache: Cache, namespace: str, keys: Sequence[str], compute) -> tuple[list[Any], int]:
    """Values for `keys`, computing only the missing ones with `compute(missing_indices) -> list[values]`.

    Returns (values in key order, number computed). Computed values are stored before returning."""
    found = cache.get_many(namespace, keys)
    missing = [i for i, k in enumerate(keys) if k not in found]
    if missing:
        new = compute(missing)
        if len(new) != len(missing):
            raise RuntimeError(f"cache fill for {namespace!r} returned {len(new)} values for {len(missing)} keys")
        fresh = {keys[i]: v for i, v in zip(missing, new)}
        cache.put_many(namespace, fresh)
        found.update(fresh)
    return [found[k] for k in keys], len(missing)
