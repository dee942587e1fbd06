"""The analysis of the paper's three limitations of reasoning models in personalization,
measured per task x method (x model) from the per-sample records of the runs.

1. **Divergent thinking**: thought length (words; generated tokens per query), stage coverage of
   the HRT template (:func:`r2p.methods.r2p.monitor.stage_coverage`), loops
   (:func:`r2p.methods.r2p.monitor.find_loops`).
2. **Format misalignment**: share of raw answers off the task's format (``1 - format_ok``).
3. **Use of the retrieved profile**: the metric change from k = 0 to k > 0 for the same task,
   method and model; how much the reasoning and the answer draw on the retrieved items
   (:func:`r2p.methods.r2p.monitor.profile_grounding`) and the share of retrieved items the
   reasoning cites as ``[Pi]``.

The monitor functions belong to the R2P method (:func:`load_monitor`); ``analyze(runs, None)``
leaves the measures that need them empty.

Example:
    >>> # result = analyze(load_runs([Path("sweep")]))
    >>> # result.limitations[0].format_off
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

from r2p.records import RunRecord
from r2p.report.runs import Run
from r2p.report.tables import LOWER_IS_BETTER, Table, method_rank, official_metrics, varies


@dataclass
class Monitor:
    """The three monitor functions of the R2P method, and the number of template stages."""

    stage_coverage: Callable[[str], list[int]]
    find_loops: Callable[[str], list[str]]
    profile_grounding: Callable[[str, list[str]], float]
    cited_items: Callable[[str, int], list[int]]
    n_stages: int


def load_monitor() -> Monitor:
    """The R2P monitor's functions (``r2p.methods.r2p.monitor``, imported on first use)."""
    from r2p.methods.r2p import monitor as mon

    return Monitor(mon.stage_coverage, mon.find_loops, mon.profile_grounding,
                   mon.cited_items, max(1, len(mon.STAGE_MARKERS)))


@dataclass
class MethodAnalysis:
    """The limitation measures of one task x method (x model), over all its runs' records.

    Averages are over scored samples; thought measures over samples with a non-empty thought;
    grounding and citation measures over samples with retrieved items. ``None`` = not measurable.
    """

    task: str
    method: str
    model: str
    n: int = 0
    n_failed: int = 0
    with_thought: float | None = None
    thought_words: float | None = None
    gen_tokens: float | None = None
    stage_coverage: float | None = None
    loop_share: float | None = None
    loops_per_thought: float | None = None
    format_off: float | None = None
    reasoning_grounding: float | None = None
    answer_grounding: float | None = None
    cited_share: float | None = None


@dataclass
class RetrievalDelta:
    """The change of one metric from k = 0 to a k > 0 run of the same task/method/model."""

    task: str
    method: str
    model: str
    retriever: str
    k: int
    metric: str
    at_k0: float
    at_k: float

    @property
    def delta(self) -> float:
        """``metric(k) - metric(k=0)``."""
        return self.at_k - self.at_k0

    @property
    def improved(self) -> bool:
        """Whether retrieval helped (lower is better for MAE/RMSE)."""
        return self.delta < 0 if self.metric in LOWER_IS_BETTER else self.delta > 0


@dataclass
class Analysis:
    """Everything :func:`analyze` measures, plus notes on what could not be measured."""

    limitations: list[MethodAnalysis] = field(default_factory=list)
    deltas: list[RetrievalDelta] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _mean(values: Sequence[float]) -> float | None:
    return fmean(values) if values else None


def retrieved_texts(record: RunRecord) -> list[str]:
    """The texts of the retrieved items recorded with a sample (rank order)."""
    return [r.text for r in record.retrieved]


def cited_share(text: str, n_retrieved: int, monitor: Monitor) -> float:
    """Share of the ``n_retrieved`` items cited as ``[P1]``..``[Pn]`` in ``text``.

    Example:
        >>> mon = load_monitor()
        >>> cited_share("as [P1] and [P3] show, [P1] again; [P9] is out of range", 4, mon)
        0.5
    """
    if n_retrieved <= 0:
        return 0.0
    return len(monitor.cited_items(text, n_retrieved)) / n_retrieved


def analyze_records(task: str, method: str, model: str, records: Sequence[RunRecord],
                    monitor: Monitor | None, *, failed_elsewhere: int = 0) -> MethodAnalysis:
    """The limitation measures over one group's records (failures counted, never scored).

    ``failed_elsewhere`` adds failures known only from ``metrics.json`` (the runner leaves
    failed samples out of ``records.jsonl``).
    """
    ok = [r for r in records if not r.error]
    out = MethodAnalysis(task, method, model, n=len(ok),
                         n_failed=len(records) - len(ok) + failed_elsewhere)
    if not ok:
        return out
    thoughts = [r.reasoning for r in ok]
    with_thought = [t for t in thoughts if t.strip()]
    out.with_thought = len(with_thought) / len(ok)
    out.thought_words = _mean([len(t.split()) for t in with_thought])
    out.gen_tokens = _mean([float(r.usage.completion_tokens) for r in ok])
    out.format_off = 1.0 - fmean(1.0 if r.format_ok else 0.0 for r in ok)
    if monitor is None:
        return out
    grounded = [r for r in ok if r.retrieved]
    if grounded:
        out.cited_share = fmean(
            cited_share(r.reasoning + "\n" + r.raw_output, len(r.retrieved), monitor)
            for r in grounded)
    if with_thought:
        out.stage_coverage = fmean(len(set(monitor.stage_coverage(t))) / monitor.n_stages
                                   for t in with_thought)
        loops = [len(monitor.find_loops(t)) for t in with_thought]
        out.loop_share = fmean(1.0 if n else 0.0 for n in loops)
        out.loops_per_thought = fmean(loops)
    if grounded:
        with_r = [r for r in grounded if r.reasoning.strip()]
        if with_r:
            out.reasoning_grounding = fmean(
                float(monitor.profile_grounding(r.reasoning, retrieved_texts(r)))
                for r in with_r)
        out.answer_grounding = fmean(
            float(monitor.profile_grounding(r.answer, retrieved_texts(r))) for r in grounded)
    return out


def retrieval_deltas(runs: Sequence[Run]) -> list[RetrievalDelta]:
    """Metric changes from k = 0 to every k > 0 run of the same task, method and model.

    Several k = 0 runs of one group (seeds, retrievers) are averaged.
    """
    deltas: list[RetrievalDelta] = []
    groups: dict[tuple[str, str, str], list[Run]] = {}
    for r in runs:
        groups.setdefault((r.task, r.method, r.model), []).append(r)
    for (task, method, model), group in sorted(
            groups.items(), key=lambda kv: (kv[0][0], method_rank(kv[0][1]), kv[0][2])):
        base = [r for r in group if r.k == 0]
        if not base:
            continue
        for key in official_metrics(task, group):
            base_values = [v for v in (r.metric(key) for r in base) if v is not None]
            if not base_values:
                continue
            at_k0 = fmean(base_values)
            for r in sorted((r for r in group if r.k > 0), key=lambda r: (r.retriever, r.k)):
                v = r.metric(key)
                if v is not None:
                    deltas.append(RetrievalDelta(task, method, model, r.retriever, r.k, key,
                                                 at_k0, v))
    return deltas


def analyze(runs: Sequence[Run], monitor: Monitor | None | bool = True) -> Analysis:
    """Measure the three limitations per task x method x model, and the k = 0 -> k > 0 deltas.

    Args:
        runs: loaded runs.
        monitor: a :class:`Monitor`; ``True`` (default) loads R2P's monitor lazily; ``None`` or
            ``False`` skips the measures that need it.
    """
    mon = load_monitor() if monitor is True else (monitor or None)
    result = Analysis()
    if mon is None:
        result.notes.append("stage coverage, loops, citations and profile grounding need "
                            "r2p.methods.r2p.monitor, which is not available: left empty")
    groups: dict[tuple[str, str, str], list[RunRecord]] = {}
    failed: dict[tuple[str, str, str], int] = {}
    for r in runs:
        key = (r.task, r.method, r.model)
        groups.setdefault(key, []).extend(r.records)
        in_records = sum(1 for rec in r.records if rec.error)
        failed[key] = failed.get(key, 0) + max(0, int(r.metric("n_failed") or 0) - in_records)
    no_records = sorted({f"{r.task}/{r.method}/k={r.k}" for r in runs if not r.records})
    if no_records:
        result.notes.append("runs without records.jsonl (only metrics shown): "
                            + ", ".join(no_records))
    for (task, method, model), records in sorted(
            groups.items(), key=lambda kv: (kv[0][0], method_rank(kv[0][1]), kv[0][2])):
        if records:
            result.limitations.append(analyze_records(
                task, method, model, records, mon,
                failed_elsewhere=failed[(task, method, model)]))
    result.deltas = retrieval_deltas(runs)
    if not result.deltas:
        result.notes.append("no task/method/model has both a k = 0 and a k > 0 run: "
                            "the metric change from retrieval cannot be measured")
    return result


def analysis_tables(result: Analysis, runs: Sequence[Run]) -> list[Table]:
    """The analysis as three tables (one per limitation)."""
    show_model = varies(runs, "model")
    lead = ["task", "method"] + (["model"] if show_model else [])

    def head(a: MethodAnalysis | RetrievalDelta) -> list[Any]:
        return [a.task, a.method] + ([a.model] if show_model else [])

    lim = result.limitations
    divergent = Table(
        "Limitation 1: divergent thinking",
        lead + ["n", "with thought", "thought words", "gen tok/q", "stage coverage",
                "thoughts with loops", "loops/thought"],
        [head(a) + [a.n, a.with_thought, a.thought_words, a.gen_tokens, a.stage_coverage,
                    a.loop_share, a.loops_per_thought] for a in lim],
        note="Thought words and stage coverage (share of the HRT template's stages present) are "
             "averaged over samples with a thought; gen tok/q over all scored samples.")
    fmt_table = Table(
        "Limitation 2: format misalignment",
        lead + ["n", "failed", "raw answers off format"],
        [head(a) + [a.n, a.n_failed, a.format_off] for a in lim],
        note="Off format = 1 - format_ok: the raw answer did not meet the task's format before "
             "any repair.")
    grounding = Table(
        "Limitation 3a: how much reasoning and answer draw on the retrieved items",
        lead + ["reasoning grounding", "answer grounding", "retrieved items cited [Pi]"],
        [head(a) + [a.reasoning_grounding, a.answer_grounding, a.cited_share] for a in lim],
        note="Averaged over samples with retrieved items; grounding = profile_grounding(text, "
             "retrieved texts) from R2P's monitor.")
    delta = Table(
        "Limitation 3b: metric change from k = 0 to k > 0",
        lead + ["retriever", "k", "metric", "at k = 0", "at k", "delta", "retrieval helped"],
        [head(d) + [d.retriever, d.k, d.metric, d.at_k0, d.at_k, d.delta, d.improved]
         for d in result.deltas],
        note="Delta = metric(k) - metric(k = 0); for MAE/RMSE a negative delta is an improvement.")
    return [divergent, fmt_table, grounding, delta]


__all__ = [
    "Analysis",
    "MethodAnalysis",
    "Monitor",
    "RetrievalDelta",
    "analysis_tables",
    "analyze",
    "analyze_records",
    "cited_share",
    "load_monitor",
    "retrieval_deltas",
    "retrieved_texts",
]
