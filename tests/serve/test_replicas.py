"""Several servers on one PostgreSQL store see each other's writes and erasures; erasure
through the API leaves nothing of the user in the SQLite files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from r2p.serve import BackgroundServer, ProfileStore, ServeConfig
from r2p.serve.config import store_url

Start = Callable[..., BackgroundServer]


def test_two_replicas_share_one_postgres_store(start: Start, postgres: str,
                                               pg_store: ProfileStore) -> None:
    a = httpx.Client(base_url=start(store=ProfileStore(postgres)).url, timeout=30)
    b = httpx.Client(base_url=start(store=ProfileStore(postgres)).url, timeout=30)
    q = {"query": "granite climbing", "k": 3}
    assert a.post("/v1/users/ann/items", json={"items": [
        {"id": "1", "text": "tea and books"}]}).status_code == 201
    assert [h["id"] for h in b.post("/v1/users/ann/search", json=q).json()["data"]] == ["1"]
    assert b.post("/v1/users/ann/items", json={"items": [
        {"id": "2", "text": "granite climbing trips"}]}).status_code == 201
    # a's profile in memory is refreshed by the store revision b bumped
    assert [h["id"] for h in a.post("/v1/users/ann/search", json=q).json()["data"]] == \
        ["2", "1"]
    assert b.post("/v1/users/ann/items", json={"items": [
        {"id": "1", "text": "dup"}]}).status_code == 409
    assert b.delete("/v1/users/ann").status_code == 200
    assert a.post("/v1/users/ann/search", json=q).status_code == 404
    r = a.post("/v1/chat/completions", json={"model": "rag", "user": "ann", "messages": [
        {"role": "user", "content": "hi"}]})
    assert r.status_code == 404


def test_erasure_through_the_api_reaches_the_files(start: Start, tmp_path: Path) -> None:
    path = tmp_path / "profiles.sqlite"
    srv = start(ServeConfig(backend="fake"), store=ProfileStore(store_url(str(path))))
    http = httpx.Client(base_url=srv.url, timeout=30)
    secret = "QUOKKA-PRIVATE-5521"
    items = [{"id": f"x{i}", "text": f"{secret} diary entry {i}", "mood": secret}
             for i in range(200)]
    assert http.post("/v1/users/erin/items", json={"items": items}).status_code == 201
    r = http.post("/v1/chat/completions", json={"model": "r2p", "user": "erin", "messages": [
        {"role": "user", "content": "How was my week?"}]})
    assert r.status_code == 200
    assert http.delete("/v1/users/erin").json()["items_deleted"] == 200
    files = sorted(p for p in tmp_path.iterdir() if p.name.startswith("profiles.sqlite"))
    assert files
    for p in files:
        assert secret.encode() not in p.read_bytes(), p.name
        assert b"erin" not in p.read_bytes(), p.name
    assert http.get("/v1/users/erin/items").status_code == 404
