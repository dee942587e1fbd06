"""BM25 over one profile: index build time and per-query latency, printed as JSON.

Profiles of 10, 100, 1,000 and 10,000 synthetic items of realistic length (a Zipf-distributed
vocabulary of 20,000 words; items of 10-60 words, like tweets and reviews; queries of 20 words).
For each size and tokenization mode it reports:

- ``build_ms``: building the profile's index (tokenize + bm25s index), median of repeats;
- ``query_ms``: one query against the built index (tokenize the query, score, stable top-k)
  through ``BM25Retriever.retrieve`` with the index already cached, median and p95;
- ``rank_bm25_query_ms`` (when rank-bm25 is installed): the LaMP reference's
  ``BM25Okapi.get_scores`` + ``argsort`` for the same queries, for comparison.

A run builds a profile's index once (it is cached by item ids) and reuses it for every query
and method over that profile, so the per-query cost is ``query_ms`` and ``build_ms`` is paid
once per user.

Usage::

    python benchmarks/bm25.py [--sizes 10,100,1000,10000] [--queries 200] [--k 4]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from typing import Any

import numpy as np

from r2p.retrieval.bm25 import BM25Retriever, build_index
from r2p.tasks import get_task

TASK = get_task("LaMP_7")


def make_texts(n: int, rng: np.random.Generator, lo: int = 10, hi: int = 60) -> list[str]:
    """``n`` synthetic texts with Zipf-distributed words and some capitalization/punctuation."""
    vocab = np.array([f"w{i}" for i in range(20_000)] + ["the", "a", "of", "and", "to", "I"])
    out = []
    for _ in range(n):
        length = int(rng.integers(lo, hi + 1))
        ids = np.minimum(rng.zipf(1.3, size=length), len(vocab)) - 1
        words = vocab[ids].tolist()
        if words:
            words[0] = words[0].capitalize()
            words[-1] += "."
        out.append(" ".join(words))
    return out


def _ms(seconds: list[float]) -> dict[str, float]:
    arr = np.array(seconds) * 1000.0
    return {"median": round(float(np.median(arr)), 4),
            "p95": round(float(np.percentile(arr, 95)), 4)}


def bench_size(n: int, n_queries: int, k: int, rng: np.random.Generator) -> dict[str, Any]:
    """Measure one profile size in both tokenization modes."""
    texts = make_texts(n, rng)
    profile = [{"id": str(i), "text": t} for i, t in enumerate(texts)]
    queries = make_texts(n_queries, rng, 20, 20)
    result: dict[str, Any] = {"items": n, "mean_words_per_item":
                              round(statistics.mean(len(t.split()) for t in texts), 1)}
    repeats = max(3, min(30, 3000 // max(n, 1)))
    for mode in ("default", "lamp"):
        builds = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            build_index(texts, mode)  # type: ignore[arg-type]
            builds.append(time.perf_counter() - t0)
        r = BM25Retriever(mode)
        r.retrieve(queries[0], profile, k, TASK)  # builds and caches the index
        lat = []
        for q in queries:
            t0 = time.perf_counter()
            r.retrieve(q, profile, k, TASK)
            lat.append(time.perf_counter() - t0)
        result[mode] = {"build_ms": _ms(builds)["median"], "query_ms": _ms(lat)}
    try:
        from rank_bm25 import BM25Okapi
    except ImportError:
        return result
    ref = BM25Okapi([t.split() for t in texts])
    lat = []
    for q in queries[: max(10, n_queries // (1 + n // 1000))]:
        t0 = time.perf_counter()
        np.argsort(ref.get_scores(q.split()))[::-1][:k]
        lat.append(time.perf_counter() - t0)
    result["rank_bm25_query_ms"] = _ms(lat)
    return result


def main() -> None:
    """Run the benchmark and print one JSON object."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10,100,1000,10000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import bm25s

    rng = np.random.default_rng(args.seed)
    rows = [bench_size(int(s), args.queries, args.k, rng) for s in args.sizes.split(",")]
    print(json.dumps({
        "benchmark": "bm25", "k": args.k, "queries": args.queries, "bm25s": bm25s.__version__,
        "python": platform.python_version(), "machine": platform.machine(),
        "results": rows,
    }, indent=1))


if __name__ == "__main__":
    main()
