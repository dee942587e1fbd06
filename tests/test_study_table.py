"""benchmarks/study_table.py over a small sweep run by the real runner with the fake backend:
the results table's columns, calls per query from the records, and r2p against rag and think."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from r2p.runner.sweep import load_sweep, run_sweep

REPO = Path(__file__).resolve().parents[1]
HRT_REPLY = ("Stage 1 - Task: pick the reference the user would cite.\n"
             "Stage 2 - Profile: [P1] is on the same topic.\n"
             "Stage 3 - Answer: the first one.</think>[1]")


def _study_table() -> ModuleType:
    path = REPO / "benchmarks" / "study_table.py"
    spec = importlib.util.spec_from_file_location("study_table", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["study_table"] = module
    spec.loader.exec_module(module)
    return module


def _table(text: str, first_header: str, after: str = "") -> list[dict[str, str]]:
    """The rows (as header -> cell) of the first Markdown table after ``after``."""
    lines = text[text.index(after):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    headers = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(headers, (c.strip() for c in line.strip("|").split("|")))))
    return rows


@pytest.fixture(scope="module")
def sweep_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("study")
    f = root / "study.yaml"
    f.write_text(
        f"out: {root / 'study'}\n"
        f"base: {{data: {shared_data}, split: dev, retriever: bm25, k: 2, seed: 0, limit: 3}}\n"
        "grid:\n"
        "  task: [LaMP_1, {name: LaMP_2N-train, task: LaMP_2N, split: train}]\n"
        "  method: [rag, think, r2p]\n"
        "  model:\n"
        f"    - {{name: fake, backend: fake, model: fake-model,\n"
        f"       backend_options: {{replies: {{'': {json.dumps(HRT_REPLY)}}}}}}}\n")
    rows, failed = run_sweep(load_sweep(f), progress=False)
    assert len(rows) == 6 and failed == 0
    return root / "study"


def _records(run: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in (run / "records.jsonl").read_text().splitlines() if x]


def test_study_table_columns_and_numbers(sweep_dir: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert _study_table().main([str(sweep_dir)]) == 0
    out = capsys.readouterr().out
    assert "### LaMP_1\n" in out and "### LaMP_2N (train)\n" in out
    assert ("| model | method | accuracy | f1 | format_ok | gen tok/q | calls/q | s/q | "
            "interv./q | repair | prior | n |") in out
    lamp1 = {r["method"]: r for r in _table(out, "model", "### LaMP_1\n")}
    assert list(lamp1) == ["rag", "think", "r2p"]
    assert lamp1["rag"]["model"] == "fake-model" and lamp1["rag"]["n"] == "3"
    assert lamp1["rag"]["calls/q"] == "1.0000"  # one call per query, from the records
    assert lamp1["rag"]["repair"] == "—" and lamp1["r2p"]["repair"] != "—"
    runs = sweep_dir / "runs"
    metrics = {m: json.loads((runs / f"LaMP_1-{m}-fake" / "metrics.json").read_text())
               for m in ("rag", "r2p")}
    assert lamp1["r2p"]["accuracy"] == f"{metrics['r2p']['accuracy']:.4f}"
    r2p_calls = [r["n_calls"] for r in _records(runs / "LaMP_1-r2p-fake")]
    assert float(lamp1["r2p"]["calls/q"]) == pytest.approx(sum(r2p_calls) / 3, abs=1e-4)

    comp = _table(out, "task", "## r2p against rag and think")
    assert list(comp[0]) == ["task", "model", "r2p vs", "metric", "Δ [95% CI]",
                             "wins / ties / losses", "n", "wall time r2p / vs"]
    assert [(r["task"], r["r2p vs"]) for r in comp] == [
        ("LaMP_1", "rag"), ("LaMP_1", "think"), ("LaMP_2N (train)", "rag"),
        ("LaMP_2N (train)", "think")]
    vs_rag = comp[0]
    delta = metrics["r2p"]["accuracy"] - metrics["rag"]["accuracy"]
    assert vs_rag["metric"] == "accuracy" and vs_rag["Δ [95% CI]"].startswith(f"{delta:+.3f} [")
    assert vs_rag["n"] == "3"
    walls = {m: sum(float(r["wall_s"]) for r in _records(runs / f"LaMP_1-{m}-fake"))
             for m in ("rag", "r2p")}
    assert float(vs_rag["wall time r2p / vs"]) == pytest.approx(walls["r2p"] / walls["rag"],
                                                                rel=0.01, abs=1e-4)


def test_study_table_bad_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _study_table().main([str(tmp_path)]) == 2
    assert "study_table: error:" in capsys.readouterr().err


def test_study_sweep_file(shared_data: Path) -> None:
    sweep = load_sweep(REPO / "benchmarks" / "study.yaml", overrides={"data": shared_data})
    assert sweep.out == Path("runs/study") and len(sweep.runs) == 5 * 7 * 2
    cfgs = {r.name: r.config for r in sweep.runs}
    user = cfgs["LaMP_3-r2p_user-qwen0.5b"]
    assert (user.method, user.method_options, user.limit) == ("r2p", {"synthesis": "user"}, 30)
    train = cfgs["LaMP_2N-train-r2p-qwen0.5b"]
    assert (train.task, train.split, train.k, train.retriever, train.concurrency) == (
        "LaMP_2N", "train", 4, "bm25", 4)
    assert cfgs["LaMP_7-hrt_rpi-smollm2"].model == "smollm2"
    assert str(cfgs["LaMP_1-rag-qwen0.5b"].model).endswith(
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
