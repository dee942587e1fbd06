"""The quality-against-cost plot: its points, its file, its place first in the report, and runs
without a cost field left out with a note."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _report_support import lamp7_metrics, record, write_run
from test_build import _check_png

from r2p.report import build_report
from r2p.report.plots import cost_quality_points
from r2p.report.runs import load_runs


def test_points_one_per_method_labelled_with_what_varies(sweep: Path) -> None:
    points, notes = cost_quality_points(load_runs([sweep]), "gen_tokens_per_query")
    assert notes == []
    metric, lamp7 = points["LaMP_7"]
    assert metric == "rouge-1"
    by_label = {p.label: p for p in lamp7}
    # k varies on LaMP_7 (0, 2, 4), so it is in the label; the model does not
    assert list(by_label) == ["rag / k=0", "rag / k=2", "rag / k=4", "r2p / k=0", "r2p / k=4"]
    assert (by_label["r2p / k=4"].cost, by_label["r2p / k=4"].quality) == (500.0, 0.40)
    metric, lamp3 = points["LaMP_3"]
    assert metric == "MAE" and [(p.label, p.cost, p.quality) for p in lamp3] == [
        ("direct", 3.0, 0.5)]
    seconds, _ = cost_quality_points(load_runs([sweep]), "seconds_per_query")
    assert [p.cost for p in seconds["LaMP_3"][1]] == [0.1]


def test_runs_of_one_method_are_pooled_by_queries(tmp_path: Path) -> None:
    runs = tmp_path / "sweep" / "runs"
    # LaMP_2N dev (3 queries) and train (4 queries): one point, weighted by n
    for name, acc, tok, n in (("dev", 1 / 3, 10.0, 3), ("train", 3 / 4, 17.0, 4)):
        write_run(runs, name, task="LaMP_2N", method="rag",
                  metrics={"accuracy": acc, "f1": acc, "gen_tokens_per_query": tok, "n": n})
    points, _ = cost_quality_points(load_runs([tmp_path / "sweep"]), "gen_tokens_per_query")
    metric, [p] = points["LaMP_2N"]
    assert metric == "accuracy" and p.label == "rag" and p.n == 7 and p.model == ""
    assert p.quality == pytest.approx(4 / 7) and p.cost == pytest.approx(14.0)
    # a second model: a point of its own, labelled by the method, its model as the series
    write_run(runs, "qwen", task="LaMP_2N", method="rag", model="/m/qwen-0.5b.gguf",
              metrics={"accuracy": 0.5, "f1": 0.5, "gen_tokens_per_query": 9.0, "n": 4})
    points, _ = cost_quality_points(load_runs([tmp_path / "sweep"]), "gen_tokens_per_query")
    assert [(p.label, p.model, p.quality) for p in points["LaMP_2N"][1]] == [
        ("rag", "qwen-0.5b", 0.5), ("rag", "smollm2", pytest.approx(4 / 7))]


def test_cost_plot_is_written_and_comes_first(sweep: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    written = build_report([sweep], out)
    for stem in ("quality_vs_tokens", "quality_vs_seconds"):
        path = out / "plots" / f"{stem}.png"
        assert written[f"plots/{stem}.png"] == path and path.is_file()
        _check_png(path.read_bytes())
    page = written["report.html"].read_text()
    alts = re.findall(r'<img class="plot" alt="([^"]+)"', page)
    assert alts[:2] == ["quality_vs_tokens", "quality_vs_seconds"]
    assert alts.count("quality_vs_tokens") == 1  # not repeated among the other plots
    assert page.index("<h2>Quality against cost</h2>") < page.index("<h2>Metrics</h2>")
    md = written["report.md"].read_text()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert images[0] == "plots/quality_vs_tokens.png"
    assert md.index("## Quality against cost") < md.index("## Metrics")


def test_run_without_cost_is_left_out_with_a_note(sweep: Path, tmp_path: Path) -> None:
    metrics = lamp7_metrics(0.5)
    del metrics["gen_tokens_per_query"]
    write_run(sweep / "runs", "think-k4", method="think", metrics=metrics,
              records=[record("a", method="think")])
    points, notes = cost_quality_points(load_runs([sweep]), "gen_tokens_per_query")
    assert "think" not in {p.label.split(" / ")[0] for p in points["LaMP_7"][1]}
    assert notes == ["run think-k4 (LaMP_7, think) has no gen_tokens_per_query in metrics.json: "
                     "left out of the quality-against-cost plot"]
    written = build_report([sweep], tmp_path / "rep")
    assert (tmp_path / "rep" / "plots" / "quality_vs_tokens.png").is_file()
    md = written["report.md"].read_text()
    assert "- run think-k4 (LaMP_7, think) has no gen_tokens_per_query" in md
    assert "think-k4 (LaMP_7, think) has no gen_tokens_per_query" in (
        written["report.html"].read_text())
    # it still has seconds per query: on that plot it is a point
    seconds, _ = cost_quality_points(load_runs([sweep]), "seconds_per_query")
    assert "think / k=4" in {p.label for p in seconds["LaMP_7"][1]}


def test_no_cost_anywhere_draws_nothing_and_says_so(tmp_path: Path) -> None:
    write_run(tmp_path / "s" / "runs", "rag", metrics={"rouge-1": 0.3},
              records=[record("a", method="rag")])
    written = build_report([tmp_path / "s"], tmp_path / "rep")
    assert "plots/quality_vs_tokens.png" not in written
    assert "No run has both a metric and a cost." in written["report.md"].read_text()
    assert json.loads((tmp_path / "s" / "runs" / "rag" / "metrics.json").read_text())
