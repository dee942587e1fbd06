"""A sweep: a YAML grid of runs over tasks x methods x models x k x retrievers x seeds.

The file has three parts: ``base`` (options every run shares, as for ``r2p run``), ``grid`` (each
key an option, each value a list; the runs are the product of the lists) and an optional ``out``.
A grid value is either a plain value for that option or a mapping of options with an optional
``name`` (its label in run names), which is how a model is given together with its backend::

    out: runs/study
    base: {data: ../shared/data, split: dev, limit: 50, concurrency: 4}
    grid:
      task: [LaMP_3, LaMP_7]
      method: [rag, r2p]
      k: [0, 4]
      model:
        - {name: smollm2, backend: llamacpp, model: smollm2}

Runs share one :class:`~r2p.runner.resources.Resources` (data loaded once, each profile ranked
once, each model loaded once) and one record store (``<out>/.r2p-store.sqlite``), so a
generation two runs ask for is computed once. The sweep directory holds ``runs/<run-name>/``,
``summary.csv`` and ``summary.md``.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r2p.atomic import write_text_atomic
from r2p.errors import ConfigError
from r2p.runner.config import RunConfig, build_config, read_config_file

#: Grid axes in the order they appear in run names.
AXES = ("task", "method", "retriever", "k", "model", "backend", "seed")

_R2P_FAMILY = {"hrt", "hrt_rpi", "r2p", "r2p_llm"}


@dataclass(frozen=True)
class SweepRun:
    """One point of the grid: its name and validated configuration."""

    name: str
    config: RunConfig


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep file: the output directory and its runs, in grid order."""

    out: Path
    runs: list[SweepRun]


def _label(axis: str, value: Any) -> str:
    if isinstance(value, Mapping):
        text = str(value.get("name") or value.get(axis) or "x")
    else:
        text = str(value)
    if axis == "k":
        text = f"k{text}"
    elif axis == "seed":
        text = f"s{text}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(text).name if "/" in text else text).strip("_")


def _layer(axis: str, value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if k != "name"}
    return {axis: value}


def load_sweep(
    path: str | Path, *, out: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> Sweep:
    """Read and validate a sweep file: every run's configuration is checked before any runs.

    Args:
        path: the YAML (or TOML) sweep file.
        out: the sweep directory (overrides the file's ``out``).
        overrides: options applied to every run last (e.g. ``{"limit": 5}`` from the CLI).

    Raises:
        ConfigError: a malformed file, an empty grid axis, an invalid option of some run.
        UnknownNameError: an unknown task, method, retriever or backend.
    """
    doc = read_config_file(path)
    unknown = sorted(set(doc) - {"out", "base", "grid"})
    if unknown:
        raise ConfigError(f"{path}: unknown sweep key(s) {', '.join(unknown)}; "
                          "use base, grid and out")
    base = doc.get("base") or {}
    grid = doc.get("grid") or {}
    if not isinstance(base, Mapping) or not isinstance(grid, Mapping):
        raise ConfigError(f"{path}: base and grid must be mappings")
    sweep_out = Path(out if out is not None else doc.get("out") or "runs/sweep")
    axes = sorted(grid, key=lambda a: AXES.index(a) if a in AXES else len(AXES))
    values: list[list[Any]] = []
    for axis in axes:
        vals = grid[axis]
        if not isinstance(vals, list):
            vals = [vals]
        if not vals:
            raise ConfigError(f"{path}: grid axis {axis!r} is empty")
        values.append(vals)
    runs: list[SweepRun] = []
    seen: set[str] = set()
    defaults = {"store": sweep_out / ".r2p-store.sqlite"}
    for combo in itertools.product(*values):
        name = "-".join(_label(a, v) for a, v in zip(axes, combo)) or "run"
        if name in seen:
            raise ConfigError(f"{path}: two grid points are both named {name!r}; "
                              "give mapping values distinct 'name's")
        seen.add(name)
        layers = [_layer(a, v) for a, v in zip(axes, combo)]
        cfg = build_config(defaults, base, *layers, overrides,
                           {"out": sweep_out / "runs" / name},
                           source=f"sweep {path} run {name}")
        runs.append(SweepRun(name, cfg))
    return Sweep(sweep_out, runs)


def estimate_calls(cfg: RunConfig) -> tuple[int, int]:
    """An estimate of model calls per sample, ``(low, high)``.

    direct/rag: 1; think: 1-2 (a second call when the thought runs out before the answer);
    R2P variants, per thought: stage 2, stage 3 when the task kind has one inside the thought
    (ratings), the answer; each RPI correction one more call (up to ``max_interventions``, 0
    by default), and for labels and ratings one more answer (a second cue). SRM: for text one answer with an empty
    thought, one with the reference LaMP prompt (``reference_candidate``), one sampling call when
    ``n_candidates`` > 2 and one selection call (``llm``); for
    labels and ratings one sampling call when the engine gives no log-probabilities, one answer
    with the options in reverse order (``option_order``, LaMP-1) and up to ``extra_thoughts``
    more thoughts. With ``synthesis="user"`` a user's later queries skip stage 2 (one call
    fewer; the first writes it in as many calls as a thought would). It is an estimate:
    interventions depend on the model.
    """
    from r2p.methods.r2p.config import R2PConfig
    from r2p.tasks import get_task

    m, opts = cfg.method, cfg.method_options
    if m in ("direct", "rag"):
        return 1, 1
    if m == "think":
        return 1, 2
    if m in _R2P_FAMILY:
        from r2p.methods.registry import SPECS

        c = R2PConfig(**{**SPECS[m].preset, **opts})
        task = get_task(cfg.task)
        kind = task.kind
        calls = 2 + (1 if c.budgets(kind).response > 0 else 0)
        lo = calls - (c.synthesis == "user")
        hi = calls + ((c.max_interventions + (kind != "generation")) if c.rpi else 0)
        if not (c.srm and c.n_candidates > 1):
            return lo, hi
        if kind == "generation":
            extra = 1 + c.reference_candidate + (c.n_candidates > 2) + (c.selection == "llm")
            return lo + 1 + c.reference_candidate, hi + extra
        more = min(c.extra_thoughts, c.n_candidates - 1)
        reordered = int(c.option_order and task.reorder is not None)
        return lo + reordered, hi * (1 + more) + 1 + reordered
    return 1, 1


def plan(sweep: Sweep) -> list[dict[str, Any]]:
    """For each run: name, the grid values, samples and estimated model calls (loads data only).

    Raises:
        DataError / ConfigError: a run's data cannot be loaded.
    """
    from r2p.runner.resources import Resources
    from r2p.tasks import get_task

    res = Resources()
    rows = []
    for run in sweep.runs:
        cfg = run.config
        n = len(res.samples(cfg, get_task(cfg.task)))
        lo, hi = estimate_calls(cfg)
        rows.append({"run": run.name, "task": cfg.task, "method": cfg.method,
                     "retriever": cfg.retriever, "k": cfg.k, "backend": cfg.backend,
                     "model": cfg.model, "seed": cfg.seed, "samples": n,
                     "calls_low": n * lo, "calls_high": n * hi})
    return rows


def summary_rows(results: list[tuple[SweepRun, dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per run: its grid values, then its metrics."""
    rows = []
    for run, metrics in results:
        cfg = run.config
        rows.append({"run": run.name, "task": cfg.task, "method": cfg.method,
                     "retriever": cfg.retriever, "k": cfg.k, "backend": cfg.backend,
                     "model": cfg.model, "seed": cfg.seed, **metrics})
    return rows


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    cols: list[str] = []
    for row in rows:
        cols.extend(c for c in row if c not in cols)
    return cols


def to_csv(rows: list[dict[str, Any]]) -> str:
    """Rows as CSV (columns: the union of keys, in first-seen order)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=_columns(rows), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return "" if v is None else str(v).replace("|", "\\|")


def to_markdown(rows: list[dict[str, Any]]) -> str:
    """Rows as a Markdown table."""
    cols = _columns(rows)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(_cell(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def run_sweep(sweep: Sweep, *, progress: bool = True,
              overwrite: bool = False) -> tuple[list[dict[str, Any]], int]:
    """Run every run of ``sweep`` (resuming from the store) and write the summaries.

    ``overwrite`` replaces a run directory that holds a run of a different configuration
    (refused by default, for every run, before the first model loads).

    Returns:
        ``(summary rows, number of failed samples over all runs)``.
    """
    from r2p.runner.experiment import check_ready, run_experiment
    from r2p.runner.resources import Resources

    res = Resources()
    results: list[tuple[SweepRun, dict[str, Any]]] = []
    failed = 0
    try:
        for run in sweep.runs:  # everything checked before the first model loads
            check_ready(run.config, res, overwrite=overwrite)
        for run in sweep.runs:
            result = run_experiment(run.config, resources=res, progress=progress,
                                    overwrite=overwrite)
            failed += result.n_failed
            results.append((run, result.metrics))
    finally:
        res.close()
    rows = summary_rows(results)
    sweep.out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(sweep.out / "summary.csv", to_csv(rows))
    write_text_atomic(sweep.out / "summary.md", to_markdown(rows))
    return rows, failed


__all__ = [
    "AXES",
    "Sweep",
    "SweepRun",
    "estimate_calls",
    "load_sweep",
    "plan",
    "run_sweep",
    "summary_rows",
    "to_csv",
    "to_markdown",
]
