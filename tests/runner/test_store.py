"""The record store: keys, append-only records, schema versioning, two writer processes.
Budget: ~2 s."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
from pathlib import Path

import pytest

from r2p.errors import ConfigError
from r2p.runner.store import SCHEMA_VERSION, Store, canonical_json, record_key


def test_key_is_canonical_and_sensitive() -> None:
    a = record_key({"k": 4, "method": "rag", "opts": {"x": 1, "y": 2}}, "q1")
    b = record_key({"opts": {"y": 2, "x": 1}, "method": "rag", "k": 4}, "q1")
    assert a == b and len(a) == 64
    assert a != record_key({"k": 2, "method": "rag", "opts": {"x": 1, "y": 2}}, "q1")
    assert a != record_key({"k": 4, "method": "rag", "opts": {"x": 1, "y": 2}}, "q2")
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'


def test_failures_do_not_count_as_done_and_rows_are_appended(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        store.put("k1", "q1", {"error": "down"}, "failed")
        assert store.get("k1") is None
        assert store.put("k1", "q1", {"answer": "a"}) == {"answer": "a"}
        # a second writer of the same key: its success is not stored, the first one returned
        assert store.put("k1", "q1", {"answer": "b"}) == {"answer": "a"}
        assert store.get("k1") == {"answer": "a"}
        assert store.count("k1") == 2 and store.count("k1", "ok") == 1
        assert store.get_many(["k1", "nope"]) == {"k1": {"answer": "a"}}
        store.put("k1", "q1", {"error": "again"}, "failed")  # failures are always appended
        assert store.count("k1", "failed") == 2
    with Store(tmp_path / "s.sqlite") as again:  # persisted, schema not re-applied
        assert again.count() == 3


def test_migration_keeps_the_first_success_per_key(tmp_path: Path) -> None:
    """A version-1 store (written before successes were unique) holding two successes for a
    key keeps the first, the one that was always served."""
    from r2p.runner.store import MIGRATIONS

    path = tmp_path / "v1.sqlite"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    for i, (key, status, answer) in enumerate([("k", "ok", "first"), ("k", "failed", "-"),
                                               ("k", "ok", "second"), ("j", "ok", "only")]):
        db.execute("INSERT INTO records (key, sample_id, status, record, created) VALUES "
                   "(?, ?, ?, ?, ?)", (key, "q", status, f'{{"answer": "{answer}"}}', i))
    db.commit()
    db.close()
    with Store(path) as store:
        assert [(k, st) for k, _, st in store.rows()] == [("k", "ok"), ("k", "failed"),
                                                          ("j", "ok")]
        assert store.get("k") == {"answer": "first"}
        assert store.put("k", "q", {"answer": "third"}) == {"answer": "first"}


def test_schema_version_and_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    Store(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(ConfigError, match="newer"):
        Store(path)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigError, match="junk.sqlite"):
        Store(junk)


def _writer(path: str, tag: str, n: int) -> None:
    store = Store(path)
    for i in range(n):
        store.put(f"{tag}-{i}", f"q{i}", {"i": i, "tag": tag})
    store.close()


def test_two_processes_writing_one_store_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, tag, 150)) for tag in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with Store(path) as store:
        rows = store.rows()
    assert len(rows) == 300 and len({k for k, _, _ in rows}) == 300


def test_opening_retries_while_another_process_sets_the_file_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # switching a new file to WAL while another process does the same can answer "database is
    # locked" at once (no busy wait); the set-up is tried again, an unusable file is not
    calls = []
    real = Store._set_up

    def flaky(self: Store, timeout: float) -> None:
        calls.append(timeout)
        if len(calls) < 3:
            raise sqlite3.OperationalError("database is locked")
        real(self, timeout)

    monkeypatch.setattr(Store, "_set_up", flaky)
    store = Store(tmp_path / "s.sqlite", timeout=5)
    assert len(calls) == 3 and store.path.exists()
    store.close()
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    calls.clear()
    monkeypatch.setattr(Store, "_set_up", real)
    with pytest.raises(ConfigError, match="not a usable r2p record store"):
        Store(bad, timeout=5)
