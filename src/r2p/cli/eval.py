"""``r2p eval``: score an official predictions file against golds with LaMP-exact metrics.

Example::

    r2p eval --golds dev_outputs.json --preds predictions.json --per-sample scores.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register ``r2p eval``."""
    p = subparsers.add_parser(
        "eval", help="score a predictions file against golds with LaMP-exact metrics",
        description="Score an official predictions file {\"task\", \"golds\": [{\"id\", "
        "\"output\"}]} against a golds file of the same format. Refuses differing id sets. "
        "Prints one JSON object with the task's official metric keys.")
    p.add_argument("--golds", required=True, type=Path, help="golds file (<split>_outputs.json)")
    p.add_argument("--preds", required=True, type=Path, help="predictions file (same format)")
    p.add_argument("--task", default=None,
                   help="task name (default: the golds file's 'task'; needed to tell LaMP_2 "
                   "movie tagging from LaMP_2N news categorization when the golds do not)")
    p.add_argument("--per-sample", type=Path, default=None, metavar="FILE.jsonl",
                   help="also write one JSON line per sample: id, gold, pred and its scores")
    p.set_defaults(func=run)


def infer_task(name: str, golds: dict[str, str], explicit: str | None = None) -> Any:
    """The task to score with: ``explicit`` if given, else the golds file's ``task`` value;
    ``LaMP_2`` is resolved to LaMP_2N when every gold is a news category and no movie tag."""
    from r2p.errors import DataError
    from r2p.tasks import NEWS_CATEGORIES, TASKS, get_task

    if explicit:
        task = get_task(explicit)
        if name not in (task.name, task.official_name):
            raise DataError(f"the golds file says task {name!r} but --task is {task.name}")
        return task
    task = get_task(name)
    if task.name == "LaMP_2":
        values = {g.strip() for g in golds.values()}
        movie, news = TASKS["LaMP_2"].labels or (), set(NEWS_CATEGORIES)
        if values and values <= news and not values & set(movie):
            return TASKS["LaMP_2N"]
    return task


def run(args: argparse.Namespace) -> int:
    """Score and print the metrics as one JSON object."""
    from r2p.data import read_outputs
    from r2p.errors import DataError
    from r2p.metrics import per_sample, score

    if args.per_sample is not None and args.per_sample.is_dir():
        raise DataError(f"--per-sample {args.per_sample}: is a directory; give a file name "
                        "(e.g. scores.jsonl)")
    gname, golds = read_outputs(args.golds)
    pname, preds = read_outputs(args.preds)
    task = infer_task(gname, golds, args.task)
    if pname not in (task.name, task.official_name, gname):
        raise DataError(f"{args.preds}: predictions are for task {pname!r} but the golds "
                        f"({args.golds}) are for {gname!r}")
    try:
        metrics = score(task, golds, preds)
    except DataError as exc:
        raise DataError(f"{args.preds} vs {args.golds}: {exc}") from None
    if args.per_sample is not None:
        args.per_sample.parent.mkdir(parents=True, exist_ok=True)
        with args.per_sample.open("w", encoding="utf-8") as f:
            for sid, gold in golds.items():
                row = {"id": sid, "gold": gold, "pred": preds[sid],
                       **per_sample(task, gold, preds[sid])}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(json.dumps({"task": task.name, "n": len(golds), **metrics}))
    return 0
