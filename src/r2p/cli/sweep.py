"""``r2p sweep``: run a YAML grid of configurations (or list it with ``--dry-run``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register ``r2p sweep``."""
    p = subparsers.add_parser(
        "sweep", help="run a grid of configurations from a YAML file",
        description="Run every point of a grid (tasks x methods x models x k x retrievers x "
                    "seeds); runs share data, retrieval, models and the record store.",
    )
    p.add_argument("file", metavar="SWEEP.yaml", help="sweep file: base, grid, out")
    p.add_argument("--out", metavar="DIR", help="sweep directory (overrides the file's out)")
    p.add_argument("--limit", type=int, help="only the first N samples of every run")
    p.add_argument("-c", "--concurrency", type=int, help="samples in flight in every run")
    p.add_argument("--dry-run", action="store_true",
                   help="list the runs and the estimated number of model calls; run nothing")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--overwrite", action="store_true",
                   help="replace run directories that hold a run of a different configuration")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``r2p sweep``: 0 when every sample of every run succeeded, 1 otherwise."""
    from r2p.runner.sweep import load_sweep, plan, run_sweep, to_markdown

    overrides = {"limit": args.limit, "concurrency": args.concurrency}
    sweep = load_sweep(args.file, out=args.out, overrides=overrides)
    if args.dry_run:
        rows = plan(sweep)
        shown = [{k: r[k] for k in ("run", "samples")}
                 | {"model calls (estimate)": f"{r['calls_low']}" if r["calls_low"] ==
                    r["calls_high"] else f"{r['calls_low']}-{r['calls_high']}"} for r in rows]
        print(to_markdown(shown), end="")
        lo = sum(r["calls_low"] for r in rows)
        hi = sum(r["calls_high"] for r in rows)
        total = f"{lo}" if lo == hi else f"{lo}-{hi}"
        print(f"\n{len(rows)} runs, {sum(r['samples'] for r in rows)} samples, about {total} "
              f"model calls (an estimate: interventions depend on the model; cached samples "
              f"are not called); outputs would go to {sweep.out}")
        return 0
    rows, failed = run_sweep(sweep, progress=not args.no_progress, overwrite=args.overwrite)
    print(f"{len(rows)} runs done; summary: {sweep.out / 'summary.md'} and "
          f"{sweep.out / 'summary.csv'}; runs in {sweep.out / 'runs'}")
    if failed:
        print(f"r2p: {failed} sample(s) failed across the runs (recorded); re-run the same "
              "command to retry them", file=sys.stderr)
        return 1
    return 0
