"""``r2p report RUN_OR_SWEEP_DIR... --out DIR``: build report.md, report.html and plots/."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from r2p.errors import ConfigError


def add_parser(subparsers: Any) -> None:
    """Register the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report",
        help="build report.md / report.html from run or sweep directories",
        description="Build report.md, a self-contained report.html and plots/*.png from run "
                    "directories and/or sweep directories (runs/<name>/). Never calls a model.",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="RUN_OR_SWEEP_DIR",
                   help="run directories (config.json + metrics.json) or sweep directories")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="output directory (created)")
    p.add_argument("--max-samples", type=int, default=100, metavar="N",
                   help="sample traces listed per run in report.html (default: 100)")
    p.add_argument("--baseline", default="rag", metavar="METHOD",
                   help="method the other runs are compared with, query by query, with "
                        "bootstrap intervals (default: rag)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the report and print the paths written."""
    from r2p.errors import UnknownNameError
    from r2p.methods.registry import METHODS
    from r2p.report import build_report
    from r2p.report.runs import load_runs

    known = set(METHODS) | {r.method for r in load_runs(args.paths, [])}
    if args.baseline not in known:  # a typo would silently compare with nothing
        raise UnknownNameError("baseline method", args.baseline, known)
    if args.max_samples < 0:
        raise ConfigError(f"--max-samples must be >= 0, got {args.max_samples}")
    written = build_report(args.paths, args.out, max_samples_per_run=args.max_samples,
                           baseline=args.baseline)
    for rel in written:
        print(args.out / rel)
    return 0
