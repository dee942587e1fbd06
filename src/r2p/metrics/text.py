"""LaMP-4..7 metrics: ROUGE-1 and ROUGE-L F-measure from Google's ``rouge_score``.

No stemmer (as the official scorer), both strings stripped, averaged over samples. The official
scorer goes through HF ``evaluate`` whose default bootstrap aggregation reports a resampled mid
value; the plain mean used here is the reproducible equivalent.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=False)


def rouge(gold: str, pred: str) -> dict[str, float]:
    """``{"rouge-1": F, "rouge-L": F}`` of one prediction against its gold."""
    s = _scorer().score(gold.strip(), pred.strip())
    return {"rouge-1": float(s["rouge1"].fmeasure), "rouge-L": float(s["rougeL"].fmeasure)}


__all__ = ["rouge"]
