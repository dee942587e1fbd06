"""The retriever registry: ``get_retriever(name, **options)``.

Retriever modules are imported only when their retriever is asked for, so ``import r2p.retrieval``
stays light (no bm25s, no torch).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from r2p.errors import ConfigError, UnknownNameError
from r2p.retrieval.base import Retriever

# name -> (module, class). Order is the order shown to users.
_REGISTRY: dict[str, tuple[str, str]] = {
    "bm25": ("r2p.retrieval.bm25", "BM25Retriever"),
    "recency": ("r2p.retrieval.simple", "RecencyRetriever"),
    "random": ("r2p.retrieval.simple", "RandomRetriever"),
    "dense": ("r2p.retrieval.dense", "DenseRetriever"),
    "none": ("r2p.retrieval.simple", "NoRetriever"),
    "ranking": ("r2p.retrieval.ranking", "RankingRetriever"),
}

RETRIEVERS: tuple[str, ...] = tuple(_REGISTRY)
"""The valid retriever names."""


def retriever_class(name: str) -> type[Any]:
    """The class registered under ``name``.

    Raises:
        UnknownNameError: ``name`` is not a retriever (the message lists the valid ones).
    """
    entry = _REGISTRY.get(name.strip().lower()) if isinstance(name, str) else None
    if entry is None:
        raise UnknownNameError("retriever", str(name), RETRIEVERS)
    module, cls = entry
    return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]


def get_retriever(name: str, **options: Any) -> Retriever:
    """Build a retriever by name.

    Args:
        name: one of :data:`RETRIEVERS` (``bm25``, ``recency``, ``random``, ``dense``, ``none``,
            ``ranking``).
        **options: the retriever's options, e.g. ``tokenization="lamp"`` (bm25), ``seed=1``
            (random), ``model=PATH`` (dense), ``path=RANKS.json`` (ranking).

    Raises:
        UnknownNameError: unknown name.
        ConfigError: an option the retriever does not take, or a bad value.

    Example:
        >>> get_retriever("bm25", tokenization="lamp").name
        'bm25'
    """
    cls = retriever_class(name)
    valid = list(inspect.signature(cls).parameters)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        allowed = ", ".join(valid) if valid else "none"
        raise ConfigError(
            f"retriever {cls.name!r} has no option {', '.join(map(repr, unknown))}; "
            f"options: {allowed}"
        )
    return cls(**options)  # type: ignore[no-any-return]


__all__ = ["RETRIEVERS", "get_retriever", "retriever_class"]
