"""Intervention yield: how often each RPI check fires, and whether the answers after it beat
the same queries answered without RPI.

For every run of a method that intervenes (its name contains ``rpi``, or it is ``r2p`` or an
``r2p_*`` variant), what RPI did in the sample traces is counted per check
(:func:`intervention_reasons`): each correction (``{"type": "intervention", "reason": ...}``
events, the reason being the check that fired: ``stage_order``, ``grounding``, ``loop``,
``answer_format``, ``copy`` ...) and each cut, where a failing check ended the stage with no
correction (an ``intervention_cap`` check naming it; by default RPI corrects nothing and only
cuts):

* fire rate: the share of scored queries where RPI acted on that check at least once, and
  actions on that check per query;
* yield: the run is paired with the ``hrt`` run of the same settings (task, split, data,
  retriever, k, model, seed: :data:`r2p.report.compare.GROUP_KEYS`) by sample id, and on the
  queries where the check fired, the task's per-sample score (correctness, absolute error or
  ROUGE-1, :func:`r2p.report.compare.sample_scores`) is compared: the mean difference
  ``with RPI - hrt`` with its 95 % paired-bootstrap interval, and wins / ties / losses.

A query where a check fired is one where the thought went wrong in that way, so these are not
random subsets: the yield says whether the correction repaired what it caught, not what RPI does
on average (the comparison table against the baseline says that).

Example:
    >>> # rows = intervention_yield(load_runs([Path("runs/study")]))
    >>> # yield_tables(rows)[0].to_markdown()
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from r2p.records import RunRecord
from r2p.report.compare import (
    CONFIDENCE,
    N_RESAMPLES,
    Delta,
    describe_settings,
    format_delta,
    group_key,
    paired_delta,
    sample_scores,
    score_lower_is_better,
    tally,
)
from r2p.report.runs import Run
from r2p.report.tables import Table, method_rank
from r2p.tasks import get_task
from r2p.trace import Check, Intervention

CUT = "intervention_cap"
"""The check recording that a failing check ended the stage with no correction."""
BASELINE = "hrt"
"""The method without RPI that an intervening run is paired with."""
ANY = "any check"
"""The row summing every check of a run."""
#: Checks in the order RPI runs them; others follow alphabetically.
CHECK_ORDER = ("stage_order", "stage_budget", "loop", "grounding", "copy", "answer_format")
NO_BASELINE = f"no {BASELINE} run to compare"
"""What the yield columns say when no run of the baseline has the same settings."""
NO_INTERVENING = "No run of a method that intervenes (hrt_rpi, r2p and its variants)."
"""What the section says when no run intervenes."""


def intervenes(method: str) -> bool:
    """Whether ``method`` runs reasoning process intervention (RPI).

    Example:
        >>> [intervenes(m) for m in ("hrt", "hrt_rpi", "r2p", "r2p_llm", "think_rpi", "think",
        ...                          "r2p[synthesis=user]")]
        [False, True, True, True, True, False, True]
    """
    name = method.split("[", 1)[0]
    return "rpi" in name or name == "r2p" or name.startswith("r2p_")


def intervention_reasons(record: RunRecord) -> Counter[str]:
    """How often RPI acted on each check in a record's trace: its corrections (intervention
    events, by reason) and its cuts (``intervention_cap`` checks, whose detail starts with the
    check that ended the stage).

    Example:
        >>> from r2p.trace import trace_event
        >>> trace = [trace_event("intervention", reason="loop", position=9, text="",
        ...                      then="continue"),
        ...          trace_event("check", name="loop", ok=False, detail="", stage=2),
        ...          trace_event("intervention", reason="loop", position=30, text="",
        ...                      then="close"),
        ...          trace_event("check", name="copy", ok=False, detail="", stage=2),
        ...          trace_event("check", name="intervention_cap", ok=False, stage=2,
        ...                      detail="copy 0 interventions used: the stage ends here")]
        >>> sorted(intervention_reasons(RunRecord.model_construct(trace=trace)).items())
        [('copy', 1), ('loop', 2)]
    """
    out = Counter(ev.reason for ev in record.trace if isinstance(ev, Intervention))
    out.update(ev.detail.split(" ", 1)[0] for ev in record.trace
               if isinstance(ev, Check) and ev.name == CUT and ev.detail)
    return out


def _check_rank(reason: str) -> tuple[int, str]:
    if reason == ANY:
        return (len(CHECK_ORDER) + 1, reason)
    return (CHECK_ORDER.index(reason) if reason in CHECK_ORDER else len(CHECK_ORDER), reason)


@dataclass(frozen=True)
class CheckYield:
    """One check of one intervening run: its fire rate, and its yield against ``hrt``.

    Attributes:
        task, method: the intervening run's task and method.
        settings: the run's settings in a few words (split, k, retriever, model, seed).
        check: the intervention reason (or :data:`ANY` for all checks together).
        n: scored queries of the run.
        fired: queries with at least one intervention of this check.
        count: interventions of this check over all queries.
        baseline: the paired ``hrt`` run's name, ``None`` when there is none.
        paired: fired queries that the ``hrt`` run also scored.
        with_check: mean per-sample score of the intervening run on the paired queries.
        without: mean per-sample score of the ``hrt`` run on the same queries.
        delta: ``with_check - without`` with its paired-bootstrap interval.
        wins, ties, losses: per query (for an error score, a win is a smaller error).
    """

    task: str
    method: str
    settings: str
    check: str
    n: int
    fired: int
    count: int
    baseline: str | None = None
    paired: int = 0
    with_check: float | None = None
    without: float | None = None
    delta: Delta | None = None
    wins: int = 0
    ties: int = 0
    losses: int = 0

    @property
    def fire_share(self) -> float:
        """Share of queries with at least one intervention of this check."""
        return self.fired / self.n if self.n else 0.0

    @property
    def per_query(self) -> float:
        """Interventions of this check per query."""
        return self.count / self.n if self.n else 0.0


def run_yield(run: Run, base: Run | None, *, n_resamples: int = N_RESAMPLES,
              confidence: float = CONFIDENCE, seed: int = 0) -> list[CheckYield]:
    """The rows of one intervening ``run``: one per check that fired, then :data:`ANY`.

    Args:
        run: an intervening run (records with traces).
        base: the ``hrt`` run of the same settings, or ``None``.
        n_resamples, confidence, seed: of the paired bootstrap.
    """
    records = run.scored_records
    per_record = {r.id: intervention_reasons(r) for r in records}
    reasons = sorted({k for c in per_record.values() for k in c}, key=_check_rank)
    theirs = {r.id: r for r in base.scored_records} if base is not None else {}
    mine = {r.id: r for r in records}
    lower = score_lower_is_better(run.task)
    settings = describe_settings(run)
    rows: list[CheckYield] = []
    for reason in [*reasons, ANY]:
        fired_ids = [i for i, c in per_record.items()
                     if (sum(c.values()) if reason == ANY else c.get(reason, 0)) > 0]
        count = sum(sum(c.values()) if reason == ANY else c.get(reason, 0)
                    for c in per_record.values())
        row = CheckYield(run.task, run.method, settings, reason, len(records), len(fired_ids),
                         count, base.name if base is not None else None)
        ids = [i for i in fired_ids if i in theirs]
        if ids:
            golds = [str(theirs[i].gold) for i in ids]
            a = sample_scores(run.task, golds, [mine[i].answer for i in ids])
            b = sample_scores(run.task, golds, [theirs[i].answer for i in ids])
            d = paired_delta(a, b, aggregate=lambda x: float(x.mean()), n_resamples=n_resamples,
                             confidence=confidence, seed=seed)
            wins, ties, losses = tally(a, b, lower)
            row = CheckYield(row.task, row.method, settings, reason, row.n, row.fired, count,
                             row.baseline, len(ids), float(a.mean()), float(b.mean()), d,
                             wins, ties, losses)
        rows.append(row)
    return rows


def intervention_yield(runs: Sequence[Run], *, baseline: str = BASELINE,
                       **kw: Any) -> list[CheckYield]:
    """Fire rates and yields of every check, over every intervening run in ``runs``.

    Args:
        runs: loaded runs; those of intervening methods are measured, ``baseline`` runs
            (same settings) are what they are paired with.
        baseline: the method without RPI (``hrt``).
        kw: ``n_resamples``, ``confidence``, ``seed`` of the paired bootstrap.
    """
    bases = {group_key(r): r for r in runs if r.method == baseline}
    out: list[CheckYield] = []
    for r in sorted((r for r in runs if intervenes(r.method) and r.records),
                    key=lambda r: (r.task, group_key(r), method_rank(r.method))):
        out += run_yield(r, bases.get(group_key(r)), **kw)
    return out


def _score_name(task: str) -> str:
    t = get_task(task)
    return {"classification": "accuracy", "rating": "abs. error ↓"}.get(t.kind, t.metrics[0])


def yield_tables(rows: Sequence[CheckYield], confidence: float = CONFIDENCE) -> list[Table]:
    """One table per task: a row per intervening run x check."""
    tables: list[Table] = []
    for task in sorted({r.task for r in rows}):
        rs = [r for r in rows if r.task == task]
        show_settings = len({r.settings for r in rs}) > 1
        score = _score_name(task)
        lower = score_lower_is_better(task)
        headers = ["method"] + (["settings"] if show_settings else []) + [
            "check", "queries", "fired (share)", "acted/q", f"paired with {BASELINE}",
            f"{score} with RPI", f"{score} {BASELINE}",
            f"Δ {score} [{round(confidence * 100)}% CI]", "wins / ties / losses"]
        body: list[list[Any]] = []
        for r in rs:
            row: list[Any] = [r.method] + ([r.settings] if show_settings else [])
            row += [r.check, r.n, r.fire_share, r.per_query]
            if r.baseline is None:
                row += [None, None, None, NO_BASELINE, None]
            elif r.delta is None:
                row += [r.paired, None, None, None, None]
            else:
                row += [r.paired, r.with_check, r.without, format_delta(r.delta, lower),
                        f"{r.wins} / {r.ties} / {r.losses}"]
            body.append(row)
        per = {"accuracy": "correctness", "abs. error ↓": "absolute error (lower is better)"}
        tables.append(Table(
            f"{task}: intervention yield (against {BASELINE}, same queries)", headers, body,
            note=(f"Fired = share of queries where RPI acted on the check at least once (a "
                  f"correction, or a cut of the stage: corrections are off by default); acted/q "
                  f"= actions per query. Yield "
                  f"on the fired queries that the {BASELINE} run (no RPI, same settings) also "
                  f"answered: mean per-query {per.get(score, score)}, Δ = with RPI - "
                  f"{BASELINE}, paired percentile bootstrap ({N_RESAMPLES} resamples); "
                  f"'(better)'/'(worse)' when the interval excludes 0. For r2p the difference "
                  f"also holds self-reference (several candidates); hrt_rpi isolates RPI. "
                  f"Checks that never fired in a run are not listed.")))
    return tables


__all__ = [
    "ANY",
    "BASELINE",
    "CHECK_ORDER",
    "CUT",
    "NO_BASELINE",
    "NO_INTERVENING",
    "CheckYield",
    "intervenes",
    "intervention_reasons",
    "intervention_yield",
    "run_yield",
    "yield_tables",
]
