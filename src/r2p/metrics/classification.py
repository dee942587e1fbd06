"""LaMP-1/LaMP-2 metrics: accuracy and macro F1 over the task's label set.

Official semantics: both strings are stripped and mapped to their index in the label list
(``-1`` when absent, so an invalid output is simply wrong); accuracy compares the indices; F1 is
scikit-learn's ``f1_score(average="macro", labels=range(len(labels)))``, i.e. the mean over *all*
labels (a label never predicted nor gold scores 0). Computed here with numpy; the tests check it
against scikit-learn on real data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def label_index(text: str, labels: Sequence[str]) -> int:
    """Index of ``text.strip()`` in ``labels``, ``-1`` when absent (exact, case-sensitive)."""
    try:
        return list(labels).index(text.strip())
    except ValueError:
        return -1


def _indices(texts: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    table = {lab: i for i, lab in enumerate(labels)}
    return np.fromiter((table.get(t.strip(), -1) for t in texts), dtype=np.int64, count=len(texts))


def accuracy(golds: Sequence[str], preds: Sequence[str], labels: Sequence[str]) -> float:
    """Share of samples whose mapped prediction equals the mapped gold."""
    g, p = _indices(golds, labels), _indices(preds, labels)
    return float(np.mean(g == p)) if len(g) else 0.0


def macro_f1(golds: Sequence[str], preds: Sequence[str], labels: Sequence[str]) -> float:
    """Macro F1 over every label of ``labels`` (F1 of a label with no support and no
    prediction is 0, as scikit-learn's default ``zero_division``)."""
    g, p = _indices(golds, labels), _indices(preds, labels)
    n = len(labels)
    # Per-label counts; index -1 (invalid) belongs to no label, so it only adds false negatives.
    tp = np.bincount(g[(g == p) & (g >= 0)], minlength=n)[:n]
    pred_count = np.bincount(p[p >= 0], minlength=n)[:n]
    gold_count = np.bincount(g[g >= 0], minlength=n)[:n]
    denom = pred_count + gold_count  # = 2tp + fp + fn
    f1 = np.divide(2.0 * tp, denom, out=np.zeros(n, dtype=np.float64), where=denom > 0)
    return float(f1.mean()) if n else 0.0


__all__ = ["accuracy", "label_index", "macro_f1"]
