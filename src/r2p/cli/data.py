"""``r2p data``: validate one data split and print a JSON summary.

Example::

    r2p data --task LaMP_3 --data ../shared/data --split dev
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register ``r2p data``."""
    p = subparsers.add_parser(
        "data", help="validate and summarize a data split",
        description="Load (and so validate) one split and print a JSON summary: number of "
        "samples, empty profiles, profile size statistics, whether golds are present, and the "
        "gold label counts of classification and rating tasks.")
    p.add_argument("--task", required=True, help="task name, e.g. LaMP_7")
    p.add_argument("--data", required=True, type=Path,
                   help="data folder (see the layouts in docs/data.md), a *_questions.json "
                   "file or a .jsonl file")
    p.add_argument("--split", default="dev", help="train, dev or test (default: dev)")
    p.add_argument("--time-based", action="store_true",
                   help="the time-based split (DIR/<task>/time/...)")
    p.set_defaults(func=run)


def summarize(ds: Any) -> dict[str, Any]:
    """A JSON-ready summary of a :class:`~r2p.data.Dataset`."""
    import numpy as np

    sizes = np.array([len(s.profile) for s in ds.samples], dtype=np.int64)
    stats = ({"min": int(sizes.min()), "median": float(np.median(sizes)),
              "mean": round(float(sizes.mean()), 2), "max": int(sizes.max()),
              "total": int(sizes.sum())} if len(sizes) else {})
    out: dict[str, Any] = {
        "task": ds.task.name, "split": ds.split, "time_based": ds.time_based,
        "path": str(ds.path) if ds.path else None, "n": len(ds), "has_golds": ds.has_golds,
        "n_empty_profiles": ds.n_empty_profiles, "profile_size": stats,
        "n_with_user_id": sum(1 for s in ds.samples if s.user_id is not None),
    }
    if ds.has_golds and ds.task.labels is not None:
        counts = Counter(s.output.strip() for s in ds.samples)
        out["gold_counts"] = dict(sorted(counts.items()))
        invalid = sorted(set(counts) - set(ds.task.labels))
        out["golds_outside_labels"] = invalid
    return out


def run(args: argparse.Namespace) -> int:
    """Load, validate and print the summary."""
    from r2p.data import load_path

    ds = load_path(args.data, args.task, args.split, time_based=args.time_based)
    print(json.dumps(summarize(ds), ensure_ascii=False))
    return 0
