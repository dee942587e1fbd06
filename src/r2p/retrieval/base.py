"""The interface of a retriever over one user's profile, and the helpers every retriever shares.

A retriever ranks the items of one user's profile for a query. Every retriever in r2p is
deterministic: equal scores keep profile order (a stable sort), so the same inputs give the same
ranking on every machine. ``k`` larger than the profile returns the whole profile ranked and
``k = 0`` returns ``[]``.

``retrieve`` takes an optional keyword ``query_id`` (the sample id): the ``ranking`` retriever
needs it to look the query up in a ranks file, and the ``random`` retriever seeds itself with it.
Callers that hold a :class:`~r2p.types.Sample` should use :func:`retrieve_sample`, which cuts the
query out of the input the task's way and passes the id.

r2p's retrievers derive from :class:`BaseRetriever`, which owns the ``k`` check, the
empty-profile guard and the top-k selection; each supplies one score per profile item
(:meth:`BaseRetriever.scores`), or, where the order is not a score's (``ranking``, ``none``),
its own :meth:`BaseRetriever.rank`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

from r2p.errors import ConfigError
from r2p.tasks import Task
from r2p.types import ProfileItem, Retrieved, Sample

if TYPE_CHECKING:
    from numpy.typing import NDArray

V = TypeVar("V")


@runtime_checkable
class Retriever(Protocol):
    """Ranks a user's profile items for a query.

    Deterministic: ties are broken by profile order. ``k`` larger than the profile returns the
    whole profile ranked; ``k = 0`` returns ``[]``. ``query_id`` (the sample id) is optional for
    every retriever except ``ranking``.
    """

    name: str

    def retrieve(
        self,
        query: str,
        profile: list[ProfileItem],
        k: int,
        task: Task,
        *,
        query_id: str | None = None,
    ) -> list[Retrieved]: ...


def check_k(k: int) -> int:
    """Validate ``k`` (the number of items wanted) and return it.

    Raises:
        ConfigError: ``k`` is not a non-negative integer.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ConfigError(f"k must be a non-negative integer, got {k!r}")
    return k


def top_k(scores: Sequence[float] | NDArray[Any], profile: list[ProfileItem], k: int) -> list[Retrieved]:
    """Turn one score per profile item into the ``k`` best :class:`Retrieved`, best first.

    Higher is better. The sort is stable, so equal scores keep profile order.

    Example:
        >>> [r.id for r in top_k([0.5, 1.0, 0.5], [{"id": "a"}, {"id": "b"}, {"id": "c"}], 2)]
        ['b', 'a']
    """
    check_k(k)
    if len(scores) != len(profile):
        raise ValueError(f"{len(scores)} scores for {len(profile)} profile items")
    if k == 0 or not profile:
        return []
    import numpy as np

    values = np.asarray(scores, dtype=np.float64)
    n = len(values)
    if k < n // 8:
        # Only the k best are needed: find the k-th best value in O(n), keep every item scoring
        # at least that (all ties included, in profile order), then sort just those, stably.
        threshold = np.partition(values, n - k)[n - k]
        cand = np.flatnonzero(values >= threshold)
        order = cand[np.argsort(-values[cand], kind="stable")][:k]
    else:
        order = np.argsort(-values, kind="stable")[:k]
    return [
        Retrieved(item=profile[i], score=float(values[i]), rank=r)
        for r, i in enumerate(order.tolist())
    ]


class BaseRetriever:
    """The shared part of r2p's retrievers: :meth:`retrieve` checks ``k`` (a
    :class:`~r2p.errors.ConfigError` unless a non-negative integer), returns ``[]`` for
    ``k = 0`` or an empty profile, and otherwise returns :meth:`rank`: by default the ``k``
    best of :meth:`scores` by :func:`top_k` (higher is better, ties keep profile order).

    A subclass sets ``name`` and implements :meth:`scores`; one whose order is not a score's
    overrides :meth:`rank` instead.

    Example:
        >>> from r2p.tasks import get_task
        >>> class Longest(BaseRetriever):
        ...     name = "longest"
        ...     def scores(self, query, profile, task, *, query_id=None):
        ...         return [len(task.index_text(item)) for item in profile]
        >>> prof = [{"id": "a", "text": "hi"}, {"id": "b", "text": "hello"}]
        >>> [r.id for r in Longest().retrieve("q", prof, 1, get_task("LaMP_7"))]
        ['b']
    """

    name: str = ""

    def retrieve(
        self,
        query: str,
        profile: list[ProfileItem],
        k: int,
        task: Task,
        *,
        query_id: str | None = None,
    ) -> list[Retrieved]:
        """The ``k`` best profile items for ``query``, best first (``[]`` for ``k = 0`` or an
        empty profile).

        Raises:
            ConfigError: ``k`` is not a non-negative integer.
        """
        if check_k(k) == 0 or not profile:
            return []
        return self.rank(query, profile, k, task, query_id=query_id)

    def rank(
        self,
        query: str,
        profile: list[ProfileItem],
        k: int,
        task: Task,
        *,
        query_id: str | None = None,
    ) -> list[Retrieved]:
        """The ``k`` best items of a non-empty profile (``k`` >= 1): the top of :meth:`scores`."""
        return top_k(self.scores(query, profile, task, query_id=query_id), profile, k)

    def scores(
        self,
        query: str,
        profile: list[ProfileItem],
        task: Task,
        *,
        query_id: str | None = None,
    ) -> Sequence[float] | NDArray[Any]:
        """One score per profile item, in profile order; higher is better."""
        raise NotImplementedError(f"{type(self).__name__} gives no scores")


def profile_key(task: Task, profile: list[ProfileItem]) -> tuple[Hashable, ...]:
    """The cache key of a profile's index: the task and the tuple of item ids.

    Item ids are unique within a LaMP dataset, so within one run the ids identify the texts.
    """
    return (task.name, tuple(str(item.get("id")) for item in profile))


class LRUCache(Generic[V]):
    """A small bounded least-recently-used cache (per-profile indexes, embeddings).

    Thread-safe (a run may retrieve from several threads); a value is built outside the lock, so
    two threads missing the same key at once may both build it, and one result is kept.

    Example:
        >>> c: LRUCache[int] = LRUCache(2)
        >>> c.get_or_build("a", lambda: 1)
        1
    """

    def __init__(self, maxsize: int = 256) -> None:
        if maxsize < 1:
            raise ConfigError(f"cache size must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._last: tuple[list[ProfileItem], int, str, V] | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get_for_profile(
        self, task: Task, profile: list[ProfileItem], build: Callable[[], V]
    ) -> V:
        """The cached value for a profile, keyed by :func:`profile_key`.

        Consecutive calls with the very same profile list (same object, same length) skip
        building and hashing the key (the common case: several queries or methods over one
        user), which matters for big profiles. Profiles are treated as immutable.
        """
        last = self._last
        if last is not None and last[0] is profile and last[1] == len(profile) \
                and last[2] == task.name:
            self.hits += 1
            return last[3]
        value = self.get_or_build(profile_key(task, profile), build)
        self._last = (profile, len(profile), task.name, value)
        return value

    def get_or_build(self, key: Hashable, build: Callable[[], V]) -> V:
        """Return the cached value for ``key``, building (and caching) it on a miss."""
        with self._lock:
            if key in self._data:
                self.hits += 1
                self._data.move_to_end(key)
                return self._data[key]
            self.misses += 1
        value = build()
        with self._lock:
            value = self._data.setdefault(key, value)
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        return value


def retrieve_sample(retriever: Retriever, sample: Sample, k: int, task: Task) -> list[Retrieved]:
    """Retrieve for one sample: the task's query, the sample's profile, its id as ``query_id``.

    An empty profile gives ``[]`` (k becomes 0 for that sample).

    Example:
        >>> from r2p.retrieval import get_retriever
        >>> from r2p.tasks import get_task
        >>> s = Sample("1", "Paraphrase the following tweet: cats", [{"id": "a", "text": "cats"}])
        >>> [r.id for r in retrieve_sample(get_retriever("bm25"), s, 4, get_task("LaMP_7"))]
        ['a']
    """
    check_k(k)
    if not sample.profile or k == 0:
        return []
    return retriever.retrieve(
        task.query(sample.input), sample.profile, k, task, query_id=sample.id
    )


__all__ = ["BaseRetriever", "LRUCache", "Retriever", "check_k", "profile_key", "retrieve_sample", "top_k"]
