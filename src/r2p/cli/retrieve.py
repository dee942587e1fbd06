"""``r2p retrieve``: show the profile items a retriever picks for one query.

Example::

    r2p retrieve --task LaMP_7 --data ../shared/data --split dev --retriever bm25 --k 4 --id 610
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from r2p.errors import ConfigError, DataError


def add_retrieval_arguments(p: argparse.ArgumentParser) -> None:
    """The data and retriever options shared by ``r2p retrieve`` and ``r2p rank``."""
    from r2p.retrieval import RETRIEVERS

    p.add_argument("--task", required=True, help="task name, e.g. LaMP_7")
    p.add_argument("--data", required=True, type=Path,
                   help="data folder, a *_questions.json file or a .jsonl file")
    p.add_argument("--split", default="dev", help="train, dev or test (default: dev)")
    p.add_argument("--time-based", action="store_true",
                   help="the time-based split (DIR/<task>/time/...)")
    p.add_argument("--retriever", default="bm25", metavar="NAME",
                   help=f"one of: {', '.join(RETRIEVERS)} (default: bm25)")
    p.add_argument("--tokenization", choices=("default", "lamp"), default=None,
                   help="bm25 only: 'default' (lowercase, word regex, English stopwords) or "
                   "'lamp' (whitespace split, case kept: the LaMP reference's BM25Okapi)")
    p.add_argument("--seed", type=int, default=None, help="random only: the seed (default 0)")
    p.add_argument("--model", default=None,
                   help="dense only: a local sentence-transformers model folder "
                   "(default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--ranks", type=Path, default=None,
                   help="ranking only: a ranking file written by `r2p rank`")


def retriever_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword options for :func:`r2p.retrieval.get_retriever` from the parsed flags.

    Raises:
        ConfigError: a flag that belongs to another retriever was given.
    """
    flags = {"tokenization": ("bm25", "tokenization"), "seed": ("random", "seed"),
             "model": ("dense", "model"), "ranks": ("ranking", "path")}
    opts: dict[str, Any] = {}
    for flag, (owner, option) in flags.items():
        value = getattr(args, flag)
        if value is None:
            continue
        if args.retriever != owner:
            raise ConfigError(f"--{flag} applies to the {owner} retriever only, "
                              f"not to {args.retriever!r}")
        opts[option] = value
    if args.retriever == "ranking" and "path" not in opts:
        raise ConfigError("the ranking retriever needs --ranks RANKS.json")
    return opts


def load_data(args: argparse.Namespace) -> Any:
    """Load (and so validate) the split the flags name."""
    from r2p.data import load_path

    return load_path(args.data, args.task, args.split, time_based=args.time_based)


def add_parser(subparsers: Any) -> None:
    """Register ``r2p retrieve``."""
    p = subparsers.add_parser(
        "retrieve", help="show the profile items retrieved for one query",
        description="Cut the query out of one sample's input (the task's way), rank the user's "
        "profile with a retriever and show the top k items with their scores.")
    add_retrieval_arguments(p)
    p.add_argument("--k", type=int, default=4, help="number of items (default: 4)")
    p.add_argument("--id", default=None,
                   help="the query (sample) id; default: the first sample of the split")
    p.add_argument("--width", type=int, default=100,
                   help="characters of each item's text to show (default: 100; --json shows all)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.set_defaults(func=run)


def _short(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(width - 3, 0)] + "..."


def run(args: argparse.Namespace) -> int:
    """Retrieve for one sample and print the result."""
    from r2p.retrieval import get_retriever, retrieve_sample

    if args.k < 0:
        raise ConfigError(f"--k must be 0 or more, got {args.k}")
    if args.width < 4:
        raise ConfigError(f"--width must be at least 4, got {args.width}")
    retriever = get_retriever(args.retriever, **retriever_options(args))
    ds = load_data(args)
    if len(ds) == 0:
        raise DataError(f"{args.data}: the {args.split} split of {ds.task.name} has no samples")
    if args.id is None:
        sample = ds.samples[0]
    else:
        if str(args.id) not in ds:
            examples = ", ".join(repr(s.id) for s in ds.samples[:5])
            raise DataError(f"{args.data}: no sample with id {args.id!r} in the {args.split} "
                            f"split of {ds.task.name} ({len(ds)} samples, e.g. {examples})")
        sample = ds.get(str(args.id))
    task = ds.task
    query = task.query(sample.input)
    got = retrieve_sample(retriever, sample, args.k, task)
    if args.json:
        out = {
            "task": task.name, "id": sample.id, "query": query, "retriever": retriever.name,
            "options": {k: str(v) for k, v in retriever_options(args).items()},
            "k": args.k, "profile_size": len(sample.profile),
            "retrieved": [{"rank": r.rank + 1, "id": r.id, "score": r.score,
                           "text": task.index_text(r.item)} for r in got],
        }
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(f"task {task.name}  sample {sample.id}  retriever {retriever.name}  k={args.k}  "
          f"profile {len(sample.profile)} items")
    print(f"query: {_short(query, args.width * 2)}")
    if not got:
        print("(nothing retrieved)")
        return 0
    id_w = max(2, *(len(r.id) for r in got))
    print(f"{'rank':>4}  {'score':>10}  {'id':<{id_w}}  text")
    for r in got:
        print(f"{r.rank + 1:>4}  {r.score:>10.4f}  {r.id:<{id_w}}  "
              f"{_short(task.index_text(r.item), args.width)}")
    return 0
