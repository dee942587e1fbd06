"""The user's profile synthesis, computed once per profile version and reused
(``synthesis="user"``).

By default (``synthesis="query"``) every thought writes its own stage 2 over the items retrieved
for that query. A user who sends many queries (always, when serving) then pays for a new
synthesis of the same history each time. With ``synthesis="user"`` stage 2 is written once
over a query-independent sample of the user's history (:func:`history_sample`:
``synthesis_items`` items spread evenly over the profile), with the same checks and corrections
(RPI) as a per-query stage 2, and kept in a process-wide cache (:data:`SYNTHESES`). Every later
thought for that user starts with it prefilled and goes straight to stage 3 and the answer.

The cache key (:func:`synthesis_key`) is a hash of everything the synthesis depends on: the
engine's identity, the task, the options that shape stage 2, and the rendered prompt (which
holds the sampled items' text). A profile that grows or shrinks moves the sample, and an edit
to a sampled item changes its text: either gives a new key, so a synthesis is only ever reused
with the very items it was written from (an edit to an item outside the sample keeps it). The
cached text's ``[Pi]`` citations name the sample's items, not the query's ``[P1]..[Pk]``, so
they are renamed ``[Hi]`` (history) when kept (:func:`as_history`); its grounding
(``support``) is the one measured against the sample.

The first query of a user pays for the synthesis (its calls and tokens are in that query's
record, under a ``user_synthesis`` check); a reuse costs nothing and is recorded as a passed
``user_synthesis`` check naming the key.

Example:
    >>> [i["id"] for i in history_sample([{"id": str(i)} for i in range(10)], 4)]
    ['0', '3', '6', '9']
    >>> as_history("[P1] and [P2] show a generous user.")
    '[H1] and [H2] show a generous user.'
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from r2p.types import ProfileItem

CACHE_ENTRIES = 4096
"""Syntheses kept in :data:`SYNTHESES` (least recently used dropped first)."""
HISTORY_REQUEST = ("(Stage 2 only: this synthesis is kept for every request of this user, so "
                   "describe the user, not a request.)")
"""What the synthesis prompt shows where the HRT template shows the request."""

_CITATION = re.compile(r"\[P(\d+)\]")


def history_sample(profile: Sequence[ProfileItem], n: int) -> list[ProfileItem]:
    """``n`` items spread evenly over ``profile`` (all of it when shorter): the user's history
    as the synthesis sees it, whatever the query."""
    if len(profile) <= n:
        return list(profile)
    if n == 1:
        return [profile[-1]]
    step = (len(profile) - 1) / (n - 1)
    return [profile[round(i * step)] for i in range(n)]


def as_history(text: str) -> str:
    """``text`` with its citations ``[Pi]`` of the history sample renamed ``[Hi]``, so that a
    query's thought does not read them as its own retrieved items."""
    return _CITATION.sub(r"[H\1]", text)


def synthesis_key(identity: dict[str, Any], task: str, options: dict[str, Any],
                  messages: Sequence[dict[str, Any]]) -> str:
    """A hex digest of everything a synthesis depends on."""
    blob = json.dumps([identity, task, options, list(messages)], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Synthesis:
    """A user's stage 2, ready to be prefilled.

    Attributes:
        text: the synthesis, its citations renamed (:func:`as_history`).
        support: its grounding in the sampled items, in [0, 1].
        key: the cache key (:func:`synthesis_key`).
        items: how many profile items it was written from.
        injected: RPI's corrections inside it (the method's own text: an answer repeating
            one is no answer).
    """

    text: str
    support: float
    key: str
    items: int
    injected: tuple[str, ...] = ()


class SynthesisCache:
    """A thread-safe LRU map from :func:`synthesis_key` to :class:`Synthesis`.

    Concurrent requests for the same key compute it once: the others wait for it.

    Example:
        >>> cache = SynthesisCache(2)
        >>> s, fresh = cache.get("k", lambda: Synthesis("likes tea", 1.0, "k", 3))
        >>> fresh, cache.get("k", lambda: Synthesis("other", 0.0, "k", 3))
        (True, (Synthesis(text='likes tea', support=1.0, key='k', items=3, injected=()), False))
    """

    def __init__(self, max_entries: int = CACHE_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Synthesis] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[str, threading.Lock] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _hit(self, key: str) -> Synthesis | None:
        with self._lock:
            s = self._entries.get(key)
            if s is not None:
                self._entries.move_to_end(key)
            return s

    def get(self, key: str, compute: Callable[[], Synthesis]) -> tuple[Synthesis, bool]:
        """The synthesis for ``key`` and whether this call computed it (``compute()``)."""
        hit = self._hit(key)
        if hit is not None:
            return hit, False
        with self._lock:
            busy = self._computing.setdefault(key, threading.Lock())
        with busy:
            hit = self._hit(key)
            if hit is not None:
                return hit, False
            try:
                s = compute()  # an error leaves nothing cached: the next request tries again
            except BaseException:
                with self._lock:
                    self._computing.pop(key, None)
                raise
            with self._lock:
                self._entries[key] = s
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
                self._computing.pop(key, None)
            return s, True

    def clear(self) -> None:
        """Forget every synthesis."""
        with self._lock:
            self._entries.clear()


SYNTHESES = SynthesisCache()
"""The process-wide cache every R2P method instance shares (a server builds a method per
request)."""


__all__ = ["CACHE_ENTRIES", "HISTORY_REQUEST", "SYNTHESES", "Synthesis", "SynthesisCache",
           "as_history", "history_sample", "synthesis_key"]
