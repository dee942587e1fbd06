"""One entry point from a task to its official metrics: :func:`score` and :func:`per_sample`."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from r2p.data.lamp import describe_id_mismatch
from r2p.errors import DataError
from r2p.metrics import classification, rating, text
from r2p.tasks import Task, get_task


def _task(task: str | Task) -> Task:
    return task if isinstance(task, Task) else get_task(task)


def _check(golds: Mapping[str, str], preds: Mapping[str, str]) -> list[str]:
    problem = describe_id_mismatch(golds, preds, expected_name="golds", got_name="predictions")
    if problem:
        raise DataError(problem)
    if not golds:
        raise DataError("nothing to score: no golds")
    for name, m in (("gold", golds), ("prediction", preds)):
        for k, v in m.items():
            if not isinstance(v, str):
                raise DataError(f"{name} of id {k!r} must be a string, got {type(v).__name__}")
    return list(golds)


def score(task: str | Task, golds: Mapping[str, str], preds: Mapping[str, str]
          ) -> dict[str, float]:
    """The task's official metrics over all samples.

    Args:
        task: the task (name or :class:`Task`).
        golds: ``{id: gold output}``.
        preds: ``{id: predicted output}``; its id set must equal the golds'.

    Returns:
        ``{"accuracy", "f1"}`` (LaMP-1, 2), ``{"MAE", "RMSE"}`` (LaMP-3) or
        ``{"rouge-1", "rouge-L"}`` (LaMP-4..7).

    Raises:
        DataError: the id sets differ (counts and example ids in the message), or no golds.

    Example:
        >>> score("LaMP_3", {"a": "5", "b": "1"}, {"a": "4", "b": "x"})
        {'MAE': 2.5, 'RMSE': 2.9154759474226504}
    """
    task = _task(task)
    ids = _check(golds, preds)
    g = [golds[i] for i in ids]
    p = [preds[i] for i in ids]
    if task.kind == "classification":
        labels = task.labels or ()
        return {"accuracy": classification.accuracy(g, p, labels),
                "f1": classification.macro_f1(g, p, labels)}
    if task.kind == "rating":
        e = rating.errors(g, p, ids)
        return {"MAE": float(e.mean()), "RMSE": float(np.sqrt(np.mean(e**2)))}
    rows = [text.rouge(a, b) for a, b in zip(g, p)]
    return {k: float(np.mean([r[k] for r in rows])) for k in task.metrics}


def per_sample(task: str | Task, gold: str, pred: str) -> dict[str, float]:
    """One sample's scores, keyed like the task's metrics so their mean gives the aggregate
    (except macro F1, which is not per-sample and is left out; ``RMSE`` holds the absolute
    error, whose quadratic mean is the RMSE).

    Example:
        >>> per_sample("LaMP_1", "[1]", " [1] ")
        {'accuracy': 1.0}
    """
    task = _task(task)
    if task.kind == "classification":
        labels = task.labels or ()
        ok = classification.label_index(gold, labels) == classification.label_index(pred, labels)
        return {"accuracy": float(ok)}
    if task.kind == "rating":
        y = rating.gold_rating(gold)
        err = abs(rating.parse_rating(pred, y) - y)
        return {"MAE": err, "RMSE": err}
    return text.rouge(gold, pred)


__all__ = ["per_sample", "score"]
