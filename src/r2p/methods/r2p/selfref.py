"""SRM, self-referencing: choose one answer among N candidates.

* Labels and ratings: a vote in which each valid candidate weighs ``VOTE_BASE + support``
  (support = profile grounding of its reasoning, in [0, 1]), so a candidate whose reasoning the
  profile backs counts up to three times as much as an ungrounded one. Ties go to the answer
  with the best single support, then to the earliest candidate.
* Generated text, ``"llm"``: one more model call is shown the profile items, the input and the
  candidates, and writes the final answer (a pick or a merge).
* Generated text, ``"similarity"`` (the default): the candidate with the highest mean
  ROUGE-L F1 against the other candidates and the request (:func:`consensus`, a
  minimum-Bayes-risk choice in which the request is one more reference, so an answer that
  drifted from what was asked loses).
* Labels and ratings with an engine's log-probabilities: :func:`label_distribution` reads the
  answer's probability over the labels; several thoughts' distributions are mixed with
  :func:`combine`.

Example:
    >>> weighted_vote(["[1]", "[2]", "[2]"], [0.9, 0.1, 0.1], [True, True, True])[0]
    0
    >>> consensus(["a cat sat", "the cat sat", "dogs bark"])[0]
    0
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

VOTE_BASE = 0.5
"""Weight of a valid but ungrounded candidate in the vote."""


def _tally(answers: list[str], supports: list[float],
           valid: list[bool]) -> tuple[dict[str, float], dict[str, float]]:
    """Per answer: the summed vote weight of its valid candidates, and their best support."""
    tallies: dict[str, float] = {}
    best_support: dict[str, float] = {}
    for a, s, ok in zip(answers, supports, valid):
        if ok:
            tallies[a] = tallies.get(a, 0.0) + VOTE_BASE + max(0.0, min(1.0, s))
            best_support[a] = max(best_support.get(a, 0.0), s)
    return tallies, best_support


def weighted_vote(answers: list[str], supports: list[float],
                  valid: list[bool]) -> tuple[int, dict[str, float]]:
    """Pick the answer with the largest total weight.

    Args:
        answers: normalized candidate answers.
        supports: each candidate's profile grounding in [0, 1].
        valid: whether normalization found a valid answer (invalid ones weigh 0).

    Returns:
        ``(index of the first candidate giving the winning answer, tallies per answer)``.
        With no valid candidate, the first candidate is returned with empty tallies.
    """
    tallies, best_support = _tally(answers, supports, valid)
    if not tallies:
        return 0, {}
    order = {a: answers.index(a) for a in tallies}
    winner = max(tallies, key=lambda a: (round(tallies[a], 9), best_support[a], -order[a]))
    return order[winner], {a: round(w, 4) for a, w in tallies.items()}


MAX_LABEL_PREFIX = 40
"""Characters of greedy text walked before giving up on finding the label position."""


def label_distribution(labels: Sequence[str],
                       top_logprobs: Sequence[Sequence[tuple[str, float]]] | None
                       ) -> dict[str, float] | None:
    """The answer's probability over ``labels``, read from the answer's token log-probabilities.

    Walks the greedy tokens; at the first position where some alternative tokens spell the
    start of exactly one label each (``" 4"`` -> ``4``, ``"[" + "2"`` -> ``[2]``), the
    probabilities of those alternatives, renormalized over the labels they name, are the
    distribution. Tokens shared by several labels (``"["``) or by none (``" "``) are walked
    past. None when the engine returned no log-probabilities or no label is ever spelled.

    Example:
        >>> dist = label_distribution(["[1]", "[2]"], [[(" [", -0.1)], [("2", -0.3), ("1", -1.5)]])
        >>> {k: round(v, 2) for k, v in dist.items()}
        {'[2]': 0.77, '[1]': 0.23}
        >>> label_distribution(["1", "2"], None) is None
        True
    """
    if not top_logprobs:
        return None
    low = {lab: lab.lower() for lab in labels}
    prefix = ""
    for alternatives in top_logprobs:
        if not alternatives:
            return None
        mass: dict[str, float] = {}
        for token, logprob in alternatives:
            cand = (prefix + token).strip().lower()
            if not cand:
                continue
            hits = [lab for lab, lo in low.items() if lo.startswith(cand) or cand.startswith(lo)]
            if len(hits) == 1:
                mass[hits[0]] = mass.get(hits[0], 0.0) + math.exp(logprob)
        if mass:
            total = sum(mass.values())
            return {lab: p / total for lab, p in sorted(mass.items(), key=lambda x: -x[1])}
        prefix += alternatives[0][0]
        if len(prefix.strip()) > MAX_LABEL_PREFIX:
            return None
    return None


def combine(distributions: Sequence[dict[str, float]],
            weights: Sequence[float]) -> dict[str, float]:
    """The weighted mixture of several label distributions (weights need not sum to 1).

    >>> combine([{"4": 1.0}, {"4": 0.5, "5": 0.5}], [1.0, 1.0])
    {'4': 0.75, '5': 0.25}
    """
    out: dict[str, float] = {}
    if not sum(weights):  # no weight anywhere: an even mixture
        weights = [1.0] * len(distributions)
    total = sum(weights)
    for dist, w in zip(distributions, weights):
        for lab, p in dist.items():
            out[lab] = out.get(lab, 0.0) + w * p / total
    return {lab: round(p, 6) for lab, p in sorted(out.items(), key=lambda x: -x[1])}


@functools.lru_cache(maxsize=1)
def _scorer() -> Any:
    from rouge_score import rouge_scorer  # lazy: only text tasks need it

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(a: str, b: str) -> float:
    """ROUGE-L F1 of two texts (Google's ``rouge_score``, no stemmer)."""
    return float(_scorer().score(a, b)["rougeL"].fmeasure)


def consensus(texts: list[str], references: Sequence[str] = ()) -> tuple[int, list[float]]:
    """Minimum-Bayes-risk choice: the index of the text with the highest mean ROUGE-L F1
    against the other texts and the ``references`` (e.g. the request it answers), and every
    text's mean. Ties go to the earliest text.

    >>> consensus(["a cat sat on the mat", "dogs bark"], ["the cat sat on a mat"])[0]
    0
    """
    n = len(texts)
    if n == 1 and not references:
        return 0, [1.0]
    means = []
    for i in range(n):
        others = [texts[j] for j in range(n) if j != i] + list(references)
        means.append(sum(rouge_l(texts[i], o) for o in others) / len(others))
    best = max(range(n), key=lambda i: (round(means[i], 9), -i))
    return best, [round(m, 4) for m in means]


def closest(text: str, candidates: list[str]) -> tuple[int, float]:
    """The candidate most similar to ``text`` by ROUGE-L F1, and that score."""
    scores = [rouge_l(text, c) for c in candidates]
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    return best, round(scores[best], 4)


__all__ = ["MAX_LABEL_PREFIX", "VOTE_BASE", "closest", "combine", "consensus",
           "label_distribution", "rouge_l", "weighted_vote"]
