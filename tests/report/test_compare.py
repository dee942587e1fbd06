"""Paired comparisons against a baseline: differences equal the official metrics' differences,
intervals come from a paired bootstrap, wins/ties/losses per query, and the report shows them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _report_support import record, write_run

from r2p.metrics import score
from r2p.report import build_report
from r2p.report.compare import compare_all, compare_runs, comparison_tables, paired_delta
from r2p.report.runs import load_run


def test_paired_delta_identical_and_clearly_better() -> None:
    x = np.array([0.2, 0.5, 0.9, 0.4])
    d = paired_delta(x, x.copy(), aggregate=np.mean, n_resamples=200)
    assert d.delta == 0 and d.lo == 0 and d.hi == 0 and not d.significant
    a, b = np.ones(30), np.concatenate([np.zeros(20), np.ones(10)])
    d = paired_delta(a, b, aggregate=np.mean, n_resamples=500)
    assert d.delta == pytest.approx(2 / 3) and d.significant and d.lo > 0.3
    # a noisy, small difference is not significant
    rng = np.random.default_rng(1)
    noisy = rng.random(12)
    d = paired_delta(noisy, noisy[::-1].copy(), aggregate=np.mean, n_resamples=500)
    assert d.lo < 0 < d.hi and not d.significant
    with pytest.raises(ValueError):
        paired_delta(np.ones(2), np.ones(3), aggregate=np.mean)


def _lamp1(root: Path, name: str, method: str, answers: dict[str, str],
           golds: dict[str, str]) -> Path:
    recs = [record(i, task="LaMP_1", method=method, answer=a, gold=golds[i], scores={})
            for i, a in answers.items()]
    return write_run(root, name, task="LaMP_1", method=method, metrics={}, records=recs)


def test_compare_runs_matches_the_official_metrics_on_shared_ids(tmp_path: Path) -> None:
    golds = {f"q{i}": "[1]" if i % 3 else "[2]" for i in range(12)}
    base_ans = {i: "[1]" for i in golds}
    mine_ans = dict(golds)  # all right ...
    mine_ans["q1"] = "[2]"  # ... but one
    mine_ans.pop("q11")  # and one query the baseline has but this run does not
    base = load_run(_lamp1(tmp_path, "rag", "rag", base_ans, golds))
    mine = load_run(_lamp1(tmp_path, "r2p", "r2p", mine_ans, golds))
    c = compare_runs(mine, base, n_resamples=300)
    assert c is not None and c.n == 11
    ids = [i for i in golds if i != "q11"]
    g = {i: golds[i] for i in ids}
    want_a = score("LaMP_1", g, {i: mine_ans[i] for i in ids})
    want_b = score("LaMP_1", g, {i: base_ans[i] for i in ids})
    for key in ("accuracy", "f1"):
        va, vb, d = c.metrics[key]
        assert va == pytest.approx(want_a[key]) and vb == pytest.approx(want_b[key])
        assert d.delta == pytest.approx(want_a[key] - want_b[key]) and d.lo <= d.delta <= d.hi
    # baseline right on the 7 "[1]" queries (one of which r2p gets wrong), wrong on the 4 "[2]"
    assert (c.wins, c.ties, c.losses) == (4, 6, 1)


def test_rating_wins_are_smaller_errors_and_the_report_section(tmp_path: Path) -> None:
    runs = tmp_path / "sweep" / "runs"
    golds = {"a": "5", "b": "4", "c": "3"}
    for name, method, k, answers in (("rag", "rag", 4, {"a": "3", "b": "4", "c": "1"}),
                                     ("r2p", "r2p", 4, {"a": "5", "b": "2", "c": "3"}),
                                     ("k0", "direct", 0, {"a": "5", "b": "4", "c": "3"})):
        write_run(runs, name, task="LaMP_3", method=method, k=k,
                  metrics={"MAE": 0.0, "RMSE": 0.0},
                  records=[record(i, task="LaMP_3", method=method, answer=a, gold=golds[i],
                                  scores={}) for i, a in answers.items()])
    loaded = [load_run(p) for p in sorted(runs.iterdir())]
    cs = {c.method: c for c in compare_all(loaded, "rag", n_resamples=200)}
    assert set(cs) == {"r2p"}  # direct ran with k = 0 (retriever none): other settings
    c = cs["r2p"]
    assert c.metrics["MAE"][0] == pytest.approx(2 / 3) and c.metrics["MAE"][1] == pytest.approx(4 / 3)
    assert (c.wins, c.ties, c.losses) == (2, 0, 1)
    table = comparison_tables([c])[0].to_markdown()
    assert "LaMP_3: against rag" in table and "| r2p | rag | 3 |" in table
    written = build_report([tmp_path / "sweep"], tmp_path / "rep")
    md = written["report.md"].read_text()
    assert "## Against rag: paired differences" in md and "Δ MAE [95% CI]" in md
    assert "Against rag: paired differences" in written["report.html"].read_text()
    md2 = build_report([tmp_path / "sweep"], tmp_path / "rep2",
                       baseline="think")["report.md"].read_text()
    assert "No think run with the same settings to compare with." in md2
