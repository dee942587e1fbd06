"""The profile store on SQLite (a file, WAL) and on a real PostgreSQL server."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from r2p.serve.config import store_url
from r2p.serve.store import ConflictError, ProfileStore


def _items(n: int, tag: str = "item", start: int = 0) -> list[dict[str, object]]:
    return [{"id": f"{tag}{i}", "text": f"{tag} text number {i}", "n": i}
            for i in range(start, start + n)]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ProfileStore:
    if request.param == "sqlite":
        s = ProfileStore(store_url(str(tmp_path / "p.sqlite")))
        request.addfinalizer(s.close)
        return s
    return request.getfixturevalue("pg_store")


def test_batches_are_all_or_nothing(store: ProfileStore) -> None:
    assert store.add_items("t", "ann", _items(3)) == 3
    rev = store.revision("t", "ann")
    with pytest.raises(ConflictError, match="item1"):
        store.add_items("t", "ann", [{"id": "new", "text": "x"}, {"id": "item1", "text": "y"}])
    with pytest.raises(ConflictError, match="twice"):
        store.add_items("t", "ann", [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}])
    assert store.count("t", "ann") == 3
    assert store.get_item("t", "ann", "new") is None
    assert store.revision("t", "ann") == rev


def test_order_pages_and_deletes(store: ProfileStore) -> None:
    store.add_items("t", "ann", _items(5))
    store.add_items("t", "ann", [{"id": "late", "text": "later", "timestamp": "2024-05-01"}])
    assert [i["id"] for i in store.items("t", "ann", limit=2)] == ["item0", "item1"]
    assert [i["id"] for i in store.items("t", "ann", after="item4")] == ["late"]
    assert store.get_item("t", "ann", "item2") == {"id": "item2", "text": "item text number 2",
                                                   "n": 2}
    with pytest.raises(KeyError):
        store.items("t", "ann", after="nope")
    rev = store.revision("t", "ann")
    assert store.delete_item("t", "ann", "item0") and not store.delete_item("t", "ann", "item0")
    assert store.revision("t", "ann") != rev
    assert store.delete_user("t", "ann") == 5
    assert store.revision("t", "ann") is None and store.delete_user("t", "ann") is None


def test_tenants_are_apart(store: ProfileStore) -> None:
    store.add_items("acme", "ann", _items(2))
    store.add_items("beta", "ann", _items(1, "b"))
    assert [i["id"] for i in store.items("beta", "ann")] == ["b0"]
    assert store.delete_user("beta", "ann") == 1
    assert store.count("acme", "ann") == 2


def test_concurrent_writers_lose_nothing(store: ProfileStore) -> None:
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for b in range(5):
                store.add_items("t", "ann", _items(10, f"w{w}b{b}-"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert store.count("t", "ann") == 6 * 5 * 10
    assert store.revision("t", "ann") == 6 * 5


def test_two_replicas_share_a_postgres_store(pg_store: ProfileStore, postgres: str) -> None:
    other = ProfileStore(postgres)
    try:
        pg_store.add_items("t", "ann", _items(2))
        assert other.revision("t", "ann") == pg_store.revision("t", "ann")
        other.add_items("t", "ann", _items(1, "x"))
        assert [i["id"] for i in pg_store.items("t", "ann")] == ["item0", "item1", "x0"]
    finally:
        other.close()


def test_erasure_leaves_nothing_in_the_sqlite_files(tmp_path: Path) -> None:
    path = tmp_path / "p.sqlite"
    store = ProfileStore(store_url(str(path)))
    secret = "ZEBRA-SECRET-7731"
    store.add_items("t", "victim-user", [{"id": f"v{i}", "text": f"{secret} {i} " * 20}
                                         for i in range(300)])
    store.add_items("t", "keeper", [{"id": "k", "text": "stays"}])
    reader = store.engine.connect()  # an open reader must not keep the old pages alive
    try:
        files = [p for p in tmp_path.iterdir() if p.name.startswith("p.sqlite")]
        assert any(secret.encode() in p.read_bytes() for p in files)
        assert store.delete_user("t", "victim-user") == 300
    finally:
        reader.close()
    files = [p for p in tmp_path.iterdir() if p.name.startswith("p.sqlite")]
    assert {p.name for p in files} >= {"p.sqlite"}
    for p in files:
        data = p.read_bytes()
        assert secret.encode() not in data, p.name
        assert b"victim-user" not in data, p.name
    assert store.count("t", "keeper") == 1
    store.close()


def test_store_urls() -> None:
    assert store_url("postgres://u:pw@h/db") == "postgresql+psycopg://u:pw@h/db"
    assert store_url(":memory:") == "sqlite://"
    with pytest.raises(Exception, match="only SQLite"):
        store_url("mysql://h/db")
