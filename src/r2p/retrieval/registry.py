"""The retriever registry: ``get_retriever(name, **options)``.

A :class:`~r2p.registry.Registry` (:data:`REGISTRY`). Retriever modules are imported only when
their retriever is asked for, so ``import r2p.retrieval`` stays light (no bm25s, no torch).
Names are matched ignoring case and surrounding spaces.
"""

from __future__ import annotations

from typing import Any, cast

from r2p.registry import Entry, Registry
from r2p.retrieval.base import Retriever


def _key(name: str) -> str:
    return name.strip().lower()


# Order is the order shown to users.
REGISTRY: Registry[Retriever] = Registry("retriever", [
    Entry("bm25", "r2p.retrieval.bm25:BM25Retriever", summary="BM25 over the profile's texts"),
    Entry("recency", "r2p.retrieval.simple:RecencyRetriever", summary="latest items first"),
    Entry("random", "r2p.retrieval.simple:RandomRetriever", summary="a seeded random draw"),
    # dense checks its extra when its model loads (on the first retrieve), not here
    Entry("dense", "r2p.retrieval.dense:DenseRetriever",
          summary="cosine similarity of sentence embeddings (r2p[dense])"),
    Entry("none", "r2p.retrieval.simple:NoRetriever", summary="nothing (non-personalized)"),
    Entry("ranking", "r2p.retrieval.ranking:RankingRetriever",
          summary="the order stored in a ranking file (r2p rank)"),
], key=_key, flag="-r")
"""The retriever registry."""

RETRIEVERS: tuple[str, ...] = REGISTRY.names()
"""The valid retriever names."""


def retriever_class(name: str) -> type[Any]:
    """The class registered under ``name``.

    Raises:
        UnknownNameError: ``name`` is not a retriever (the message lists the valid ones).
    """
    return cast("type[Any]", REGISTRY.entry(name).factory())


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
    return REGISTRY.get(name, **options)


__all__ = ["REGISTRY", "RETRIEVERS", "get_retriever", "retriever_class"]
