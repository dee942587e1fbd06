"""``r2p demo``: R2P and the rag baseline on the shipped demo subset with the embedded model,
then the report. Runs in a few minutes on 2 CPU cores and resumes like any run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DEFAULT_METHODS = "rag,r2p"


def add_parser(subparsers: Any) -> None:
    """Register ``r2p demo``."""
    p = subparsers.add_parser(
        "demo", help="run the main job on the shipped demo subset with the embedded model",
        description="R2P (and the rag baseline) on a few queries of each task of the shipped "
                    "demo subset, with the embedded model, then report.md / report.html.",
    )
    p.add_argument("--out", default="runs/demo", metavar="DIR", help="output (default runs/demo)")
    p.add_argument("--limit", type=int, default=3, help="queries per task (default 3)")
    p.add_argument("--tasks", help="comma-separated tasks (default: every task of the subset)")
    p.add_argument("--methods", default=DEFAULT_METHODS,
                   help=f"comma-separated methods (default {DEFAULT_METHODS})")
    p.add_argument("--k", type=int, default=4, help="profile items retrieved (default 4)")
    p.add_argument("--no-k0", action="store_true",
                   help="skip the non-personalized run (rag at k = 0) that the report compares "
                        "against to measure what retrieval changes")
    p.add_argument("--model", default="smollm2", help="embedded model (default smollm2)")
    p.add_argument("-c", "--concurrency", type=int, default=2,
                   help="samples in flight (default 2: one llama.cpp slot each)")
    p.add_argument("--no-report", action="store_true", help="skip the report")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def demo_sweep(args: argparse.Namespace) -> Any:
    """The demo as a :class:`~r2p.runner.sweep.Sweep` over the shipped subset."""
    from r2p.data import demo_dir
    from r2p.runner.config import build_config
    from r2p.runner.sweep import Sweep, SweepRun

    data = demo_dir()
    out = Path(args.out)
    tasks = ([t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else
             sorted(p.name for p in data.iterdir() if (p / "dev_questions.json").is_file()))
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    # (method, k): every method at --k, plus rag at k = 0 (the non-personalized baseline)
    plan = [(m, args.k) for m in methods]
    if not args.no_k0 and "rag" in methods and args.k != 0:
        plan.insert(0, ("rag", 0))
    runs = []
    for task in tasks:
        for method, k in plan:
            name = f"{task}-{method}" + ("-k0" if k == 0 else "")
            cfg = build_config({
                "task": task, "data": data, "split": "dev", "method": method, "retriever": "bm25",
                "k": k, "backend": "llamacpp", "model": args.model, "limit": args.limit,
                "concurrency": args.concurrency, "out": out / "runs" / name,
                "store": out / ".r2p-store.sqlite",
            }, source="demo options")
            runs.append(SweepRun(name, cfg))
    return Sweep(out, runs)


def run(args: argparse.Namespace) -> int:
    """Execute ``r2p demo``."""
    from r2p.runner.sweep import run_sweep

    sweep = demo_sweep(args)
    rows, failed = run_sweep(sweep, progress=not args.no_progress)
    print(f"demo: {len(rows)} runs in {sweep.out / 'runs'}; summary: {sweep.out / 'summary.md'}")
    print((sweep.out / "summary.md").read_text(encoding="utf-8"), end="")
    if not args.no_report:
        try:
            from r2p.report import build_report
        except ImportError:
            print("demo: the report is not available in this install (r2p.report)",
                  file=sys.stderr)
        else:
            files = build_report([sweep.out], sweep.out / "report")
            for kind, path in sorted(files.items()):
                print(f"demo: {kind}: {path}")
    if failed:
        print(f"r2p: {failed} sample(s) failed (recorded); re-run to retry them", file=sys.stderr)
        return 1
    return 0
