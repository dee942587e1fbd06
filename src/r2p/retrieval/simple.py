"""Retrievers that do not look at the query: ``recency``, ``random`` and ``none``."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from r2p.errors import ConfigError, RetrievalError
from r2p.retrieval.base import BaseRetriever
from r2p.tasks import Task
from r2p.types import ProfileItem, Retrieved

if TYPE_CHECKING:
    from numpy.typing import NDArray

_YEAR = re.compile(r"^\d{4}$")
_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%d %B %Y", "%B %d, %Y", "%b %d, %Y", "%Y-%m")


def parse_date(value: object) -> float:
    """A profile item's ``date`` as seconds since 1970 (UTC), for ordering.

    Accepts ISO 8601 dates and datetimes (``2013-06-01``, ``2013-06-01T10:00:00Z``), a bare year
    (``2013``), a few common written forms (``06/01/2013``, ``June 1, 2013``) and Unix timestamps
    (numbers). Raises ``ValueError`` for anything else.

    Example:
        >>> parse_date("1970-01-02")
        86400.0
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValueError(f"not a date: {value!r}")
    if _YEAR.match(text):
        return datetime(int(text), 1, 1, tzinfo=timezone.utc).timestamp()
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for fmt in _FORMATS:
            try:
                dt = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"not a date: {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


class RecencyRetriever(BaseRetriever):
    """The user's latest items first (by each item's ``date``), ties in profile order.

    The score is the item's date as seconds since 1970 (UTC).

    Raises:
        RetrievalError: an item has no ``date`` or one that cannot be read (names the item).
    """

    name = "recency"

    def scores(
        self,
        query: str,
        profile: list[ProfileItem],
        task: Task,
        *,
        query_id: str | None = None,
    ) -> list[float]:
        """Each profile item's date, as seconds since 1970 (UTC)."""
        where = f" (query {query_id})" if query_id is not None else ""
        stamps: list[float] = []
        for pos, item in enumerate(profile):
            ident = f"profile item {item.get('id', pos)!r}{where}"
            if "date" not in item or item["date"] in (None, ""):
                raise RetrievalError(
                    f"recency retriever: {ident} has no 'date' field; "
                    "use another retriever (bm25, random) for data without dates"
                )
            try:
                stamps.append(parse_date(item["date"]))
            except ValueError:
                raise RetrievalError(
                    f"recency retriever: {ident} has an unreadable 'date' {item['date']!r}"
                ) from None
        return stamps


class RandomRetriever(BaseRetriever):
    """``k`` items drawn uniformly without replacement, reproducibly.

    The draw is seeded by ``seed``, the query id (or, without one, the query text) and the
    profile's item ids: the same sample gets the same items in every run with the same seed, and
    different samples get independent draws. The score is the item's random key in ``[0, 1)``
    (the top ``k`` keys are the draw), so unlike the other scoring retrievers its scores depend
    on ``query_id``: :func:`~r2p.retrieval.base.retrieve_sample` passes the sample id.

    Args:
        seed: the base seed (an integer).
    """

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"random retriever seed must be an integer, got {seed!r}")
        self.seed = seed

    def scores(
        self,
        query: str,
        profile: list[ProfileItem],
        task: Task,
        *,
        query_id: str | None = None,
    ) -> NDArray[Any]:
        """One seeded random key in ``[0, 1)`` per profile item."""
        import numpy as np

        h = hashlib.sha256()
        who = f"id:{query_id}" if query_id is not None else f"query:{query}"
        h.update(f"{self.seed}\x00{task.name}\x00{who}".encode())
        for item in profile:
            h.update(b"\x00" + str(item.get("id")).encode())
        rng = np.random.default_rng(int.from_bytes(h.digest()[:16], "little"))
        keys: NDArray[Any] = rng.random(len(profile))
        return keys


class NoRetriever(BaseRetriever):
    """The non-personalized baseline: retrieves nothing (``k`` is still checked, then treated
    as 0); it ranks nothing, so it has no scores."""

    name = "none"

    def rank(
        self,
        query: str,
        profile: list[ProfileItem],
        k: int,
        task: Task,
        *,
        query_id: str | None = None,
    ) -> list[Retrieved]:
        """Always ``[]``."""
        return []


__all__ = ["NoRetriever", "RandomRetriever", "RecencyRetriever", "parse_date"]
