"""BM25 over one user's profile, built on the ``bm25s`` library.

Two tokenizations:

- ``default``: ``bm25s.tokenize`` with lowercasing, the regex word pattern ``\\b\\w\\w+\\b``
  (words of two or more letters/digits; punctuation dropped) and bm25s's English stopword list;
  scored with the Lucene BM25 variant (``k1=1.5``, ``b=0.75``), whose idf is always positive.
  Case and punctuation no longer split one word into several vocabulary entries ("Great",
  "great!"), and stopwords stop dominating short texts such as tweets and reviews.
- ``lamp``: what the LaMP reference code does, ``rank_bm25.BM25Okapi`` over ``text.split()``
  (whitespace split, no lowercasing): Okapi term frequency with ``k1=1.5``, ``b=0.75`` and the
  Okapi idf ``log((N - df + 0.5) / (df + 0.5))``, where terms in more than half the documents get
  ``0.25 x`` the mean idf instead of a negative value. bm25s computes the term-frequency part
  (``method="atire"``) and r2p rescales each vocabulary column of its score matrix to the Okapi
  idf, so scores equal rank_bm25's up to float rounding (tested on the real data).

A repeated query word counts once per occurrence (as in rank_bm25). The per-profile index is
built once and kept in a bounded LRU cache keyed by the task and the profile's item ids, so a
user's profile is indexed once per run however many queries or methods use it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from r2p.errors import ConfigError
from r2p.retrieval.base import BaseRetriever, LRUCache
from r2p.tasks import Task
from r2p.types import ProfileItem


def _import_bm25s() -> Any:
    """Import bm25s lazily. It sets its own logger to DEBUG on import and logs every index
    build; once another library (absl, via rouge_score) has put a handler on the root logger
    those lines would flood a run's output, so its logger is set back to WARNING."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s

Tokenization = Literal["default", "lamp"]
TOKENIZATIONS: tuple[str, ...] = ("default", "lamp")


def tokenize(texts: list[str], tokenization: Tokenization) -> list[list[str]]:
    """Tokenize texts the way the given mode indexes them.

    Example:
        >>> tokenize(["The cat, the CAT!"], "default")
        [['cat', 'cat']]
        >>> tokenize(["The cat, the CAT!"], "lamp")
        [['The', 'cat,', 'the', 'CAT!']]
    """
    if tokenization == "lamp":
        return [t.split() for t in texts]
    bm25s = _import_bm25s()
    out = bm25s.tokenize(
        texts, lower=True, stopwords="en", return_ids=False, show_progress=False
    )
    return [list(doc) for doc in out]  # type: ignore[union-attr]


@dataclass
class BM25Index:
    """The index of one profile: a bm25s model (or ``None`` when no item has a token)."""

    model: Any
    n_docs: int

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """One BM25 score per profile item, in profile order."""
        if self.model is None:
            return np.zeros(self.n_docs)
        ids = self.model.get_tokens_ids(query_tokens)
        if not ids:
            return np.zeros(self.n_docs)
        # Same sums as bm25s's get_scores_from_ids (per query token, in order) but with one
        # np.bincount instead of a np.add.at per token: ~10x faster on large profiles.
        sc = self.model.scores
        indptr, indices, data = sc["indptr"], sc["indices"], sc["data"]
        cols = [(int(indptr[t]), int(indptr[t + 1])) for t in ids]
        rows = np.concatenate([indices[a:b] for a, b in cols])
        vals = np.concatenate([data[a:b] for a, b in cols])
        return np.bincount(rows, weights=vals, minlength=self.n_docs).astype(np.float64)


def _okapi_idf(df: np.ndarray, n_docs: int, epsilon: float) -> np.ndarray:
    """rank_bm25.BM25Okapi's idf: ``log((N-df+0.5)/(df+0.5))``, negatives -> eps * mean idf."""
    idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
    floor = epsilon * float(idf.mean()) if idf.size else 0.0
    return np.where(idf < 0, floor, idf)


def build_index(
    texts: list[str],
    tokenization: Tokenization = "default",
    *,
    k1: float = 1.5,
    b: float = 0.75,
    epsilon: float = 0.25,
) -> BM25Index:
    """Build the BM25 index of one profile's texts.

    Args:
        texts: one text per profile item (the task's ``index_text``).
        tokenization: ``default`` or ``lamp`` (see the module docstring).
        k1, b: BM25 parameters.
        epsilon: idf floor factor of the ``lamp`` (Okapi) mode.
    """
    bm25s = _import_bm25s()
    corpus = tokenize(texts, tokenization)
    if not any(corpus):
        return BM25Index(None, len(texts))
    if tokenization == "lamp":
        # Okapi tf part = ATIRE's; bm25+'s idf log((N+1)/df) is never 0, so dividing it out and
        # multiplying the Okapi idf in is exact up to rounding.
        model = bm25s.BM25(k1=k1, b=b, method="atire", idf_method="bm25+", dtype="float64")
        model.index(corpus, show_progress=False, create_empty_token=False)
        sc = model.scores
        indptr = np.asarray(sc["indptr"])
        df = np.diff(indptr).astype(np.float64)
        n = len(corpus)
        # rank_bm25 averages the idf over the words of the corpus, i.e. every column with df > 0
        present = df > 0
        okapi = np.zeros_like(df)
        okapi[present] = _okapi_idf(df[present], n, epsilon)
        plus = np.zeros_like(df)
        plus[present] = np.log((n + 1) / df[present])
        factor = np.divide(okapi, plus, out=np.zeros_like(df), where=present)
        sc["data"] = np.asarray(sc["data"], dtype=np.float64) * np.repeat(factor, np.diff(indptr))
    else:
        model = bm25s.BM25(k1=k1, b=b, method="lucene", dtype="float64")
        model.index(corpus, show_progress=False, create_empty_token=False)
    return BM25Index(model, len(texts))


class BM25Retriever(BaseRetriever):
    """BM25 over the profile's index texts (``task.index_text``); see the module docstring.

    Args:
        tokenization: ``default`` (lowercase, word regex, English stopwords, Lucene BM25) or
            ``lamp`` (whitespace split, case kept, rank_bm25's BM25Okapi scores).
        k1, b: BM25 parameters (1.5 and 0.75 as in rank_bm25 and bm25s).
        cache_size: how many profile indexes to keep (least recently used dropped first).

    Example:
        >>> from r2p.tasks import get_task
        >>> r = BM25Retriever()
        >>> prof = [{"id": "a", "text": "dogs bark"}, {"id": "b", "text": "cats purr"}]
        >>> [x.id for x in r.retrieve("my cats", prof, 1, get_task("LaMP_7"))]
        ['b']
    """

    name = "bm25"

    def __init__(
        self,
        tokenization: str = "default",
        *,
        k1: float = 1.5,
        b: float = 0.75,
        cache_size: int = 256,
    ) -> None:
        if tokenization not in TOKENIZATIONS:
            raise ConfigError(
                f"unknown bm25 tokenization {tokenization!r}; choose from: "
                + ", ".join(TOKENIZATIONS)
            )
        for label, v in (("k1", k1), ("b", b)):
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0 or math.isnan(v):
                raise ConfigError(f"bm25 {label} must be a non-negative number, got {v!r}")
        if b > 1:
            raise ConfigError(f"bm25 b must be between 0 and 1, got {b!r}")
        self.tokenization: Tokenization = tokenization  # type: ignore[assignment]
        self.k1, self.b = float(k1), float(b)
        self.cache: LRUCache[BM25Index] = LRUCache(cache_size)

    def index(self, profile: list[ProfileItem], task: Task) -> BM25Index:
        """The (cached) index of one profile."""
        return self.cache.get_for_profile(
            task,
            profile,
            lambda: build_index(
                [task.index_text(item) for item in profile],
                self.tokenization,
                k1=self.k1,
                b=self.b,
            ),
        )

    def scores(self, query: str, profile: list[ProfileItem], task: Task, *,
               query_id: str | None = None) -> np.ndarray:
        """One BM25 score per profile item, in profile order."""
        if not profile:
            return np.zeros(0)
        return self.index(profile, task).scores(tokenize([query], self.tokenization)[0])


__all__ = ["TOKENIZATIONS", "BM25Index", "BM25Retriever", "build_index", "tokenize"]
