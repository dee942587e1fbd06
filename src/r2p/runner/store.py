"""The record store: an append-only SQLite log of per-sample results, shared across runs.

Every finished sample is one row, committed on its own, so a run killed at any moment (Ctrl-C,
SIGKILL, power loss) loses at most the samples in flight. Rows are keyed by :func:`record_key`,
a SHA-256 of the canonical JSON of exactly the settings that change an output plus the sample:
re-running a command skips keys already done, and two runs (or two sweeps, or two processes)
asking for the same generation share one result. Failures are rows too (``status = 'failed'``):
they are reported, never scored, and retried by the next run because only ``ok`` rows count as
done. Rows are never updated.

A key has at most one ``ok`` row, whatever the number of writers: a unique index keeps the
first success and :meth:`Store.put` of a later one returns the record that stands, so a second
process that computed the same sample (with sampling, possibly differently) writes the stored
answer, not its own. (Schema version 2 added that index and deleted the later duplicate
successes that older versions could write; they were never served, since a key's first ``ok``
row always was.)

The database runs in WAL mode with a busy timeout, so several processes can write one store at
once without losing rows. The schema is versioned with ``PRAGMA user_version``; migrations are a
list applied in order.

Example:
    >>> import tempfile, pathlib
    >>> with Store(pathlib.Path(tempfile.mkdtemp()) / "s.sqlite") as store:
    ...     key = record_key({"method": "rag", "k": 4}, "q1")
    ...     first = store.put(key, "q1", {"answer": "x"})
    ...     later = store.put(key, "q1", {"answer": "y"})  # another writer, same key
    ...     (later["answer"], store.get(key)["answer"], store.count(key))
    ('x', 'x', 1)
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import tenacity

from r2p.errors import ConfigError

#: Each entry migrates the schema from version i to i + 1.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS records (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        key       TEXT NOT NULL,
        sample_id TEXT NOT NULL,
        status    TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
        record    TEXT NOT NULL,
        created   REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS records_key_status ON records (key, status);
    """,
    """
    DELETE FROM records WHERE status = 'ok' AND seq NOT IN
        (SELECT MIN(seq) FROM records WHERE status = 'ok' GROUP BY key);
    CREATE UNIQUE INDEX IF NOT EXISTS records_one_ok ON records (key) WHERE status = 'ok';
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)

Status = Literal["ok", "failed"]


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no spaces and non-JSON values as strings: one text per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_key(settings: Mapping[str, Any], sample_id: str) -> str:
    """The store key of one sample under ``settings`` (hex SHA-256 of canonical JSON)."""
    payload = canonical_json({"settings": dict(settings), "sample": str(sample_id)})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _is_busy(exc: BaseException) -> bool:
    """SQLite's answer while another process holds the file: worth another try."""
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc))


class Store:
    """An append-only SQLite store of per-sample records.

    Thread-safe (one connection behind a lock); several processes may open the same file.

    Args:
        path: the database file (created with its parent directory when missing).
        timeout: seconds to wait for another process's write lock.

    Raises:
        ConfigError: the file is not a usable r2p store (not SQLite, or a newer schema).
    """

    def __init__(self, path: str | Path, *, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.DatabaseError as exc:  # a folder, a path that cannot be opened
            raise ConfigError(f"{self.path}: not a usable r2p record store ({exc})") from None
        # Two processes opening a new file at once: switching it to WAL (or the first
        # migration) can answer "database is locked" at once, without waiting on SQLite's
        # busy handler; the set-up is retried (tenacity) until ``timeout``.
        retry = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_is_busy),
            wait=tenacity.wait_random_exponential(multiplier=0.02, max=1.0),
            stop=tenacity.stop_after_delay(timeout), reraise=True)
        try:
            retry(self._set_up, timeout)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ConfigError(f"{self.path}: not a usable r2p record store ({exc})") from None

    def _set_up(self, timeout: float) -> None:
        self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version == 0:
            self._refuse_foreign()
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"{self.path}: store schema version {version} is newer than this r2p's "
                f"({SCHEMA_VERSION}); upgrade r2p"
            )
        while version < SCHEMA_VERSION:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                # Re-read under the write lock: another process may have migrated meanwhile.
                version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
                if version < SCHEMA_VERSION:
                    for stmt in MIGRATIONS[version].split(";"):
                        if stmt.strip():
                            self._db.execute(stmt)
                    version += 1
                    self._db.execute(f"PRAGMA user_version = {version}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _refuse_foreign(self) -> None:
        """A database without r2p's schema version must be empty (or hold only an r2p
        ``records`` table): r2p never adds its table to someone else's database."""
        tables = [r[0] for r in self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(records)")}
        if set(tables) - {"records"} or (
                columns and columns != {"seq", "key", "sample_id", "status", "record", "created"}):
            raise ConfigError(f"{self.path}: not an r2p record store (it holds table(s) "
                              f"{', '.join(sorted(tables))}); give --store a new file or an "
                              "existing r2p store")

    def put(
        self, key: str, sample_id: str, record: Mapping[str, Any], status: Status = "ok"
    ) -> dict[str, Any]:
        """Append one record and commit it; return the record that stands for ``key``.

        A failure is always appended (and returned). A success is kept only if ``key`` has
        none yet; otherwise the stored one is returned, so every writer uses the same answer.
        """
        text = canonical_json(dict(record))
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO records (key, sample_id, status, record, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, str(sample_id), status, text, time.time()),
            )
            if cur.rowcount == 1:
                return json.loads(text)
            row = self._db.execute(
                "SELECT record FROM records WHERE key = ? AND status = 'ok'", (key,)).fetchone()
        return dict(json.loads(row[0]))

    def get(self, key: str) -> dict[str, Any] | None:
        """The first ``ok`` record under ``key``, or None."""
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """``{key: first ok record}`` for the keys that have one."""
        out: dict[str, dict[str, Any]] = {}
        keys = list(dict.fromkeys(keys))
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, record FROM records WHERE status = 'ok' AND key IN ({marks}) "
                    "ORDER BY seq",
                    chunk,
                ).fetchall()
                for key, text in rows:
                    out.setdefault(key, json.loads(text))
        return out

    def count(self, key: str | None = None, status: Status | None = None) -> int:
        """Number of rows, optionally for one key and/or one status."""
        sql, args = "SELECT COUNT(*) FROM records WHERE 1 = 1", list[str]()
        if key is not None:
            sql, args = sql + " AND key = ?", [*args, key]
        if status is not None:
            sql, args = sql + " AND status = ?", [*args, status]
        with self._lock:
            return int(self._db.execute(sql, args).fetchone()[0])

    def rows(self) -> list[tuple[str, str, str]]:
        """Every row as ``(key, sample_id, status)`` in insertion order (for audits and tests)."""
        with self._lock:
            return list(
                self._db.execute("SELECT key, sample_id, status FROM records ORDER BY seq")
            )

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Store", "canonical_json", "record_key"]
