"""Profiles in memory: each user's items, validated for a task, reused until the user's store
revision changes.

A completion or a search needs the user's whole profile (the retriever ranks all of it). Reading
100,000 items from the store per request would dominate the request, so :class:`ProfileCache`
keeps the validated list per (tenant, user) and checks only the user's revision (one indexed
row) per request; the same list object is handed to the retriever every time, so its per-profile
index cache is hit too. Servers sharing one PostgreSQL store see each other's writes through the
revision. The least recently used users are dropped past ``max_items`` items in all.

Example:
    >>> from r2p.serve.store import ProfileStore
    >>> from r2p.tasks import GENERIC
    >>> store = ProfileStore("sqlite://")
    >>> _ = store.add_items("t", "ann", [{"id": "1", "text": "tea"}])
    >>> cache = ProfileCache(store)
    >>> cache.profile("t", "ann", GENERIC) is cache.profile("t", "ann", GENERIC)
    True
    >>> cache.profile("t", "nobody", GENERIC) is None
    True
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from r2p.methods.personalize import validate_profile
from r2p.serve.store import ProfileStore
from r2p.tasks import Task
from r2p.types import ProfileItem


@dataclass
class _Entry:
    revision: int
    items: list[ProfileItem]
    by_task: dict[str, list[ProfileItem]] = field(default_factory=dict)


class ProfileCache:
    """Validated profiles per (tenant, user), refreshed when the store's revision changes.

    Args:
        store: the profile store.
        max_items: items kept in memory across users (0 keeps none).
    """

    def __init__(self, store: ProfileStore, max_items: int = 500_000) -> None:
        self.store = store
        self.max_items = max_items
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def profile(self, tenant: str, user: str, task: Task) -> list[ProfileItem] | None:
        """The user's items validated for ``task`` (the same list while nothing changed), or
        None for an unknown user.

        Raises:
            DataError: an item lacks a field ``task`` needs.
        """
        key = (tenant, user)
        revision = self.store.revision(tenant, user)
        if revision is None:
            self.forget(tenant, user)
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.revision == revision:
                self._entries.move_to_end(key)
        if entry is None or entry.revision != revision:
            snap = self.store.snapshot(tenant, user)
            if snap is None:
                self.forget(tenant, user)
                return None
            entry = _Entry(*snap)
            self._put(key, entry)
        validated = entry.by_task.get(task.name)
        if validated is None:
            validated = validate_profile(entry.items, task, source=f"user {user!r}")
            entry.by_task[task.name] = validated
        return validated

    def _put(self, key: tuple[str, str], entry: _Entry) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= len(old.items)
            if len(entry.items) > self.max_items:
                return
            self._entries[key] = entry
            self._size += len(entry.items)
            while self._size > self.max_items and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self._size -= len(dropped.items)

    def forget(self, tenant: str, user: str) -> None:
        """Drop the user's profile from memory (after an erasure)."""
        with self._lock:
            old = self._entries.pop((tenant, user), None)
            if old is not None:
                self._size -= len(old.items)


__all__ = ["ProfileCache"]
