"""Sweep files: grid expansion, labels, dry run with call estimates, and a small real sweep
with scripted backends. Budget: ~3 s."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from r2p.cli.main import main
from r2p.errors import ConfigError
from r2p.runner.config import build_config
from r2p.runner.sweep import estimate_calls, load_sweep


def _write(tmp_path: Path, data: Path, grid: str) -> Path:
    f = tmp_path / "sweep.yaml"
    f.write_text(f"out: {tmp_path / 'study'}\nbase: {{data: {data}, limit: 4}}\ngrid:\n{grid}")
    return f


def test_grid_expands_in_order_with_labels(shared_data: Path, tmp_path: Path) -> None:
    f = _write(tmp_path, shared_data,
               "  k: [0, 4]\n  task: [LaMP_3, LaMP_7]\n  method: [rag, {name: r2p-2c, method: "
               "r2p, method_options: {n_candidates: 2}}]\n")
    sweep = load_sweep(f)
    names = [r.name for r in sweep.runs]
    assert names[:3] == ["LaMP_3-rag-k0", "LaMP_3-rag-k4", "LaMP_3-r2p-2c-k0"]
    assert len(names) == 8
    run = sweep.runs[2].config
    assert run.method == "r2p" and run.method_options == {"n_candidates": 2} and run.limit == 4
    assert run.out == tmp_path / "study" / "runs" / "LaMP_3-r2p-2c-k0"
    assert run.store_path() == tmp_path / "study" / ".r2p-store.sqlite"


def test_dry_run_lists_runs_and_calls(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = _write(tmp_path, shared_data, "  task: [LaMP_7]\n  method: [rag, r2p]\n  k: [4]\n")
    assert main(["sweep", str(f), "--dry-run", "--limit", "5"]) == 0
    out = capsys.readouterr().out
    assert "| LaMP_7-rag-k4 | 5 | 5 |" in out
    # text: stage 2 and the answer (no corrections), answers with an empty thought and to
    # the reference prompt
    assert "| LaMP_7-r2p-k4 | 5 | 20 |" in out
    assert "2 runs, 10 samples, about 25 model calls (an estimate" in out
    assert not (tmp_path / "study").exists()


def test_call_estimates() -> None:
    def cfg(method: str, **opts: object) -> tuple[int, int]:
        return estimate_calls(build_config({"task": "LaMP_7", "data": ".", "method": method,
                                            "method_options": opts}, validate_names=False))

    assert cfg("rag") == (1, 1) and cfg("think") == (1, 2)
    # a text thought: stage 2 and the answer; each intervention one more call
    assert cfg("hrt") == (2, 2) and cfg("hrt_rpi", max_interventions=2) == (2, 4)
    assert cfg("hrt_rpi") == (2, 2)  # no corrections by default
    # text SRM: unthought and reference answers, no sampling call for 2 candidates, one
    # selection call
    assert cfg("r2p_llm", n_candidates=2, max_interventions=1) == (4, 6)
    # positional labels: one more answer with the options reversed
    def lamp1(**opts: object) -> tuple[int, int]:
        return estimate_calls(build_config({"task": "LaMP_1", "data": ".", "method": "r2p",
                                            "method_options": opts}, validate_names=False))

    # labels: stage 2, the answer, a second answer cue, one sampling call
    assert lamp1() == (2, (2 + 1) + 1) and lamp1(option_order=True) == (3, 5)
    assert lamp1(max_interventions=2) == (2, (2 + 2 + 1) + 1)
    # a user's synthesis reused: no stage 2 call
    assert lamp1(synthesis="user") == (1, 4)
    # ratings: stage 3 too, two corrections, a second cue, one more thought, one sampling call
    rating = estimate_calls(build_config({"task": "LaMP_3", "data": ".", "method": "r2p",
                                          "method_options": {"extra_thoughts": 1,
                                                             "max_interventions": 2}},
                                         validate_names=False))
    assert rating == (3, (3 + 2 + 1) * 2 + 1)


def test_bad_sweeps_fail_early(shared_data: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="grid axis 'k' is empty"):
        load_sweep(_write(tmp_path, shared_data, "  k: []\n"))
    with pytest.raises(ConfigError, match="run LaMP_7-k-1: k: Input should be greater"):
        load_sweep(_write(tmp_path, shared_data, "  task: [LaMP_7]\n  k: [-1]\n"))
    f = tmp_path / "bad.yaml"
    f.write_text("runs: []\n")
    with pytest.raises(ConfigError, match="unknown sweep key"):
        load_sweep(f)


def test_small_sweep_writes_summaries(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = _write(tmp_path, shared_data,
               "  task: [LaMP_7]\n  method: [rag]\n  k: [0, 2]\n  model:\n"
               "    - {name: fake, backend: fake, model: null,\n"
               "       backend_options: {replies: {'': 'a paraphrase'}}}\n")
    assert main(["sweep", str(f), "--no-progress"]) == 0
    study = tmp_path / "study"
    rows = list(csv.DictReader((study / "summary.csv").open()))
    assert [r["run"] for r in rows] == ["LaMP_7-rag-k0-fake", "LaMP_7-rag-k2-fake"]
    assert all(r["n"] == "4" and r["n_failed"] == "0" and float(r["rouge-1"]) >= 0 for r in rows)
    assert "| LaMP_7-rag-k0-fake |" in (study / "summary.md").read_text()
    assert (study / "runs" / "LaMP_7-rag-k2-fake" / "predictions.json").is_file()
