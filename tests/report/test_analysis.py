"""The three-limitations analysis on hand-built records: numbers checked by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from _report_support import HRT_THOUGHT, LOOPY_THOUGHT, RETRIEVED, record

from r2p.records import RunRecord
from r2p.report.analysis import analysis_tables, analyze, analyze_records, load_monitor
from r2p.report.runs import load_runs


def _by(result, task: str, method: str):  # type: ignore[no-untyped-def]
    return next(a for a in result.limitations if a.task == task and a.method == method)


def test_format_misalignment_share_and_failures(sweep: Path) -> None:
    result = analyze(load_runs([sweep]))
    # rag over k=0,2,4: 5 records, one off format
    assert _by(result, "LaMP_7", "rag").format_off == pytest.approx(1 / 5)
    r2p = _by(result, "LaMP_7", "r2p")
    assert r2p.format_off == pytest.approx(1 / 3)
    lamp3 = _by(result, "LaMP_3", "direct")
    assert lamp3.format_off == pytest.approx(0.5)
    assert lamp3.n == 2 and lamp3.n_failed == 1  # the failure is known only from metrics.json


def test_k0_to_k_deltas_and_direction(sweep: Path, make_run) -> None:  # type: ignore[no-untyped-def]
    result = analyze(load_runs([sweep]))
    rag = {(d.k, d.metric): d for d in result.deltas if d.method == "rag"}
    assert set(rag) == {(2, "rouge-1"), (2, "rouge-L"), (4, "rouge-1"), (4, "rouge-L")}
    assert rag[2, "rouge-1"].delta == pytest.approx(0.05) and rag[2, "rouge-1"].improved
    assert rag[4, "rouge-1"].delta == pytest.approx(-0.02) and not rag[4, "rouge-1"].improved
    r2p = next(d for d in result.deltas if d.method == "r2p" and d.metric == "rouge-1")
    assert (r2p.at_k0, r2p.at_k, r2p.k) == (pytest.approx(0.31), pytest.approx(0.40), 4)
    # direct on LaMP_3 has only k=0: no delta
    assert not [d for d in result.deltas if d.task == "LaMP_3"]
    # lower is better for MAE: a drop is an improvement
    base = {"format_ok": 1, "n": 1, "n_failed": 0}
    make_run(sweep.parent / "more", "m0", task="LaMP_3", method="rag", k=0,
             metrics={"MAE": 0.6, "RMSE": 0.9, **base})
    make_run(sweep.parent / "more", "m4", task="LaMP_3", method="rag", k=4,
             metrics={"MAE": 0.4, "RMSE": 1.0, **base})
    d = {x.metric: x for x in analyze(load_runs([sweep.parent / "more" / "m0",
                                                  sweep.parent / "more" / "m4"])).deltas}
    assert d["MAE"].delta == pytest.approx(-0.2) and d["MAE"].improved
    assert d["RMSE"].delta == pytest.approx(0.1) and not d["RMSE"].improved


def test_divergent_thinking_measures() -> None:
    mon = load_monitor()
    assert mon is not None
    recs = [record("a", reasoning=HRT_THOUGHT, completion_tokens=100),
            record("b", reasoning=LOOPY_THOUGHT, completion_tokens=300),
            record("c", reasoning="", completion_tokens=2)]
    a = analyze_records("LaMP_7", "r2p", "m", [RunRecord.model_validate(r) for r in recs], mon)
    assert a.with_thought == pytest.approx(2 / 3)
    words = (len(HRT_THOUGHT.split()) + len(LOOPY_THOUGHT.split())) / 2
    assert a.thought_words == pytest.approx(words)
    assert a.gen_tokens == pytest.approx(134.0)
    assert a.stage_coverage == pytest.approx((3 / 3 + 1 / 3) / 2)  # all stages; stage 1 only
    assert a.loop_share == pytest.approx(0.5)  # only the loopy thought loops
    assert a.loops_per_thought is not None and a.loops_per_thought >= 1.0


def test_grounding_and_citations() -> None:
    mon = load_monitor()
    assert mon is not None
    recs = [record("a", reasoning="[P1] and [P2] say so", retrieved=RETRIEVED,
                   answer="coffee mornings are the best"),
            record("b", reasoning="nothing relevant here at all", retrieved=RETRIEVED,
                   answer="zzz"),
            record("c", reasoning="no retrieval, not counted [P1]")]
    a = analyze_records("LaMP_7", "r2p", "m", [RunRecord.model_validate(r) for r in recs], mon)
    assert a.cited_share == pytest.approx((2 / 2 + 0) / 2)
    assert a.reasoning_grounding == pytest.approx((1.0 + 0.0) / 2)
    # answer "coffee mornings are the best": 3 of the 3 content words of item 1 ("coffee",
    # "mornings", "best") -> 1.0; "zzz" -> 0.0
    assert a.answer_grounding == pytest.approx(0.5)


def test_without_monitor_measures_are_empty_with_a_note(sweep: Path) -> None:
    runs = load_runs([sweep])
    result = analyze(runs, monitor=None)
    assert any("monitor" in n for n in result.notes)
    r2p = _by(result, "LaMP_7", "r2p")
    assert r2p.stage_coverage is None and r2p.reasoning_grounding is None
    assert r2p.format_off == pytest.approx(1 / 3)  # still measured
    tables = analysis_tables(result, runs)
    assert [t.title.split(":")[0] for t in tables] == [
        "Limitation 1", "Limitation 2", "Limitation 3a", "Limitation 3b"]
    assert "—" in tables[0].to_markdown()
