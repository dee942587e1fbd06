"""Intervention yield: fire rates per check from the traces, and the per-query score difference
against the hrt run of the same settings on the queries where the check fired."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _report_support import record, write_run

from r2p.report import build_report
from r2p.report.runs import load_runs
from r2p.report.yield_ import ANY, NO_BASELINE, intervention_yield, yield_tables


def _iv(*reasons: str) -> list[dict[str, Any]]:
    return [{"type": "intervention", "reason": r, "position": 10, "text": "Wait.",
             "then": "continue"}
            for r in reasons]


GOLDS = {"q0": "[1]", "q1": "[1]", "q2": "[2]", "q3": "[2]", "q4": "[1]", "q5": "[2]"}
HRT = {"q0": "[2]", "q1": "[1]", "q2": "[1]", "q3": "[2]", "q4": "[1]"}  # no q5
RPI = {"q0": ("[1]", _iv("loop", "loop")), "q1": ("[1]", _iv("loop", "grounding")),
       "q2": ("[2]", _iv("grounding")), "q3": ("[1]", _iv("answer_format")),
       "q4": ("[1]", []), "q5": ("[2]", _iv("loop"))}


def _lamp1(root: Path, *, hrt_k: int = 4) -> Path:
    runs = root / "sweep" / "runs"
    write_run(runs, "hrt", task="LaMP_1", method="hrt", k=hrt_k, metrics={"accuracy": 0.6},
              records=[record(i, task="LaMP_1", method="hrt", answer=a, gold=GOLDS[i],
                              scores={}) for i, a in HRT.items()])
    write_run(runs, "hrt_rpi", task="LaMP_1", method="hrt_rpi", metrics={"accuracy": 0.6},
              records=[record(i, task="LaMP_1", method="hrt_rpi", answer=a, gold=GOLDS[i],
                              trace=t, interventions=len(t), scores={})
                       for i, (a, t) in RPI.items()])
    return root / "sweep"


def test_fire_rates_and_yield_per_check(tmp_path: Path) -> None:
    rows = intervention_yield(load_runs([_lamp1(tmp_path)]), n_resamples=300)
    assert [r.check for r in rows] == ["loop", "grounding", "answer_format", ANY]
    by = {r.check: r for r in rows}
    assert all(r.method == "hrt_rpi" and r.n == 6 and r.baseline == "hrt" for r in rows)
    # loop fired on q0 (twice), q1, q5; q5 has no hrt answer
    loop = by["loop"]
    assert (loop.fired, loop.count, loop.paired) == (3, 4, 2)
    assert loop.fire_share == pytest.approx(0.5) and loop.per_query == pytest.approx(4 / 6)
    assert (loop.with_check, loop.without) == (1.0, 0.5)
    assert loop.delta is not None and loop.delta.delta == pytest.approx(0.5)
    assert loop.delta.lo <= 0.5 <= loop.delta.hi
    assert (loop.wins, loop.ties, loop.losses) == (1, 1, 0)
    g = by["grounding"]
    assert (g.fired, g.paired, g.wins, g.ties, g.losses) == (2, 2, 1, 1, 0)
    assert g.delta is not None and g.delta.delta == pytest.approx(0.5)
    fmt = by["answer_format"]  # one query, where RPI lost: a point interval
    assert fmt.delta is not None and (fmt.delta.delta, fmt.delta.lo, fmt.delta.hi) == (-1, -1, -1)
    assert (fmt.wins, fmt.ties, fmt.losses) == (0, 0, 1)
    a = by[ANY]
    assert (a.fired, a.count, a.paired) == (5, 7, 4) and a.per_query == pytest.approx(7 / 6)
    assert (a.with_check, a.without) == (0.75, 0.5)
    assert a.delta is not None and a.delta.delta == pytest.approx(0.25)
    assert (a.wins, a.ties, a.losses) == (2, 1, 1)
    md = yield_tables(rows)[0].to_markdown()
    assert "### LaMP_1: intervention yield (against hrt, same queries)" in md
    assert "| method | check | queries | fired (share) | acted/q | paired with hrt |" in md
    assert "| hrt_rpi | loop | 6 | 0.5000 | 0.6667 | 2 | 1.0000 | 0.5000 | +0.500 [" in md
    assert "| hrt_rpi | answer_format | 6 | 0.1667 | 0.1667 | 1 | 0.0000 | 1.0000 | " \
           "-1.000 [-1.000, -1.000] (worse) | 0 / 0 / 1 |" in md


def test_rating_yield_is_an_error_difference(tmp_path: Path) -> None:
    runs = tmp_path / "s" / "runs"
    golds = {"a": "5", "b": "3", "c": "4"}
    write_run(runs, "hrt", task="LaMP_3", method="hrt",
              records=[record(i, task="LaMP_3", method="hrt", answer=a, gold=golds[i], scores={})
                       for i, a in {"a": "3", "b": "3", "c": "4"}.items()])
    r2p = {"a": ("5", _iv("stage_order", "copy")), "b": ("4", _iv("copy")), "c": ("4", [])}
    write_run(runs, "r2p", task="LaMP_3", method="r2p",
              records=[record(i, task="LaMP_3", method="r2p", answer=a, gold=golds[i],
                              trace=t, scores={}) for i, (a, t) in r2p.items()])
    rows = {r.check: r for r in intervention_yield(load_runs([tmp_path / "s"]), n_resamples=200)}
    assert list(rows) == ["stage_order", "copy", ANY]
    so = rows["stage_order"]  # error 2 -> 0
    assert so.delta is not None and so.delta.delta == -2.0 and (so.wins, so.losses) == (1, 0)
    copy = rows["copy"]  # a: 2 -> 0, b: 0 -> 1
    assert (copy.with_check, copy.without) == (0.5, 1.0) and (copy.wins, copy.losses) == (1, 1)
    assert copy.delta is not None and copy.delta.delta == pytest.approx(-0.5)
    md = yield_tables(list(rows.values()))[0].to_markdown()
    assert "Δ abs. error ↓ [95% CI]" in md and "-2.000 [-2.000, -2.000] (better)" in md


def test_without_a_matching_hrt_run_fire_rates_still_show(tmp_path: Path) -> None:
    sweep = _lamp1(tmp_path, hrt_k=2)  # hrt at another k: not the same settings
    rows = intervention_yield(load_runs([sweep]), n_resamples=100)
    assert all(r.baseline is None and r.delta is None for r in rows)
    md = yield_tables(rows)[0].to_markdown()
    assert f"| hrt_rpi | loop | 6 | 0.5000 | 0.6667 | — | — | — | {NO_BASELINE} | — |" in md
    assert NO_BASELINE == "no hrt run to compare"


def test_report_has_the_section(tmp_path: Path, sweep: Path) -> None:
    written = build_report([_lamp1(tmp_path / "l1")], tmp_path / "rep")
    md = written["report.md"].read_text()
    assert md.index("## Against rag") < md.index("## Intervention yield") < md.index("## Plots")
    assert "| hrt_rpi | grounding | 6 | 0.3333 | 0.3333 | 2 | 1.0000 | 0.5000 | +0.500 [" in md
    page = written["report.html"].read_text()
    assert "<h2>Intervention yield</h2>" in page
    assert "<h3>LaMP_1: intervention yield (against hrt, same queries)</h3>" in page
    # the shared sweep: r2p intervened, no hrt run; rag and direct do not intervene
    md = build_report([sweep], tmp_path / "rep2")["report.md"].read_text()
    assert ("| r2p | dev k=4 bm25 llamacpp:smollm2 seed=0 | loop in stage 2 | 2 | 0.5000 | "
            "0.5000 | — | — | — | no hrt run to compare | — |") in md
    assert ("| r2p | dev k=0 none llamacpp:smollm2 seed=0 | any check | 1 | 0.0000 | 0.0000 |"
            in md)
    only_rag = tmp_path / "rag"
    write_run(only_rag / "runs", "rag", method="rag", records=[record("a", method="rag")])
    md = build_report([only_rag], tmp_path / "rep3")["report.md"].read_text()
    assert "## Intervention yield\n\nNo run of a method that intervenes" in md


def test_a_cut_without_correction_counts_as_the_check_acting(tmp_path: Path) -> None:
    cut = [{"type": "check", "name": "copy", "ok": False, "detail": "copies the prompt",
            "stage": 2},
           {"type": "check", "name": "intervention_cap", "ok": False, "stage": 2,
            "detail": "copy 0 interventions used: the stage ends here"}]
    runs = tmp_path / "s" / "runs"
    write_run(runs, "hrt", task="LaMP_1", method="hrt",
              records=[record(i, task="LaMP_1", method="hrt", answer="[2]", gold="[1]",
                              scores={}) for i in ("a", "b")])
    write_run(runs, "hrt_rpi", task="LaMP_1", method="hrt_rpi",
              records=[record("a", task="LaMP_1", method="hrt_rpi", answer="[1]", gold="[1]",
                              trace=cut, scores={}),
                       record("b", task="LaMP_1", method="hrt_rpi", answer="[2]", gold="[1]",
                              scores={})])
    rows = {r.check: r for r in intervention_yield(load_runs([tmp_path / "s"]),
                                                   n_resamples=200)}
    assert set(rows) == {"copy", ANY}
    assert (rows["copy"].fired, rows["copy"].count, rows["copy"].wins) == (1, 1, 1)
