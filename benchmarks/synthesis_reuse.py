"""R2P's cost when one user sends several queries: stage 2 per query (``synthesis="query"``)
against the user's synthesis written once and reused (``synthesis="user"``), with rag as the
base. Prints one JSON object. Usage::

    python benchmarks/synthesis_reuse.py                                   # demo data
    python benchmarks/synthesis_reuse.py --data ../shared/data --users 8 --per-user 4 \\
        --concurrency 4 --model path/to/model.gguf

LaMP has one query per user, so a user's further queries are borrowed: user ``u`` (the
``u``-th sample) is asked its own query and then the inputs of the next ``per-user - 1``
samples, all against ``u``'s profile. Quality is scored on the users' own queries only (the
borrowed ones have no gold for this user); cost is measured over all of them.

Methods are interleaved as in ``benchmarks/methods.py``: users are taken in batches of
``--concurrency``; for each batch every method answers the first query of each user (in flight
together), then the second, and so on, so a later query finds its user's synthesis cached, as on
a server. Reported per task and method: generated tokens, calls and wall seconds per query,
split into first queries and later ones, the metric on the own queries, and ratios over rag.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from methods import (  # benchmarks/methods.py
    _answer,
    add_common_args,
    checked_methods,
    parse_method,
    report,
    run_tasks,
    split_methods,
)
from r2p.backends.llamacpp import LlamaCppBackend
from r2p.data import load_split
from r2p.methods.r2p.synthesis import SYNTHESES
from r2p.methods.registry import get_method
from r2p.metrics import score
from r2p.types import Prediction, Sample


def _summary(rows: list[tuple[Prediction, float]]) -> dict[str, float]:
    n = len(rows) or 1
    return {"n": len(rows),
            "gen_tokens_per_query": round(sum(p.usage.completion_tokens for p, _ in rows) / n, 1),
            "calls_per_query": round(sum(p.n_calls for p, _ in rows) / n, 2),
            "seconds_per_query": round(sum(dt for _, dt in rows) / n, 3)}


def run_task(task_name: str, args: argparse.Namespace,
             backend: LlamaCppBackend) -> list[dict[str, Any]]:
    """Every variant on ``args.users`` users with ``args.per_user`` queries each."""
    ds = load_split(task_name, Path(args.data), args.split)
    task, samples = ds.task, ds.samples
    users = samples[: args.users]
    queries = [[Sample(f"{u.id}~{j}", samples[(i + j) % len(samples)].input, u.profile,
                       u.output if j == 0 else None) for j in range(args.per_user)]
               for i, u in enumerate(users)]
    names = split_methods(args.methods)
    done: dict[str, list[list[tuple[Prediction, float]]]] = {
        m: [[] for _ in users] for m in names}
    SYNTHESES.clear()
    c = max(1, args.concurrency)
    with ThreadPoolExecutor(c) as pool:
        for lo in range(0, len(users), c):
            batch = range(lo, min(lo + c, len(users)))
            for m in names:
                name, opts = parse_method(m)
                method = get_method(name, **opts)
                for j in range(args.per_user):
                    for u, got in zip(batch, pool.map(
                            lambda u, j=j, method=method: _answer(method, task, queries[u][j],
                                                                  args.k, backend), batch)):
                        done[m][u].append(got)
    golds = {u.id: u.output or "" for u in users}
    rows = []
    for m in names:
        own = {users[u].id: done[m][u][0][0].answer for u in range(len(users))}
        everything = [x for per in done[m] for x in per]
        rows.append({
            "task": task_name, "method": m,
            **{k: round(v, 4) for k, v in score(task, golds, own).items()},
            "all": _summary(everything),
            "first": _summary([per[0] for per in done[m]]),
            "later": _summary([x for per in done[m] for x in per[1:]]),
        })
    return rows


def ratios(rows: list[dict[str, Any]], base: str = "rag") -> list[dict[str, Any]]:
    """Per task and method: wall seconds and generated tokens per query over ``base``'s, for
    all queries and for later ones (a user's synthesis already written)."""
    out = []
    for r in rows:
        b = next((x for x in rows if x["task"] == r["task"] and x["method"] == base), None)
        if b is None or r["method"] == base:
            continue
        out.append({"task": r["task"], "method": r["method"], "over": base, **{
            f"{part}_{what}": round(r[part][f"{what}_per_query"]
                                    / max(b[part][f"{what}_per_query"], 1e-9), 2)
            for part in ("all", "later") for what in ("seconds", "gen_tokens")}})
    return out


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the variants on every task, print the JSON."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_common_args(ap, tasks="LaMP_1,LaMP_3,LaMP_7", methods="rag,r2p,r2p[synthesis=user]",
                    concurrency=4, concurrency_help="users in flight")
    ap.add_argument("--users", type=int, default=4)
    ap.add_argument("--per-user", type=int, default=4, help="queries per user")
    args = ap.parse_args(argv)
    methods = checked_methods(args.methods)
    rows, identity = run_tasks(args, lambda task, be: run_task(task, args, be))
    print(report("synthesis_reuse", identity, args, rows, ratios(rows, methods[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
