"""Fixtures of the server tests: a live server on loopback (fake engine unless a test gives
another), API keys for two tenants, and a throwaway PostgreSQL cluster.

The generic family's HRT prompt still waits in ``r2p/serve/pending_prompts`` until it is moved
into ``r2p/methods/prompts``; until then ``pending_prompt`` (autouse) lets the prompt loader
fall back to it, and does nothing once the file is in place.
"""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Callable, Iterator
from string import Template
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed")

from r2p.errors import ConfigError  # noqa: E402
from r2p.serve import ApiKeys, BackgroundServer, ProfileStore, ServeConfig, create_app  # noqa: E402
from r2p.serve.tempdb import TempPostgres, pg_bindir  # noqa: E402

KEY_A = "key-acme-0123456789"
KEY_B = "key-beta-0123456789"
KEYS = f"acme:{KEY_A},beta:{KEY_B}"


@pytest.fixture(autouse=True)
def pending_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve the pending generic HRT prompt while it is not in r2p/methods/prompts."""
    import r2p.methods.r2p.hrt as hrt

    original = hrt.load_prompt

    def load(name: str, version: str = hrt.PROMPT_VERSION) -> Template:
        try:
            return original(name, version)
        except ConfigError:
            ref = importlib.resources.files("r2p.serve").joinpath(
                "pending_prompts", f"{name}.{version}.txt")
            if not ref.is_file():
                raise
            return Template(ref.read_text(encoding="utf-8"))

    monkeypatch.setattr(hrt, "load_prompt", load)


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
