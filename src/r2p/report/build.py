"""``build_report``: runs and sweeps in, ``report.md`` + ``report.html`` + ``plots/*.png`` out.

The report never calls a model: it reads what the runner wrote (see :mod:`r2p.report.runs`).

Example:
    >>> # paths = build_report([Path("out/sweep")], Path("out/report"))
    >>> # paths["report.html"]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from r2p.atomic import write_text_atomic
from r2p.errors import DataError
from r2p.report.analysis import analysis_tables, analyze, load_monitor
from r2p.report.compare import compare_all, comparison_tables
from r2p.report.html import render_page
from r2p.report.plots import make_cost_plots, make_plots
from r2p.report.runs import Run, load_runs
from r2p.report.tables import Table, md_escape, metrics_tables, runs_table
from r2p.report.yield_ import NO_INTERVENING, intervention_yield, yield_tables

TITLE = "r2p report"


def _intro(runs: Sequence[Run]) -> str:
    tasks = sorted({r.task for r in runs})
    methods = sorted({r.method for r in runs})
    ks = sorted({r.k for r in runs})
    n = sum(len(r.scored_records) for r in runs)
    return (f"{len(runs)} run(s) · tasks: {', '.join(tasks)} · methods: {', '.join(methods)} · "
            f"k: {', '.join(map(str, ks))} · {n} scored sample records.")


def render_markdown(runs: Sequence[Run], metric_tables: Sequence[Table],
                    plots: dict[str, Path], out_dir: Path, analysis: Sequence[Table],
                    notes: Sequence[str], comparisons: Sequence[Table] = (),
                    baseline: str = "rag", cost_plots: dict[str, Path] | None = None,
                    cost_notes: Sequence[str] = (),
                    yields: Sequence[Table] | None = None) -> str:
    """The Markdown report (plots linked relative to ``out_dir``); quality against cost first."""
    lines = [f"# {TITLE}", "", md_escape(_intro(runs)), ""]
    if cost_plots is not None:
        lines += ["## Quality against cost", "",
                  "Each panel is a task; each point a method: x = cost per query, y = the "
                  "task's first official metric (its axis says which way is better).", ""]
        for stem, p in cost_plots.items():
            lines += [f"![{stem}]({p.relative_to(out_dir).as_posix()})", ""]
        if not cost_plots:
            lines += ["No run has both a metric and a cost.", ""]
        lines += [f"- {md_escape(n)}" for n in cost_notes] + ([""] if cost_notes else [])
    lines += ["## Metrics", ""]
    for t in metric_tables:
        lines += [t.to_markdown(), ""]
    lines += [f"## Against {baseline}: paired differences", ""]
    for t in comparisons:
        lines += [t.to_markdown(), ""]
    if not comparisons:
        lines += [f"No {baseline} run with the same settings to compare with.", ""]
    if yields is not None:
        lines += ["## Intervention yield", ""]
        for t in yields:
            lines += [t.to_markdown(), ""]
        lines += [NO_INTERVENING, ""] if not yields else []
    lines += ["## Plots", ""]
    for stem, p in plots.items():
        lines += [f"![{stem}]({p.relative_to(out_dir).as_posix()})", ""]
    lines += ["## Analysis: the three limitations", ""]
    for t in analysis:
        lines += [t.to_markdown(), ""]
    lines += [f"- {md_escape(n)}" for n in notes]
    lines += ["", "## Runs", "", runs_table(runs).to_markdown(), ""]
    lines += ["Per-sample traces are in report.html (Samples section).", ""]
    return "\n".join(lines)


def build_report(paths: Sequence[Path], out_dir: Path, *,
                 max_samples_per_run: int = 100, baseline: str = "rag") -> dict[str, Path]:
    """Build the report from run and/or sweep directories.

    Args:
        paths: run directories and/or sweep directories (``runs/<name>/``).
        out_dir: where ``report.md``, ``report.html`` and ``plots/`` go (created).
        max_samples_per_run: how many sample traces per run the HTML lists.
        baseline: the method every other run is compared with (paired differences with
            bootstrap intervals, :mod:`r2p.report.compare`), among runs with the same settings.
            The intervention yield (:mod:`r2p.report.yield_`) is always against ``hrt``.

    Returns:
        ``{relative path: absolute path}`` of every written file, e.g. ``"report.html"``,
        ``"plots/quality_vs_tokens.png"``, ``"plots/metric_vs_k_LaMP_7.png"``.

    Raises:
        DataError: a path is not a run/sweep directory, or one of its files is malformed.
        MissingDependencyError: matplotlib is missing (``pip install 'r2p[report]'``).
    """
    if max_samples_per_run < 0:
        raise DataError(f"max_samples_per_run must be >= 0, got {max_samples_per_run}")
    skipped: list[Path] = []
    runs = load_runs([Path(p) for p in paths], skipped)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"{out_dir}: exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    m_tables = metrics_tables(runs)
    cost_plots, cost_notes = make_cost_plots(runs, out_dir / "plots")
    plots = make_plots(runs, out_dir / "plots")
    monitor = load_monitor()
    result = analyze(runs, monitor)
    a_tables = analysis_tables(result, runs)
    c_tables = comparison_tables(compare_all(runs, baseline))
    y_tables = yield_tables(intervention_yield(runs))
    notes = list(result.notes)
    if skipped:
        notes.append("unfinished runs left out: " + ", ".join(p.name for p in skipped))
    md = out_dir / "report.md"
    write_text_atomic(md, render_markdown(runs, m_tables, plots, out_dir, a_tables, notes,
                                          c_tables, baseline, cost_plots, cost_notes, y_tables))
    page = out_dir / "report.html"
    write_text_atomic(page, render_page(TITLE, _intro(runs), m_tables, plots, a_tables, notes,
                                        runs, max_samples_per_run, monitor, c_tables, baseline,
                                        cost_plots, cost_notes, y_tables))
    written = {"report.md": md, "report.html": page}
    for p in [*cost_plots.values(), *plots.values()]:
        written[p.relative_to(out_dir).as_posix()] = p
    return written


__all__ = ["build_report", "render_markdown"]
