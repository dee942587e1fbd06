"""The study's results table from a sweep directory (no model is called).

    .venv/bin/python benchmarks/study_table.py runs/study > runs/study/TABLE.md

Prints Markdown:

1. per task (and split), one row per model x method: the official metrics, ``format_ok``, and
   the cost: generated tokens, model calls and wall seconds per query; RPI interventions per
   query; for the R2P variants how often the final answer is a repair (``repair``: the chosen
   candidate carries a failed ``answer_repair`` check) and the part of it that is the user's most
   frequent label or the first label (``prior``), both also counted as ``format_ok`` False;
2. r2p against rag and against think on the same queries (same task, split, model and
   settings): the first official metric's difference with its 95 % paired-bootstrap interval,
   wins / ties / losses per query, and the wall-time ratio (r2p's seconds over the baseline's,
   summed over the shared queries).

Metrics and generated tokens come from each run's ``metrics.json``, calls per query and wall
times from its ``records.jsonl`` (``n_calls``, ``wall_s``); the paired statistics are those of
``r2p report`` (:mod:`r2p.report.compare`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from statistics import fmean
from typing import Any

from r2p.records import RunRecord
from r2p.report.compare import compare_runs, format_delta, group_key
from r2p.report.plots import short_model
from r2p.report.runs import Run, load_runs
from r2p.report.tables import LOWER_IS_BETTER, Table, method_rank, official_metrics
from r2p.trace import Check, Decision

R2P_FAMILY = ("hrt", "r2p")
"""Name prefixes of the R2P variants (hrt, hrt_rpi, r2p, r2p_*): the repair columns apply."""
METHOD = "r2p"
BASELINES = ("rag", "think")


def task_label(run: Run) -> str:
    """The task, with its split when it is not ``dev``: ``LaMP_2N (train)``."""
    split = str(run.config.get("split") or "dev")
    return run.task if split == "dev" else f"{run.task} ({split})"


def repair_of(record: RunRecord) -> tuple[bool, bool]:
    """(the final answer is a repair, that repair is the profile prior / first label)."""
    decision = next((e for e in record.trace if isinstance(e, Decision)), None)
    if decision is not None and decision.how == "llm":
        return False, False  # the selection call wrote the final answer itself
    chosen = decision.chosen if decision is not None else 0
    for e in record.trace:
        if isinstance(e, Check) and e.name == "answer_repair" \
                and (e.candidate if e.candidate is not None else chosen) == chosen:
            return True, ("most frequent label" in e.detail or "first label" in e.detail)
    return False, False


def calls_per_query(run: Run) -> float | None:
    """Mean model calls per scored query (``n_calls`` of the records); None without records."""
    recs = run.scored_records
    return fmean(float(r.n_calls) for r in recs) if recs else None


def results_tables(runs: Sequence[Run]) -> list[Table]:
    """One table per task (and split): a row per model x method."""
    tables: list[Table] = []
    for label in sorted({task_label(r) for r in runs}):
        rows_runs = sorted((r for r in runs if task_label(r) == label),
                           key=lambda r: (short_model(r), method_rank(r.method), r.k))
        keys = official_metrics(rows_runs[0].task, rows_runs)
        headers = ["model", "method"] + [f"{k} ↓" if k in LOWER_IS_BETTER else k for k in keys]
        headers += ["format_ok", "gen tok/q", "calls/q", "s/q", "interv./q", "repair", "prior",
                    "n"]
        rows: list[list[Any]] = []
        for r in rows_runs:
            recs = r.scored_records
            rep = [repair_of(x) for x in recs]
            family = r.method.startswith(R2P_FAMILY) and bool(recs)
            n = r.metric("n")
            rows.append([short_model(r), r.method, *(r.metric(k) for k in keys),
                         r.metric("format_ok"), r.metric("gen_tokens_per_query"),
                         calls_per_query(r), r.metric("seconds_per_query"),
                         r.metric("interventions_per_query"),
                         fmean(a for a, _ in rep) if family else None,
                         fmean(b for _, b in rep) if family else None,
                         int(n) if n is not None else None])
        tables.append(Table(label, headers, rows))
    return tables


def comparison_table(runs: Sequence[Run], method: str = METHOD,
                     baselines: Sequence[str] = BASELINES) -> Table:
    """``method`` against each baseline on the same queries, per task x model."""
    rows: list[list[Any]] = []
    for run in sorted((r for r in runs if r.method == method),
                      key=lambda r: (task_label(r), short_model(r), group_key(r))):
        for name in baselines:
            base = next((b for b in runs if b.method == name and group_key(b) == group_key(run)),
                        None)
            c = compare_runs(run, base) if base is not None else None
            if base is None or c is None:
                rows.append([task_label(run), short_model(run), name, None,
                             f"no {name} run on the same queries", None, None, None])
                continue
            key, (_, _, d) = next(iter(c.metrics.items()))
            mine = {r.id: r.wall_s for r in run.scored_records}
            theirs = {r.id: r.wall_s for r in base.scored_records}
            shared = [i for i in mine if i in theirs]
            denom = sum(theirs[i] for i in shared)
            ratio = sum(mine[i] for i in shared) / denom if denom > 0 else None
            rows.append([task_label(run), short_model(run), name, key,
                         format_delta(d, key in LOWER_IS_BETTER),
                         f"{c.wins} / {c.ties} / {c.losses}", c.n, ratio])
    return Table("", ["task", "model", f"{method} vs", "metric", "Δ [95% CI]",
                  "wins / ties / losses", "n", f"wall time {method} / vs"], rows,
                 note=f"Δ = {method} - baseline on the first official metric (↓: lower is "
                      "better), paired percentile bootstrap; '(better)'/'(worse)' when the "
                      "interval excludes 0. Wall time: seconds summed over the shared queries.")


def study_table(sweep: str | Path, method: str = METHOD,
                baselines: Sequence[str] = BASELINES) -> str:
    """The whole Markdown text for a sweep directory (or several run directories).

    Raises:
        r2p.errors.DataError: the directory holds no finished run, or a file is malformed.
    """
    runs = load_runs([Path(sweep)])
    parts = ["## Results", "",
             "Official metrics (↓: lower is better); format_ok: share of raw answers in the "
             "task's format; cost per query: generated tokens, model calls, wall seconds; "
             "RPI interventions per query; repair / prior: R2P variants only (see "
             "benchmarks/study_table.py).", ""]
    parts += [t.to_markdown() + "\n" for t in results_tables(runs)]
    comp = comparison_table(runs, method, baselines)
    parts += [f"## {method} against {' and '.join(baselines)} (same queries)", "",
              comp.to_markdown() if comp.rows else f"No {method} run in {sweep}.", ""]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the study's tables for ``SWEEP_DIR``; 0 on success, 2 on a bad directory."""
    from r2p.errors import R2PError

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("sweep", nargs="?", default="runs/study", metavar="SWEEP_DIR")
    p.add_argument("--method", default=METHOD, help="the method compared (default r2p)")
    p.add_argument("--baselines", nargs="+", default=list(BASELINES), metavar="METHOD",
                   help="what it is compared with (default rag think)")
    args = p.parse_args(argv)
    try:
        print(study_table(args.sweep, args.method, args.baselines), end="")
    except R2PError as exc:
        print(f"study_table: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
