"""The per-user profile store: SQLAlchemy Core over SQLite (default) or PostgreSQL.

Two tables. ``profile_users`` holds one row per (tenant, user) with a ``revision`` that every
write bumps (servers sharing one PostgreSQL store compare it to know when their in-memory copy
of a profile is stale). ``profile_items`` holds the items, each as its JSON text, in insertion
order (``seq``); (tenant, user, item id) is unique.

* A batch of items is written in one transaction: all of it or none (a duplicate id, in the
  batch or already stored, fails the whole batch).
* SQLite runs in WAL mode with ``secure_delete`` on, writes take the write lock up front
  (``BEGIN IMMEDIATE``, so concurrent writers wait instead of failing), and erasing a user
  checkpoints and truncates the WAL: a deleted user's text is left neither in the database
  file nor in its WAL.
* PostgreSQL is reached through psycopg (3); erasing a user deletes its rows and vacuums both
  tables so that the freed tuples are reclaimed.

Example:
    >>> store = ProfileStore("sqlite://")
    >>> store.add_items("t", "ann", [{"id": "1", "text": "I bake bread."}])
    1
    >>> [i["text"] for i in store.items("t", "ann")]
    ['I bake bread.']
    >>> store.delete_user("t", "ann"), store.revision("t", "ann")
    (1, None)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from r2p.errors import ConfigError, R2PError
from r2p.types import ProfileItem

SCHEMA_VERSION = 1
"""The store's schema version (``store_meta``); a store written by a newer r2p is refused."""

ID_CHARS = 256
"""The longest tenant, user or item id."""

metadata = sa.MetaData()

users = sa.Table(
    "profile_users", metadata,
    sa.Column("tenant", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(ID_CHARS), primary_key=True),
    sa.Column("revision", sa.BigInteger, nullable=False),
)

items = sa.Table(
    "profile_items", metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("tenant", sa.String(64), nullable=False),
    sa.Column("user_id", sa.String(ID_CHARS), nullable=False),
    sa.Column("item_id", sa.String(ID_CHARS), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.UniqueConstraint("tenant", "user_id", "item_id", name="profile_items_key"),
    sa.Index("profile_items_order", "tenant", "user_id", "seq"),
)

store_meta = sa.Table(
    "store_meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)


class StoreError(R2PError):
    """The profile store failed (unreachable database, a write that could not complete)."""


class ConflictError(R2PError):
    """A write names an item id that is already stored (or twice in one batch)."""


def _dumps(item: ProfileItem) -> str:
    return json.dumps(item, ensure_ascii=False, separators=(",", ":"))


class ProfileStore:
    """Profile items per (tenant, user), in SQLite or PostgreSQL.

    Args:
        url: an SQLAlchemy URL (``sqlite:///path``, ``sqlite://`` for memory,
            ``postgresql+psycopg://...``; see :func:`r2p.serve.config.store_url`).
        pool_size: connections kept open (PostgreSQL).

    Raises:
        ConfigError: a URL SQLAlchemy cannot read, or a store of a newer schema.
        StoreError: the database cannot be reached or created.
    """

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        try:
            u = sa.engine.make_url(url)
        except sa.exc.ArgumentError as exc:
            raise ConfigError(f"store URL {url!r}: {exc}") from None
        self.dialect = u.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ConfigError(f"store: unsupported database {self.dialect!r} (sqlite or "
                              "postgresql)")
        self.url = u
        self.engine = self._engine(u, pool_size)
        self._erase_lock = threading.Lock()
        try:
            metadata.create_all(self.engine)
            self._check_schema()
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise StoreError(f"store {u.render_as_string(hide_password=True)}: "
                             f"{_first_line(exc)}") from None

    # -- set-up -------------------------------------------------------------------------------
    def _engine(self, u: sa.URL, pool_size: int) -> Engine:
        if self.dialect == "postgresql":
            return sa.create_engine(u, pool_size=pool_size, max_overflow=2 * pool_size,
                                    pool_pre_ping=True)
        memory = u.database in (None, "", ":memory:")
        engine = sa.create_engine(
            u, connect_args={"check_same_thread": False, "timeout": 30},
            **({"poolclass": StaticPool} if memory else {"pool_size": pool_size,
                                                          "max_overflow": 2 * pool_size}))

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Transactions are begun by the "begin" hook below, not by the driver.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA secure_delete=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # A writer takes the write lock at once: a deferred transaction that later needs
            # it fails with "database is locked" instead of waiting.
            write = conn.get_execution_options().get("r2p_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    def _check_schema(self) -> None:
        with self._write() as conn:
            row = conn.execute(sa.select(store_meta.c.value).where(
                store_meta.c.key == "schema")).first()
            if row is None:
                conn.execute(sa.insert(store_meta).values(key="schema",
                                                          value=str(SCHEMA_VERSION)))
            elif int(row[0]) > SCHEMA_VERSION:
                raise ConfigError(f"store schema {row[0]} is newer than this r2p's "
                                  f"({SCHEMA_VERSION}); upgrade r2p")

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(r2p_write=True) as conn, conn.begin():
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except OperationalError as exc:
            raise StoreError(f"store: {_first_line(exc)}") from None

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    # -- writes -------------------------------------------------------------------------------
    def add_items(self, tenant: str, user: str, batch: Sequence[ProfileItem]) -> int:
        """Store ``batch`` (dicts with a string ``id``) for ``user``, all or nothing.

        Returns:
            The number of items stored.

        Raises:
            ConflictError: an id repeated in the batch or already stored (nothing written).
            StoreError: the database failed (nothing written).
        """
        ids = [str(it["id"]) for it in batch]
        seen: set[str] = set()
        for i in ids:
            if i in seen:
                raise ConflictError(f"item id {i!r} appears twice in the batch")
            seen.add(i)
        if not batch:
            return 0
        now = time.time()
        rows = [{"tenant": tenant, "user_id": user, "item_id": i, "body": _dumps(it),
                 "created": now} for i, it in zip(ids, batch)]
        try:
            with self._write() as conn:
                conn.execute(self._bump(tenant, user))
                conn.execute(sa.insert(items), rows)
        except IntegrityError:
            taken = self._existing(tenant, user, ids)
            raise ConflictError(
                f"item id(s) already stored for this user: {', '.join(map(repr, taken[:5]))}"
                + (f" and {len(taken) - 5} more" if len(taken) > 5 else "")
                + "; nothing was written") from None
        except OperationalError as exc:
            raise StoreError(f"store: {_first_line(exc)}; nothing was written") from None
        return len(rows)

    def _bump(self, tenant: str, user: str) -> Any:
        """An upsert that creates the user or bumps its revision."""
        from sqlalchemy.dialects import postgresql, sqlite

        dialect: Any = postgresql if self.dialect == "postgresql" else sqlite
        ins = dialect.insert(users).values(tenant=tenant, user_id=user, revision=1)
        return ins.on_conflict_do_update(index_elements=[users.c.tenant, users.c.user_id],
                                         set_={"revision": users.c.revision + 1})

    def _existing(self, tenant: str, user: str, ids: list[str]) -> list[str]:
        found: list[str] = []
        with self._read() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                found += [r[0] for r in conn.execute(
                    sa.select(items.c.item_id).where(
                        items.c.tenant == tenant, items.c.user_id == user,
                        items.c.item_id.in_(chunk)))]
        order = {i: n for n, i in enumerate(ids)}
        return sorted(found, key=lambda i: order.get(i, 0))

    def delete_item(self, tenant: str, user: str, item_id: str) -> bool:
        """Delete one item; False when there was no such item."""
        try:
            with self._write() as conn:
                n = conn.execute(sa.delete(items).where(
                    items.c.tenant == tenant, items.c.user_id == user,
                    items.c.item_id == item_id)).rowcount
                if n:
                    conn.execute(sa.update(users).where(
                        users.c.tenant == tenant, users.c.user_id == user).values(
                        revision=users.c.revision + 1))
        except OperationalError as exc:
            raise StoreError(f"store: {_first_line(exc)}") from None
        return bool(n)

    def delete_user(self, tenant: str, user: str) -> int | None:
        """Erase ``user``: every item and the user row; None when the user is unknown.

        Returns:
            The number of items deleted.
        """
        try:
            with self._write() as conn:
                n = conn.execute(sa.delete(items).where(
                    items.c.tenant == tenant, items.c.user_id == user)).rowcount
                gone = conn.execute(sa.delete(users).where(
                    users.c.tenant == tenant, users.c.user_id == user)).rowcount
        except OperationalError as exc:
            raise StoreError(f"store: {_first_line(exc)}") from None
        if not gone:
            return None
        self._scrub()
        return int(n)

    def _scrub(self) -> None:
        """Leave no copy of deleted rows behind: SQLite's WAL still holds the pages as they
        were before the delete until it is checkpointed and truncated; PostgreSQL keeps dead
        tuples until a vacuum."""
        with self._erase_lock, self.engine.connect() as conn:
            if self.dialect == "sqlite":
                for _ in range(50):  # a reader still on an old snapshot blocks the truncate
                    busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
                    if busy is None or not busy[0]:
                        break
                    time.sleep(0.02)
            else:
                auto = conn.execution_options(isolation_level="AUTOCOMMIT")
                auto.exec_driver_sql("VACUUM profile_items, profile_users")

    # -- reads --------------------------------------------------------------------------------
    def revision(self, tenant: str, user: str) -> int | None:
        """The user's revision (changes on every write), or None for an unknown user."""
        with self._read() as conn:
            row = conn.execute(sa.select(users.c.revision).where(
                users.c.tenant == tenant, users.c.user_id == user)).first()
        return None if row is None else int(row[0])

    def items(self, tenant: str, user: str, *, limit: int | None = None,
              after: str | None = None) -> list[ProfileItem]:
        """The user's items in insertion order, from after the item ``after`` (exclusive),
        at most ``limit`` of them (all by default).

        Raises:
            KeyError: ``after`` is not one of the user's items.
        """
        q = sa.select(items.c.body).where(items.c.tenant == tenant, items.c.user_id == user)
        with self._read() as conn:
            if after is not None:
                seq = conn.execute(sa.select(items.c.seq).where(
                    items.c.tenant == tenant, items.c.user_id == user,
                    items.c.item_id == after)).scalar()
                if seq is None:
                    raise KeyError(after)
                q = q.where(items.c.seq > seq)
            q = q.order_by(items.c.seq)
            if limit is not None:
                q = q.limit(limit)
            return [json.loads(r[0]) for r in conn.execute(q)]

    def snapshot(self, tenant: str, user: str) -> tuple[int, list[ProfileItem]] | None:
        """``(revision, all items)`` read in one transaction, or None for an unknown user."""
        with self._read() as conn:
            row = conn.execute(sa.select(users.c.revision).where(
                users.c.tenant == tenant, users.c.user_id == user)).first()
            if row is None:
                return None
            rows = conn.execute(sa.select(items.c.body).where(
                items.c.tenant == tenant, items.c.user_id == user).order_by(items.c.seq))
            return int(row[0]), [json.loads(r[0]) for r in rows]

    def get_item(self, tenant: str, user: str, item_id: str) -> ProfileItem | None:
        """One item, or None."""
        with self._read() as conn:
            body = conn.execute(sa.select(items.c.body).where(
                items.c.tenant == tenant, items.c.user_id == user,
                items.c.item_id == item_id)).scalar()
        return None if body is None else dict(json.loads(body))

    def count(self, tenant: str, user: str) -> int:
        """The number of the user's items."""
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(items).where(
                items.c.tenant == tenant, items.c.user_id == user)).scalar() or 0)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(exc).__name__


__all__ = ["ID_CHARS", "SCHEMA_VERSION", "ConflictError", "ProfileStore", "StoreError"]
