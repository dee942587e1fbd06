"""The report's plots (PNG, matplotlib with the Agg backend, imported lazily).

* ``quality_vs_tokens.png`` / ``quality_vs_seconds.png``: quality against cost, the plot to read
  first. One panel per task, one labelled point per method (x model, and x k or retriever when
  those vary): x = generated tokens (or seconds) per query, y = the task's first official metric.
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

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

from r2p.atomic import atomic_path
from r2p.errors import MissingDependencyError
from r2p.report.runs import Run
from r2p.report.tables import LOWER_IS_BETTER, method_rank, official_metrics, varies

BAR_PLOTS: dict[str, tuple[str, str]] = {
    # metrics.json key -> (file stem, y label)
    "gen_tokens_per_query": ("gen_tokens_per_method", "generated tokens per query"),
    "format_ok": ("format_ok_per_method", "format_ok rate (raw answer in format)"),
    "interventions_per_query": ("interventions_per_method", "interventions per query"),
}


COST_PLOTS: dict[str, tuple[str, str]] = {
    # metrics.json cost key -> (file stem, x label)
    "gen_tokens_per_query": ("quality_vs_tokens", "generated tokens per query"),
    "seconds_per_query": ("quality_vs_seconds", "seconds per query"),
}

MARKERS = ("o", "s", "^", "D", "v", "P")


def _metric_label(metric: str) -> str:
    """The y-axis label of ``metric``, saying which way is better."""
    better = "lower is better" if metric in LOWER_IS_BETTER else "higher is better"
    return f"{metric} ({better})"


def _save(fig: Any, path: Path) -> None:
    """Lay out ``fig`` and write it as a PNG atomically (never half a file, even if killed)."""
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


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
        ax.set_ylabel(_metric_label(metric))
        ax.set_title(f"{task}: {metric} against k")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        _save(fig, path)
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
        _save(fig, path)
    finally:
        plt.close(fig)
    return path


@dataclass(frozen=True)
class CostPoint:
    """One point of the quality-against-cost plot: a method (x model ...) on one task.

    Attributes:
        label: what the point is labelled with (the method, plus k or retriever when they vary).
        cost: mean cost per query (x), e.g. generated tokens per query.
        quality: the task's first official metric (y), pooled over the group's runs.
        n: scored queries behind the point.
        model: the model's short name when several models ran the task, else ``""`` (the
            plot gives each model its own marker and colour).
    """

    label: str
    cost: float
    quality: float
    n: int
    model: str = ""


def short_model(run: Run) -> str:
    """The model's file or alias name, without directories and ``.gguf``.

    Example:
        >>> from pathlib import Path
        >>> short_model(Run(Path("r"), {"model": "~/m/qwen-0.5b.gguf", "backend": "llamacpp"}, {}))
        'qwen-0.5b'
    """
    name = str(run.config.get("model") or run.model).rsplit("/", 1)[-1]
    return name[: -len(".gguf")] if name.endswith(".gguf") else name


def cost_quality_points(runs: Sequence[Run], cost_key: str
                        ) -> tuple[dict[str, tuple[str, list[CostPoint]]], list[str]]:
    """The points of the quality-against-cost plot, per task, and notes on runs left out.

    Runs of one task are grouped by method, model, k and retriever; a group's runs (seeds,
    splits) are pooled, each weighted by its number of scored queries (``n``). The label names
    the method, then k and retriever when they vary within the task; the model is the point's
    series (``CostPoint.model``) when several ran it.

    Args:
        runs: loaded runs.
        cost_key: the ``metrics.json`` cost field for x (``gen_tokens_per_query``,
            ``seconds_per_query``).

    Returns:
        ``({task: (metric, points)}, notes)``; a run missing the cost field or the metric is
        left out with a note.
    """
    notes: list[str] = []
    out: dict[str, tuple[str, list[CostPoint]]] = {}
    for task in sorted({r.task for r in runs}):
        task_runs = [r for r in runs if r.task == task]
        keys = [k for k in official_metrics(task, task_runs)
                if any(r.metric(k) is not None for r in task_runs)]
        if not keys:
            notes.append(f"{task}: no run has an official metric: no quality-against-cost point")
            continue
        metric = keys[0]
        usable: list[Run] = []
        for r in task_runs:
            missing = [k for k in (cost_key, metric) if r.metric(k) is None]
            if missing:
                notes.append(f"run {r.name} ({task}, {r.method}) has no "
                             f"{' and no '.join(missing)} in metrics.json: left out of the "
                             f"quality-against-cost plot")
            else:
                usable.append(r)
        show = {a: varies(usable, a) for a in ("k", "model")}
        # k = 0 runs have retriever "none": a retriever is named only when several were used
        show["retriever"] = len({r.retriever for r in usable if r.k > 0}) > 1
        groups: dict[tuple[str, str, int, str], list[Run]] = {}
        for r in usable:
            groups.setdefault((r.method, r.model, r.k, r.retriever), []).append(r)
        points: list[CostPoint] = []
        for (method, _model, k, retriever), group in sorted(
                groups.items(), key=lambda kv: (method_rank(kv[0][0]), kv[0][1:])):
            weights = [max(1.0, r.metric("n") or 1.0) for r in group]
            total = sum(weights)

            def pooled(key: str, group: list[Run] = group, weights: list[float] = weights,
                       total: float = total) -> float:
                return sum(w * (r.metric(key) or 0.0) for w, r in zip(weights, group)) / total

            parts = [method]
            parts += [f"k={k}"] if show["k"] else []
            parts += [retriever] if show["retriever"] and k > 0 else []
            points.append(CostPoint(" / ".join(parts), pooled(cost_key), pooled(metric),
                                    int(sum(r.metric("n") or 0 for r in group)),
                                    short_model(group[0]) if show["model"] else ""))
        if points:
            out[task] = (metric, points)
    return out, notes


def plot_cost_quality(runs: Sequence[Run], cost_key: str, path: Path
                      ) -> tuple[Path | None, list[str]]:
    """Draw quality against ``cost_key`` per query, one panel per task, points labelled.

    Returns:
        ``(path, notes)``; the path is ``None`` when no run has both numbers.
    """
    points, notes = cost_quality_points(runs, cost_key)
    if not points:
        return None, notes
    xlabel = COST_PLOTS.get(cost_key, (cost_key, cost_key.replace("_", " ")))[1]
    plt = _pyplot()
    n = len(points)
    cols = min(n, 2)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.0 * cols, 4.2 * rows), dpi=100,
                             squeeze=False)
    try:
        for ax in axes.flat[n:]:
            ax.set_visible(False)
        for ax, (task, (metric, pts)) in zip(axes.flat, points.items()):
            xs = [p.cost for p in pts]
            models = list(dict.fromkeys(p.model for p in pts))
            for i, model in enumerate(models):
                mine = [p for p in pts if p.model == model]
                ax.scatter([p.cost for p in mine], [p.quality for p in mine], s=40, zorder=3,
                           marker=MARKERS[i % len(MARKERS)], label=model or None)
            for p in pts:
                ax.annotate(p.label, (p.cost, p.quality), textcoords="offset points",
                            xytext=(5, 4), fontsize=8)
            positive = [x for x in xs if x > 0]
            # token counts span orders of magnitude (direct ~10, R2P ~1000): log x then
            if len(positive) == len(xs) and max(xs) / min(xs) >= 20:
                ax.set_xscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(_metric_label(metric))
            ax.set_title(f"{task}: {metric} against {xlabel}")
            ax.margins(x=0.2, y=0.12)
            ax.grid(alpha=0.3)
            if len(models) > 1:
                ax.legend(fontsize=8, title="model", title_fontsize=8)
        _save(fig, path)
    finally:
        plt.close(fig)
    return path, notes


def make_cost_plots(runs: Sequence[Run], plots_dir: Path) -> tuple[dict[str, Path], list[str]]:
    """Draw the quality-against-cost plots (tokens, then seconds per query).

    Returns:
        ``({file stem: path}, notes)``; notes name the runs left out for a missing field.

    Raises:
        MissingDependencyError: matplotlib is not installed (names ``pip install 'r2p[report]'``).
    """
    _pyplot()
    out: dict[str, Path] = {}
    notes: list[str] = []
    for key, (stem, _) in COST_PLOTS.items():
        p, more = plot_cost_quality(runs, key, plots_dir / f"{stem}.png")
        notes += more
        if p is not None:
            out[stem] = p
    return out, list(dict.fromkeys(notes))


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
    "COST_PLOTS",
    "CostPoint",
    "bar_values",
    "cost_quality_points",
    "make_cost_plots",
    "make_plots",
    "metric_vs_k_series",
    "plot_bars",
    "plot_cost_quality",
    "plot_metric_vs_k",
    "short_model",
]
