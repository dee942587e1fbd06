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
        store.put("k1", "q1", {"answer": "a"})
        store.put("k1", "q1", {"answer": "b"})  # a second writer of the same key
        assert store.get("k1") == {"answer": "a"}  # the first ok record wins
        assert store.count("k1") == 3 and store.count("k1", "ok") == 2
        assert store.get_many(["k1", "nope"]) == {"k1": {"answer": "a"}}
    with Store(tmp_path / "s.sqlite") as again:  # persisted, schema not re-applied
        assert again.count() == 3


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
