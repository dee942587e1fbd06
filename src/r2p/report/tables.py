"""Tables of the report: a small :class:`Table` value rendered to Markdown and HTML, and the
metrics table (one per task: method x k x retriever [x model] [x seed]).

Example:
    >>> t = Table("demo", ["method", "k", "rouge-1"], [["rag", 4, 0.41234]])
    >>> print(t.to_markdown().splitlines()[4])
    | rag | 4 | 0.4123 |
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from r2p.report.runs import Run

Cell = Any  # str | int | float | bool | None

# Methods in the order the paper builds them up; unknown methods follow alphabetically.
METHOD_ORDER = ("direct", "rag", "think", "hrt", "hrt_rpi", "r2p", "r2p_llm")
LOWER_IS_BETTER = frozenset({"MAE", "RMSE"})
# metrics.json keys that are not official metrics, with their column titles.
EXTRA_METRICS: dict[str, str] = {
    "format_ok": "format_ok",
    "gen_tokens_per_query": "gen tok/q",
    "interventions_per_query": "interv./q",
    "seconds_per_query": "s/q",
    "n": "n",
    "n_failed": "failed",
    "n_truncated": "truncated",
}


@dataclass
class Table:
    """A titled table of cells; numbers are shown with 4 significant decimals, None as "—".

    Attributes:
        title: shown above the table.
        headers: column titles.
        rows: the cells, one list per row.
        note: an optional sentence shown under the table.
    """

    title: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown (title as a level-3 heading)."""
        dec = column_decimals(self.rows, len(self.headers))

        def esc(c: Cell, i: int = 0, data: bool = True) -> str:
            text = fmt(c, dec[i] if i < len(dec) else 4)
            if data and isinstance(c, str):  # a run or model name is data, not markup
                text = md_escape(text)
            return text.replace("|", "\\|").replace("\n", " ")

        lines = [f"### {self.title}", ""] if self.title else []
        lines.append("| " + " | ".join(esc(h, data=False) for h in self.headers) + " |")
        lines.append("|" + "|".join("---" for _ in self.headers) + "|")
        lines += ["| " + " | ".join(esc(c, i) for i, c in enumerate(row)) + " |"
                  for row in self.rows]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines)

    def to_html(self) -> str:
        """An HTML ``<table>`` (cells escaped; numbers right-aligned)."""
        parts = [f"<h3>{html.escape(self.title)}</h3>"] if self.title else []
        parts.append("<table><thead><tr>")
        parts += [f"<th>{html.escape(h)}</th>" for h in self.headers]
        parts.append("</tr></thead><tbody>")
        dec = column_decimals(self.rows, len(self.headers))
        for row in self.rows:
            parts.append("<tr>")
            for i, c in enumerate(row):
                cls = ' class="num"' if isinstance(c, (int, float)) and not isinstance(c, bool) \
                    else ""
                d = dec[i] if i < len(dec) else 4
                parts.append(f"<td{cls}>{html.escape(fmt(c, d))}</td>")
            parts.append("</tr>")
        parts.append("</tbody></table>")
        if self.note:
            parts.append(f'<p class="note">{html.escape(self.note)}</p>')
        return "".join(parts)


_MD_MARKUP = re.compile(r"[\\`*<>&~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])|!(?=\[)|\](?=\()")


def md_escape(text: str) -> str:
    """``text`` with what would render as Markdown or HTML backslash-escaped (tags, links,
    images, emphasis, code), so a run or model name shows as written. Underscores inside a
    word (``LaMP_7``) are left alone.

    Example:
        >>> print(md_escape("<b>x</b> [a](http://e) *y* LaMP_7"))
        \\<b\\>x\\</b\\> [a\\](http://e) \\*y\\* LaMP_7
    """
    return _MD_MARKUP.sub(lambda m: "\\" + m.group(0), text)


def fmt(value: Cell, decimals: int = 4) -> str:
    """Format one cell: floats to ``decimals`` places, None/NaN as "—", bools as yes/no."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.{decimals}f}"
    return str(value)


def column_decimals(rows: Sequence[Sequence[Cell]], n_cols: int) -> list[int]:
    """Decimals per column, so a column reads evenly: 4, or 1 when it holds a value >= 10."""
    out = [4] * n_cols
    for row in rows:
        for i, c in enumerate(row[:n_cols]):
            if isinstance(c, float) and not math.isnan(c) and abs(c) >= 10:
                out[i] = 1
    return out


def method_rank(method: str) -> tuple[int, str]:
    """Sort key putting methods in the paper's order (a method with options right after the
    plain one), unknown ones after, alphabetically."""
    name = method.split("[", 1)[0]
    return (METHOD_ORDER.index(name) if name in METHOD_ORDER else len(METHOD_ORDER), method)


def official_metrics(task: str, runs: Sequence[Run]) -> list[str]:
    """The task's official metric keys (from the task registry, else those found in runs)."""
    from r2p.errors import UnknownNameError
    from r2p.tasks import get_task

    try:
        return list(get_task(task).metrics)
    except UnknownNameError:
        keys: list[str] = []
        for run in runs:
            keys += [k for k in run.metrics if k not in EXTRA_METRICS and k not in keys]
        return keys


def varies(runs: Sequence[Run], attr: str) -> bool:
    """True when the runs differ in ``attr`` (a Run property or a config key)."""
    values = {str(getattr(r, attr)) if hasattr(r, attr) else str(r.config.get(attr))
              for r in runs}
    return len(values) > 1


def sort_runs(runs: Sequence[Run]) -> list[Run]:
    """Runs sorted by task, method (paper order), k, retriever, model, seed."""
    return sorted(runs, key=lambda r: (r.task, method_rank(r.method), r.k, r.retriever,
                                       r.model, str(r.config.get("seed"))))


def metrics_tables(runs: Sequence[Run]) -> list[Table]:
    """One table per task: a row per run with official metrics and the run's cost measures.

    Model and seed columns appear only when the runs differ in them.
    """
    tables: list[Table] = []
    show_model = varies(runs, "model")
    show_seed = varies(runs, "seed")
    for task in sorted({r.task for r in runs}):
        task_runs = sort_runs([r for r in runs if r.task == task])
        keys = official_metrics(task, task_runs)
        headers = ["method", "k", "retriever"]
        headers += ["model"] if show_model else []
        headers += ["seed"] if show_seed else []
        headers += [f"{k} ↓" if k in LOWER_IS_BETTER else k for k in keys]
        headers += list(EXTRA_METRICS.values())
        rows: list[list[Cell]] = []
        for r in task_runs:
            row: list[Cell] = [r.method, r.k, r.retriever]
            row += [r.model] if show_model else []
            row += [r.config.get("seed")] if show_seed else []
            row += [r.metric(k) for k in keys]
            for key in EXTRA_METRICS:
                v = r.metric(key)
                row.append(int(v) if key in ("n", "n_failed", "n_truncated") and v is not None else v)
            rows.append(row)
        tables.append(Table(f"{task}: metrics", headers, rows))
    return tables


def runs_table(runs: Sequence[Run]) -> Table:
    """Every run read: its directory name, settings, model identity and record count."""
    rows: list[list[Cell]] = []
    for r in runs:
        ident = r.config.get("model_identity") or {}
        who = ", ".join(f"{k}={v}" for k, v in ident.items() if k != "backend") \
            if isinstance(ident, dict) else str(ident)
        rows.append([r.name, r.task, r.method, r.k, r.retriever, r.model,
                     r.config.get("seed"), who or None, len(r.records)])
    return Table("", ["run", "task", "method", "k", "retriever", "model", "seed",
                          "model identity", "records"], rows)


__all__ = [
    "EXTRA_METRICS",
    "LOWER_IS_BETTER",
    "METHOD_ORDER",
    "Table",
    "column_decimals",
    "fmt",
    "md_escape",
    "method_rank",
    "metrics_tables",
    "official_metrics",
    "runs_table",
    "sort_runs",
    "varies",
]
