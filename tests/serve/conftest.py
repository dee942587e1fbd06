"""Fixtures of the server tests: a live server on loopback (fake engine unless a test gives
another), API keys for two tenants, and a throwaway PostgreSQL cluster."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")

from r2p.serve import ApiKeys, BackgroundServer, ProfileStore, ServeConfig, create_app  # noqa: E402
from r2p.serve.tempdb import TempPostgres, pg_bindir  # noqa: E402

KEY_A = "key-acme-0123456789"
KEY_B = "key-beta-0123456789"
KEYS = f"acme:{KEY_A},beta:{KEY_B}"


@pytest.fixture
def start() -> Iterator[Callable[..., BackgroundServer]]:
    """``start(cfg=None, backend=None, store=None, keys=None)``: a live server (stopped after
    the test); an in-memory SQLite store and the fake engine by default."""
    servers: list[BackgroundServer] = []

    def _start(cfg: ServeConfig | None = None, *, backend: Any = None,
               store: ProfileStore | None = None, keys: ApiKeys | None = None
               ) -> BackgroundServer:
        cfg = cfg or ServeConfig(backend="fake")
        app = create_app(cfg, backend=backend,
                         store=store if store is not None else ProfileStore("sqlite://"),
                         keys=keys)
        srv = BackgroundServer(app).start()
        servers.append(srv)
        return srv

    yield _start
    for srv in servers:
        srv.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The URL of a throwaway PostgreSQL cluster (skipped when PostgreSQL is not installed,
    unless R2P_REQUIRE_POSTGRES=1 makes it a failure)."""
    if pg_bindir() is None:
        if os.environ.get("R2P_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL (initdb, pg_ctl) is required here but not installed")
        pytest.skip("PostgreSQL is not installed (initdb and pg_ctl not found)")
    with TempPostgres() as pg:
        yield pg.url


@pytest.fixture
def pg_store(postgres: str) -> Iterator[ProfileStore]:
    """A store on the throwaway cluster, emptied after the test."""
    store = ProfileStore(postgres)
    yield store
    with store.engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE profile_items, profile_users")
    store.close()
