"""A persistent key -> JSON (or binary) value cache in one SQLite file, keyed by content hashes.

Used for translations (system signature + source), metric statistics (metric signature + hypothesis +
references) and neural-metric scores, so re-running an experiment recomputes only what changed, and an
interrupted run resumes. SQLite makes it safe for several processes at once."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

_CHUNK = 500  # SQLite's limit on bound parameters is 999 in old builds


def content_key(*parts: str) -> str:
    """A stable key for a tuple of strings (unambiguous: parts are length-prefixed)."""
    # one update of the joined bytes: the same digest as updating part by part, with less Python per key
    encoded = [p.encode("utf-8") for p in parts]
    return hashlib.sha256(b"".join(len(b).to_bytes(8, "little") + b for b in encoded)).hexdigest()


def signature_key(obj: Any) -> str:
    """A stable key for a JSON-serialisable signature (dict keys sorted)."""
    return content_key(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str))


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
