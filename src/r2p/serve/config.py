"""The server's settings: one frozen, validated :class:`ServeConfig`.

Built once at the edge (``r2p serve`` flags, or a caller of :func:`r2p.serve.create_app`) and
never changed afterwards; every limit the server enforces lives here.

Example:
    >>> cfg = ServeConfig(method="rag", k=2)
    >>> cfg.store_url
    'sqlite:///r2p-profiles.sqlite'
    >>> ServeConfig(k=-1)                                    # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    r2p.errors.ConfigError: serve option k: Input should be greater than or equal to 0...
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from r2p._validation import config_error
from r2p.errors import ConfigError

DEFAULT_STORE = "r2p-profiles.sqlite"
"""The SQLite file used when no ``--store`` is given (in the working directory)."""


def store_url(store: str) -> str:
    """A ``--store`` value (a file path or a database URL) as an SQLAlchemy URL.

    ``postgresql://`` and ``postgres://`` URLs use the psycopg (3) driver; a path becomes an
    ``sqlite:///`` URL; ``:memory:`` is an in-memory SQLite database.

    Example:
        >>> store_url("postgresql://u@db/r2p")
        'postgresql+psycopg://u@db/r2p'
        >>> store_url("/var/lib/r2p.db")
        'sqlite:////var/lib/r2p.db'
    """
    s = store.strip()
    if not s:
        raise ConfigError("--store is empty")
    for scheme in ("postgresql://", "postgres://"):
        if s.startswith(scheme):
            return "postgresql+psycopg://" + s[len(scheme):]
    if s.startswith(("postgresql+", "sqlite:")):
        return s
    if "://" in s:
        raise ConfigError(f"--store {s!r}: only SQLite files and postgresql:// URLs are "
                          "supported")
    if s == ":memory:":
        return "sqlite://"
    return f"sqlite:///{Path(s).expanduser()}"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ServeConfig(BaseModel):
    """What ``r2p serve`` runs with.

    Attributes:
        host, port: where to listen (with no API key the host must be loopback).
        store: SQLite file path or ``postgresql://`` URL of the profile store.
        backend: backend registry name; ``backend_options``: its options (``model``,
            ``base_url``...).
        method: the method used when a request's ``model`` names none of the methods;
            ``method_options``: its options (e.g. ``{"max_interventions": 2}``), checked when
            the server starts; a request's own settings (budget, temperature, seed) win.
        synthesis: how R2P methods write stage 2, the user-profile synthesis: ``"user"``
            (default) once per user and profile version, then reused by that user's later
            requests (:mod:`r2p.methods.r2p.synthesis`); ``"query"`` for every request. A
            method option ``synthesis`` wins.
        k: profile items retrieved per completion; ``retriever``: retriever registry name.
        max_body_bytes: the largest request body accepted (413 beyond).
        max_batch_items: the most items one ``POST /v1/users/{user}/items`` may carry.
        max_item_chars: the longest item (its JSON text) accepted.
        max_input_chars: the longest conversation (all message texts) accepted.
        max_tokens: answer budget when a request gives none; ``max_tokens_limit``: the largest
            a request may ask for.
        profile_cache_items: profile items kept in memory across users (least recently used
            users are dropped first).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    store: str = DEFAULT_STORE
    backend: str = "llamacpp"
    backend_options: dict[str, Any] = Field(default_factory=dict)
    method: str = "r2p"
    method_options: dict[str, Any] = Field(default_factory=dict)
    synthesis: Literal["user", "query"] = "user"
    k: int = Field(4, ge=0, le=64)
    retriever: str = "bm25"
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    max_batch_items: int = Field(1000, ge=1)
    max_item_chars: int = Field(32_000, ge=16)
    max_input_chars: int = Field(64_000, ge=16)
    max_tokens: int = Field(256, ge=1)
    max_tokens_limit: int = Field(4096, ge=1)
    profile_cache_items: int = Field(500_000, ge=0)

    def __init__(self, **options: Any) -> None:
        try:
            super().__init__(**options)
        except ValidationError as exc:
            raise config_error(exc, "serve", type(self).model_fields) from None

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        from r2p.methods.registry import METHODS

        if value not in METHODS:
            raise ValueError(f"unknown method; choose from: {', '.join(METHODS)}")
        return value

    @property
    def store_url(self) -> str:
        """The store as an SQLAlchemy URL (see :func:`store_url`)."""
        return store_url(self.store)


__all__ = ["DEFAULT_STORE", "ServeConfig", "is_loopback", "store_url"]
