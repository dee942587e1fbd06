"""The report's plots (PNG, matplotlib with the Agg backend, imported lazily).

* ``metric_vs_k_<task>.png``: the task's first official metric against k, one line per method
  (x retriever x model): the paper's "retrieval-intensive" finding.
* ``gen_tokens_per_method.png``: generated tokens per query (token inflation of reasoning).
* ``format_ok_per_method.png``: share of raw answers in the task's format.
* ``interventions_per_method.png``: RPI interventions per query.

Bar plots group bars by method with one bar per task, averaging the runs of a method.

Example:
    >>> # paths = make_plots(runs, Path("report/plots"))
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from statistics import fmean
from typing import Any

from r2p.errors import MissingDependencyError
from r2p.report.runs import Run
from r2p.report.tables import LOWER_IS_BETTER, method_rank, official_metrics, varies

BAR_PLOTS: dict[str, tuple[str, str]] = {
    # metrics.json key -> (file stem, y label)
    "gen_tokens_per_query": ("gen_tokens_per_method", "generated tokens per query"),
    "format_ok": ("format_ok_per_method", "format_ok rate (raw answer in format)"),
    "interventions_per_query": ("interventions_per_method", "interventions per query"),
}


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingDependencyError("matplotlib (for the report's plots)",
                                     "pip install 'r2p[report]'") from exc
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def metric_vs_k_series(runs: Sequence[Run], task: str, metric: str
                       ) -> dict[str, list[tuple[int, float]]]:
    """Points ``(k, mean metric)`` per series label for one task.

    A series is a method (plus retriever and model when those vary). k = 0 runs do not retrieve,
    so their point joins every series of the same method and model.
    """
    task_runs = [r for r in runs if r.task == task and r.metric(metric) is not None]
    show_model = varies(task_runs, "model")
    retrievers = {r.retriever for r in task_runs if r.k > 0}
    show_retriever = len(retrievers) > 1

    def label(method: str, model: str, retriever: str | None) -> str:
        parts = [method]
        parts += [retriever] if show_retriever and retriever else []
        parts += [model] if show_model else []
        return " / ".join(parts)

    values: dict[tuple[str, str, str | None], dict[int, list[float]]] = {}
    for r in task_runs:
        value = r.metric(metric)
        if r.k > 0 and value is not None:
            values.setdefault((r.method, r.model, r.retriever), {}).setdefault(r.k, []).append(
                value)
    for r in task_runs:
        value = r.metric(metric)
        if r.k != 0 or value is None:
            continue
        targets = [key for key in values if key[0] == r.method and key[1] == r.model]
        for key in targets or [(r.method, r.model, None)]:
            values.setdefault(key, {}).setdefault(0, []).append(value)
    out: dict[str, list[tuple[int, float]]] = {}
    for (method, model, retriever), by_k in sorted(
            values.items(), key=lambda kv: (method_rank(kv[0][0]), kv[0][1], kv[0][2] or "")):
        out[label(method, model, retriever)] = sorted((k, fmean(v)) for k, v in by_k.items())
    return out


def plot_metric_vs_k(runs: Sequence[Run], task: str, path: Path) -> Path | None:
    """Draw the task's first official metric against k; ``None`` when nothing to draw."""
    keys = [k for k in official_metrics(task, runs)
            if any(r.task == task and r.metric(k) is not None for r in runs)]
    if not keys:
        return None
    metric = keys[0]
    series = metric_vs_k_series(runs, task, metric)
    if not series:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    try:
        for label, points in series.items():
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
        all_k = sorted({p[0] for pts in series.values() for p in pts})
        ax.set_xticks(all_k)
        ax.set_xlabel("k (retrieved profile items)")
        better = "lower is better" if metric in LOWER_IS_BETTER else "higher is better"
        ax.set_ylabel(f"{metric} ({better})")
        ax.set_title(f"{task}: {metric} against k")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


def bar_values(runs: Sequence[Run], key: str) -> dict[str, dict[str, float]]:
    """``{method: {task: mean of metrics[key] over the method's runs}}`` (absent values skipped)."""
    acc: dict[str, dict[str, list[float]]] = {}
    for r in runs:
        v = r.metric(key)
        if v is not None:
            acc.setdefault(r.method, {}).setdefault(r.task, []).append(v)
    return {m: {t: fmean(v) for t, v in sorted(by_task.items())}
            for m, by_task in sorted(acc.items(), key=lambda kv: method_rank(kv[0]))}


def plot_bars(values: dict[str, dict[str, float]], ylabel: str, title: str,
              path: Path) -> Path | None:
    """Grouped bars: one group per method, one bar per task; ``None`` when ``values`` is empty."""
    if not values:
        return None
    plt = _pyplot()
    methods = list(values)
    tasks = sorted({t for by_task in values.values() for t in by_task})
    width = 0.8 / max(1, len(tasks))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(methods) + 2), 4.0), dpi=100)
    try:
        for i, task in enumerate(tasks):
            # a method without runs on this task gets no bar (not a misleading zero)
            present = [j for j, m in enumerate(methods) if task in values[m]]
            xs = [j + (i - (len(tasks) - 1) / 2) * width for j in present]
            ys = [values[methods[j]][task] for j in present]
            bars = ax.bar(xs, ys, width=width, label=task)
            ax.bar_label(bars, fmt="%.3g", fontsize=7)
        ax.set_xticks(range(len(methods)))
        ax.set_xticklabels(methods, rotation=20)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
        if len(tasks) > 1:
            ax.legend(fontsize=8)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


def make_plots(runs: Sequence[Run], plots_dir: Path) -> dict[str, Path]:
    """Draw every plot that the runs have data for; returns ``{file stem: path}``.

    Raises:
        MissingDependencyError: matplotlib is not installed (names ``pip install 'r2p[report]'``).
    """
    _pyplot()  # fail early, once, with the install command
    out: dict[str, Path] = {}
    for task in sorted({r.task for r in runs}):
        stem = f"metric_vs_k_{_safe(task)}"
        p = plot_metric_vs_k(runs, task, plots_dir / f"{stem}.png")
        if p is not None:
            out[stem] = p
    for key, (stem, ylabel) in BAR_PLOTS.items():
        p = plot_bars(bar_values(runs, key), ylabel, f"{ylabel} per method",
                      plots_dir / f"{stem}.png")
        if p is not None:
            out[stem] = p
    return out


__all__ = [
    "BAR_PLOTS",
    "bar_values",
    "make_plots",
    "metric_vs_k_series",
    "plot_bars",
    "plot_metric_vs_k",
]
