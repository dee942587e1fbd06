"""Retrieval over one user's profile: bm25, recency, random, dense, none, and ranking files.

Example:
    >>> from r2p.retrieval import get_retriever
    >>> from r2p.tasks import get_task
    >>> r = get_retriever("bm25")
    >>> prof = [{"id": "1", "text": "I love my dog"}, {"id": "2", "text": "Traffic again"}]
    >>> [x.id for x in r.retrieve("dog walk", prof, k=1, task=get_task("LaMP_7"))]
    ['1']
"""

from __future__ import annotations

from r2p.retrieval.base import Retriever, retrieve_sample
from r2p.retrieval.ranking import read_ranks, write_ranks
from r2p.retrieval.registry import RETRIEVERS, get_retriever

__all__ = [
    "RETRIEVERS",
    "Retriever",
    "get_retriever",
    "read_ranks",
    "retrieve_sample",
    "write_ranks",
]
