"""A persistent key -> JSON (or binary) value cache in one SQLite file, keyed by content hashes, and the one
place where its namespaces and keys are defined.

Used for translations (system signature + languages + source), metric statistics (metric signature +
implementation tag + hypothesis + source + references) and file hashes, so re-running an experiment
recomputes only what changed, and an interrupted run resumes. SQLite makes it safe for several processes
at once."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

log = logging.getLogger(__name__)

_CHUNK = 500  # SQLite's limit on bound parameters is 999 in old builds

# Namespaces: one per kind of value. Bump a namespace's version when the shape of its values changes.
TRANSLATIONS = "translations"              # value: hypothesis, or {"hyp": ..., "details": {...}}
STATISTICS = "statistics"                  # value: one row of a metric's per-segment statistics
SEGMENT_DETAILS = "segment_details"        # value: one segment's details (e.g. xCOMET error spans)
STATISTICS_MATRIX = "statistics-matrix"    # value (blob): a whole system's statistics, np.save format
STATISTICS_BLOCK = "statistics-block"      # value (blob): statistics of consecutive segments, np.save format
FILE_SHA256 = "file_sha256"                # value: the sha256 of a file, by path, size and mtime
SANITY = "sanity"                          # value: the flags (Flag.as_dict) of one output's or test set's checks


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


def rows_digest(rows: Iterable[Sequence[str]]) -> str:
    """A digest of rows of strings (unambiguous: each row's part count and each part's length go first),
    hashed one row at a time: no copy of a million segments' text."""
    h = hashlib.sha256()
    for row in rows:
        h.update(len(row).to_bytes(8, "little"))
        for part in row:
            data = part.encode("utf-8", "surrogatepass")
            h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()


def statistics_block_key(metric: str, block_digest: str) -> str:
    """Key of the statistics of a block of consecutive segments (string metrics cache them a block at a time)
    under `metric_key(...)`; `block_digest` is the `rows_digest` of the block's (hypothesis, source or "",
    references), which does not depend on the metric, so several metrics share it."""
    return content_key(metric, "block", block_digest)


def sanity_key(check: str, settings: Mapping[str, Any], rows: Iterable[Sequence[str]]) -> str:
    """Key of the sanity flags of one output (check "hypotheses": rows of source, hypothesis, references) or
    test set ("references": source, references). `settings` holds the thresholds, the languages and the
    checks' implementation tag."""
    return content_key(check, signature_key(settings), rows_digest(rows))


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
            folder = self.path.parent
            if folder.exists() and not folder.is_dir():
                raise HarnessError(f"cache folder {folder} is a file; give a folder (--cache-dir, paths.cache_dir or "
                                   f"MT_HARNESS_CACHE), or no cache")
            try:
                folder.mkdir(parents=True, exist_ok=True)
                self._conn = self._open()
            except sqlite3.DatabaseError as e:
                self._move_aside(e)
                self._conn = self._open()
            except OSError as e:
                raise HarnessError(f"cannot use the cache folder {folder}: {e.strerror or e}; give a folder you can "
                                   f"write (--cache-dir, paths.cache_dir or MT_HARNESS_CACHE), or no cache") from None
        return self._conn

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS kv (ns TEXT, key TEXT, value TEXT, PRIMARY KEY (ns, key))")
            conn.execute("SELECT COUNT(*) FROM kv WHERE ns = ''").fetchone()  # reads the table: fails if damaged
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _move_aside(self, error: Exception) -> None:
        """A truncated or foreign cache file is kept (renamed) and a new cache started: nothing is lost that the
        user wrote, and the run goes on (it recomputes what the damaged cache held)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        for suffix in ("-wal", "-shm"):
            self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
        self.path.replace(aside)
        log.warning("cache %s is not a usable SQLite database (%s); moved it to %s and started a new one",
                    self.path, error, aside)

    def _guarded(self, operation):
        """`operation(connection)`, once more on a fresh cache if the database turns out to be damaged."""
        try:
            return operation(self._db())
        except sqlite3.DatabaseError as e:
            if isinstance(e, sqlite3.OperationalError) and "locked" in str(e):
                raise
            self._move_aside(e)
            return operation(self._db())

    def _stored(self, namespace: str, keys: Iterable[str]) -> list[tuple[str, Any]]:
        """(key, stored value) of the `keys` present in `namespace`, read a chunk of keys per query."""
        if self.path is None:
            return []
        keys = list(dict.fromkeys(keys))

        def read(db: sqlite3.Connection) -> list[tuple[str, Any]]:
            rows: list[tuple[str, Any]] = []
            for i in range(0, len(keys), _CHUNK):
                chunk = keys[i:i + _CHUNK]
                rows += db.execute(f"SELECT key, value FROM kv WHERE ns = ? AND key IN ({','.join('?' * len(chunk))})",
                                   (namespace, *chunk)).fetchall()
            return rows

        return self._guarded(read)

    def _store(self, namespace: str, items: list[tuple[str, Any]]) -> None:
        """Store (key, value) pairs in `namespace`, all of them or none (one transaction)."""
        if self.path is None or not items:
            return
        rows = [(namespace, k, v) for k, v in items]

        def write(db: sqlite3.Connection) -> None:
            with db:
                db.executemany("INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?, ?, ?)", rows)

        self._guarded(write)

    def get_many(self, namespace: str, keys: Iterable[str]) -> dict[str, Any]:
        """JSON values stored with `put_many`, by key (absent keys are left out)."""
        rows = [(k, v) for k, v in self._stored(namespace, keys) if isinstance(v, str)]
        found: dict[str, Any] = {}
        for i in range(0, len(rows), _CHUNK):  # one JSON document per chunk: a parser call per 500 rows, not per row
            chunk = rows[i:i + _CHUNK]
            found.update(zip((k for k, _ in chunk), json.loads("[" + ",".join(v for _, v in chunk) + "]")))
        return found

    def put_many(self, namespace: str, items: Mapping[str, Any]) -> None:
        self._store(namespace, [(k, json.dumps(v, ensure_ascii=False)) for k, v in items.items()])

    def get_blobs(self, namespace: str, keys: Iterable[str]) -> dict[str, bytes]:
        """Binary values stored with `put_blobs`, by key (absent keys are left out)."""
        return {k: bytes(v) for k, v in self._stored(namespace, keys) if isinstance(v, (bytes, memoryview))}

    def put_blobs(self, namespace: str, items: Mapping[str, bytes]) -> None:
        self._store(namespace, [(k, sqlite3.Binary(v)) for k, v in items.items()])

    def get_blob(self, namespace: str, key: str) -> bytes | None:
        """One binary value stored with `put_blob(s)` (None if absent)."""
        return self.get_blobs(namespace, [key]).get(key)

    def put_blob(self, namespace: str, key: str, value: bytes) -> None:
        self.put_blobs(namespace, {key: value})

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
