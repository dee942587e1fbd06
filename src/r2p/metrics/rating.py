"""LaMP-3 metrics: MAE and RMSE with the official worst-case substitution.

A prediction is ``float(pred.strip())``; when that fails, it becomes 1 or 5, whichever is
farther from the gold (5 on a tie, as ``abs(1 - y) > abs(5 - y)`` is false at 3 in the reference
code). One deliberate difference: ``float`` accepts ``"nan"`` and ``"inf"``, which would make the
means meaningless; they are treated as unparseable too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from r2p.errors import DataError


def parse_rating(pred: str, gold: float) -> float:
    """The numeric value of a predicted rating, or the worst case (1 or 5) for ``gold``."""
    try:
        value = float(pred.strip())
    except ValueError:
        value = math.nan
    if math.isfinite(value):
        return value
    return 1.0 if abs(1 - gold) > abs(5 - gold) else 5.0


def gold_rating(gold: str, sample_id: str = "?") -> float:
    """A gold rating as a float.

    Raises:
        DataError: the gold is not a number.
    """
    try:
        value = float(gold.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise DataError(f"gold rating of id {sample_id!r} is not a number: {gold!r}")
    return value


def errors(golds: Sequence[str], preds: Sequence[str], ids: Sequence[str] | None = None
           ) -> np.ndarray:
    """Absolute errors ``|pred - gold|`` per sample (worst case substituted)."""
    ids = ids if ids is not None else [str(i) for i in range(len(golds))]
    out = np.empty(len(golds), dtype=np.float64)
    for i, (g, p, sid) in enumerate(zip(golds, preds, ids)):
        y = gold_rating(g, sid)
        out[i] = abs(parse_rating(p, y) - y)
    return out


def mae(golds: Sequence[str], preds: Sequence[str]) -> float:
    """Mean absolute error."""
    e = errors(golds, preds)
    return float(e.mean()) if len(e) else 0.0


def rmse(golds: Sequence[str], preds: Sequence[str]) -> float:
    """Root mean squared error."""
    e = errors(golds, preds)
    return float(np.sqrt(np.mean(e**2))) if len(e) else 0.0


__all__ = ["errors", "gold_rating", "mae", "parse_rating", "rmse"]
