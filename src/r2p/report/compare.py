"""Paired comparisons between methods: the metric difference on the same queries, with a
bootstrap confidence interval, and per-query wins / ties / losses.

Two runs are compared when they differ only in the method (same task, split, data, retriever,
k, model and seed): their scored records are matched by sample id. For every official metric
of the task, the difference ``method - baseline`` is computed on the shared ids, and its
confidence interval by a paired bootstrap over those ids (:func:`scipy.stats.bootstrap`,
``paired=True``, percentile method, a fixed seed): the whole metric is recomputed on every
resample, so corpus-level metrics (macro F1, RMSE) are handled as they are defined. An interval
that excludes 0 is marked as a significant difference at that level. Per-query wins / ties /
losses use the task's per-sample score (accuracy, absolute error, ROUGE-1).

With a few dozen queries the intervals are wide: they are there so that a table of small
differences is read for what it is.

Example:
    >>> import numpy as np
    >>> c = paired_delta(np.array([1.0, 1, 1, 0, 1, 1, 1, 1]), np.array([0.0, 1, 0, 0, 1, 0, 1, 0]),
    ...                  aggregate=np.mean, n_resamples=500)
    >>> round(c.delta, 3), c.lo > 0
    (0.5, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from r2p.errors import MissingDependencyError
from r2p.metrics import classification, rating, text
from r2p.report.runs import Run
from r2p.report.tables import LOWER_IS_BETTER, Table, method_rank, official_metrics
from r2p.tasks import Task, get_task

GROUP_KEYS = ("task", "split", "data", "retriever", "k", "backend", "model", "seed",
              "time_based")
"""Config fields two runs must share to be compared (everything but the method)."""
N_RESAMPLES = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Delta:
    """A metric difference ``a - b`` on paired samples, with its bootstrap interval."""

    delta: float
    lo: float
    hi: float

    @property
    def significant(self) -> bool:
        """Whether the interval excludes 0."""
        return self.lo > 0 or self.hi < 0


@dataclass(frozen=True)
class Comparison:
    """One method against the baseline on one task point.

    Attributes:
        task, method, baseline: what is compared.
        group: the shared settings, e.g. ``"dev k=4 bm25 llamacpp:model.gguf"``.
        n: number of shared scored samples.
        metrics: ``{metric: (method value, baseline value, Delta)}``.
        wins, ties, losses: per-sample comparisons on the task's per-sample score (for an
            error metric, a win is a smaller error).
    """

    task: str
    method: str
    baseline: str
    group: str
    n: int
    metrics: dict[str, tuple[float, float, Delta]]
    wins: int
    ties: int
    losses: int


def _bootstrap() -> Any:
    try:
        from scipy.stats import bootstrap
    except ImportError as e:  # pragma: no cover - scipy comes with the report extra
        raise MissingDependencyError("scipy (for the report's paired comparisons)",
                                     "pip install 'r2p[report]'") from e
    return bootstrap


def paired_delta(a: np.ndarray, b: np.ndarray, *, aggregate: Callable[[np.ndarray], float],
                 n_resamples: int = N_RESAMPLES, confidence: float = CONFIDENCE,
                 seed: int = 0) -> Delta:
    """``aggregate(a) - aggregate(b)`` and its paired percentile-bootstrap interval.

    ``a`` and ``b`` hold per-sample values in the same sample order (for corpus metrics,
    ``aggregate`` receives rows of a 2-D array, e.g. ``(gold, pred)`` label indices).
    """
    if len(a) != len(b) or len(a) == 0:
        raise ValueError("paired_delta needs two non-empty arrays of the same length")
    delta = float(aggregate(a) - aggregate(b))
    if len(a) < 2:
        return Delta(delta, delta, delta)
    idx = np.arange(len(a))

    def stat(i: np.ndarray) -> float:
        return float(aggregate(a[i]) - aggregate(b[i]))

    res = _bootstrap()((idx,), stat, vectorized=False, paired=True, n_resamples=n_resamples,
                       confidence_level=confidence, method="percentile",
                       rng=np.random.default_rng(seed))
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (math.isfinite(lo) and math.isfinite(hi)):  # all resamples equal (no variance)
        lo = hi = delta
    return Delta(delta, min(lo, delta), max(hi, delta))


def _per_sample_arrays(task: Task, golds: list[str], preds: list[str]
                       ) -> dict[str, tuple[np.ndarray, Callable[[np.ndarray], float]]]:
    """For each official metric: the per-sample array and the aggregate over its rows."""
    if task.kind == "classification":
        labels = list(task.labels or ())
        g = np.array([classification.label_index(x, labels) for x in golds])
        p = np.array([classification.label_index(x, labels) for x in preds])
        pairs = np.stack([g, p], axis=1)

        def f1(rows: np.ndarray) -> float:
            names = labels + ["<invalid>"]
            return classification.macro_f1([names[i] for i in rows[:, 0]],
                                           [names[i] for i in rows[:, 1]], labels)

        return {"accuracy": ((g == p).astype(float), np.mean), "f1": (pairs, f1)}
    if task.kind == "rating":
        e = rating.errors(golds, preds)
        return {"MAE": (e, np.mean), "RMSE": (e, lambda x: float(np.sqrt(np.mean(x ** 2))))}
    rows = [text.rouge(g, p) for g, p in zip(golds, preds)]
    return {k: (np.array([r[k] for r in rows]), np.mean) for k in task.metrics}


def _sample_score(task: Task, arrays: dict[str, tuple[np.ndarray, Any]]) -> np.ndarray:
    key = {"classification": "accuracy", "rating": "MAE"}.get(task.kind, task.metrics[0])
    return arrays[key][0]


def sample_scores(task: str | Task, golds: Sequence[str], preds: Sequence[str]) -> np.ndarray:
    """The task's per-sample score: correctness (1/0) for classification, absolute error for
    rating (lower is better), the first ROUGE metric for generation.

    Example:
        >>> sample_scores("LaMP_3", ["5", "3"], ["4", "3"]).tolist()
        [1.0, 0.0]
    """
    t = get_task(task) if isinstance(task, str) else task
    return _sample_score(t, _per_sample_arrays(t, list(golds), list(preds)))


def score_lower_is_better(task: str | Task) -> bool:
    """Whether the per-sample score of :func:`sample_scores` is an error (rating tasks)."""
    return (get_task(task) if isinstance(task, str) else task).kind == "rating"


def tally(a: np.ndarray, b: np.ndarray, lower_is_better: bool = False) -> tuple[int, int, int]:
    """Per-sample wins / ties / losses of ``a`` against ``b``.

    Example:
        >>> import numpy as np
        >>> tally(np.array([1.0, 0.0, 1.0]), np.array([0.0, 0.0, 1.0]))
        (1, 2, 0)
    """
    better = (a < b) if lower_is_better else (a > b)
    worse = (a > b) if lower_is_better else (a < b)
    return int(better.sum()), int((a == b).sum()), int(worse.sum())


def group_key(run: Run) -> tuple[str, ...]:
    """The settings two runs must share to be compared (:data:`GROUP_KEYS`)."""
    return tuple(str(run.config.get(k, "")) for k in GROUP_KEYS)


def describe_settings(run: Run) -> str:
    """The run's settings in a few words, e.g. ``"dev k=4 bm25 llamacpp:smollm2 seed=0"``."""
    c = run.config
    return (f"{c.get('split', '')} k={c.get('k')} {run.retriever} {run.model.rsplit('/', 1)[-1]}"
            f" seed={c.get('seed')}").strip()


def compare_runs(run: Run, base: Run, *, n_resamples: int = N_RESAMPLES,
                 confidence: float = CONFIDENCE, seed: int = 0) -> Comparison | None:
    """``run`` against ``base`` on the sample ids both scored (None when they share none)."""
    task = get_task(run.task)
    mine = {r.id: r for r in run.scored_records}
    theirs = {r.id: r for r in base.scored_records}
    ids = [i for i in mine if i in theirs]
    if not ids:
        return None
    golds = [str(theirs[i].gold) for i in ids]
    a = _per_sample_arrays(task, golds, [mine[i].answer for i in ids])
    b = _per_sample_arrays(task, golds, [theirs[i].answer for i in ids])
    metrics: dict[str, tuple[float, float, Delta]] = {}
    for key in official_metrics(run.task, [run, base]):
        if key not in a:
            continue
        (xa, agg), (xb, _) = a[key], b[key]
        d = paired_delta(xa, xb, aggregate=agg, n_resamples=n_resamples,
                         confidence=confidence, seed=seed)
        metrics[key] = (float(agg(xa)), float(agg(xb)), d)
    wins, ties, losses = tally(_sample_score(task, a), _sample_score(task, b),
                               task.kind == "rating")
    return Comparison(run.task, run.method, base.method, describe_settings(run), len(ids),
                      metrics, wins, ties, losses)


def compare_all(runs: Sequence[Run], baseline: str = "rag", **kw: Any) -> list[Comparison]:
    """Every run against the ``baseline`` method's run with the same settings."""
    out: list[Comparison] = []
    bases = {group_key(r): r for r in runs if r.method == baseline}
    for r in sorted(runs, key=lambda r: (r.task, group_key(r), method_rank(r.method))):
        base = bases.get(group_key(r))
        if base is None or r is base:
            continue
        c = compare_runs(r, base, **kw)
        if c is not None:
            out.append(c)
    return out


def _per_query_name(task: str) -> str:
    t = get_task(task)
    return {"classification": "correctness", "rating": "absolute error"}.get(
        t.kind, t.metrics[0])


def format_delta(d: Delta, lower_better: bool) -> str:
    """``"+0.125 [-0.050, +0.300]"``, with ``(better)``/``(worse)`` when the interval excludes 0.

    Example:
        >>> format_delta(Delta(-0.5, -0.8, -0.2), lower_better=True)
        '-0.500 [-0.800, -0.200] (better)'
    """
    mark = ""
    if d.significant:
        good = (d.delta < 0) if lower_better else (d.delta > 0)
        mark = " (better)" if good else " (worse)"
    return f"{d.delta:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}]{mark}"


def comparison_tables(comparisons: Sequence[Comparison],
                      confidence: float = CONFIDENCE) -> list[Table]:
    """One table per task: each method's metrics against the baseline, with intervals."""
    tables: list[Table] = []
    for task in sorted({c.task for c in comparisons}):
        cs = [c for c in comparisons if c.task == task]
        keys = list(dict.fromkeys(k for c in cs for k in c.metrics))
        show_group = len({c.group for c in cs}) > 1
        headers = ["method", "vs"] + (["settings"] if show_group else []) + ["n"]
        for k in keys:
            arrow = " ↓" if k in LOWER_IS_BETTER else ""
            headers += [f"{k}{arrow}", f"Δ {k} [{round(confidence * 100)}% CI]"]
        headers += ["wins / ties / losses"]
        rows: list[list[Any]] = []
        for c in cs:
            row: list[Any] = [c.method, c.baseline] + ([c.group] if show_group else []) + [c.n]
            for k in keys:
                if k in c.metrics:
                    value, _, d = c.metrics[k]
                    row += [value, format_delta(d, k in LOWER_IS_BETTER)]
                else:
                    row += [None, None]
            row.append(f"{c.wins} / {c.ties} / {c.losses}")
            rows.append(row)
        tables.append(Table(
            f"{task}: against {cs[0].baseline} (paired bootstrap)", headers, rows,
            note=(f"Δ = method - {cs[0].baseline} on the same queries; interval: paired "
                  f"percentile bootstrap, {N_RESAMPLES} resamples; '(better)'/'(worse)' when "
                  f"it excludes 0. Wins/ties/losses per query on {_per_query_name(task)}.")))
    return tables


__all__ = ["CONFIDENCE", "GROUP_KEYS", "N_RESAMPLES", "Comparison", "Delta", "compare_all",
           "compare_runs", "comparison_tables", "describe_settings", "format_delta",
           "group_key", "paired_delta", "sample_scores", "score_lower_is_better", "tally"]
