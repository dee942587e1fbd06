"""``r2p rank``: rank every query's profile once and write ``{query_id: [item_id, ...]}``.

A later run uses the file instead of a retriever (retriever ``ranking`` with ``path=...``).

Example::

    r2p rank --task LaMP_7 --data ../shared/data --split dev --retriever bm25 --out ranks.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from r2p.cli.retrieve import add_retrieval_arguments, load_data, retriever_options
from r2p.errors import ConfigError


def add_parser(subparsers: Any) -> None:
    """Register ``r2p rank``."""
    p = subparsers.add_parser(
        "rank", help="write a ranking file {query_id: [profile_item_id, ...]}",
        description="Rank every sample's profile with a retriever and write the ranking file "
        "the LaMP workflow uses: {query_id: [profile_item_id, ...]}, best first.")
    add_retrieval_arguments(p)
    p.add_argument("--k", type=int, default=None,
                   help="keep the best K items per query (default: the whole profile)")
    p.add_argument("--out", required=True, type=Path, help="the ranking file to write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Rank every sample and write the file; print a one-line JSON summary."""
    from r2p.retrieval import get_retriever, retrieve_sample, write_ranks

    if args.k is not None and args.k < 0:
        raise ConfigError(f"--k must be 0 or more, got {args.k}")
    retriever = get_retriever(args.retriever, **retriever_options(args))
    ds = load_data(args)
    t0 = time.perf_counter()
    ranks: dict[str, list[str]] = {}
    for sample in ds.samples:
        k = len(sample.profile) if args.k is None else args.k
        ranks[sample.id] = [r.id for r in retrieve_sample(retriever, sample, k, ds.task)]
    seconds = time.perf_counter() - t0
    try:
        path = write_ranks(args.out, ranks)
    except OSError as exc:
        raise ConfigError(f"{args.out}: cannot write the ranking file: {exc.strerror}") from None
    print(json.dumps({"out": str(path), "task": ds.task.name, "split": ds.split,
                      "retriever": retriever.name, "queries": len(ranks),
                      "seconds": round(seconds, 3)}), file=sys.stdout)
    return 0
