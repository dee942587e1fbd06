"""LaMP-exact metrics: accuracy / macro F1, MAE / RMSE, ROUGE-1 / ROUGE-L.

Example:
    >>> from r2p.metrics import score
    >>> score("LaMP_1", {"q1": "[1]", "q2": "[2]"}, {"q1": "[1]", "q2": "[1]"})["accuracy"]
    0.5
"""

from __future__ import annotations

from r2p.metrics.classification import accuracy, label_index, macro_f1
from r2p.metrics.rating import mae, parse_rating, rmse
from r2p.metrics.score import per_sample, score
from r2p.metrics.text import rouge

__all__ = [
    "accuracy",
    "label_index",
    "macro_f1",
    "mae",
    "parse_rating",
    "per_sample",
    "rmse",
    "rouge",
    "score",
]
