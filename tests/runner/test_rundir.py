"""Run directories: a run of another configuration is refused unless ``--overwrite`` (so a
LaMP_3 run never silently replaces a LaMP_7 run, and two runs left at the default ``--out``
cannot collide); the same configuration resumes; files are written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from r2p.cli.main import main


def _run(data: Path, *extra: str, task: str = "LaMP_7", replies: str = '{"": "4"}',
         limit: int = 2) -> list[str]:
    # one reply for every prompt: the script is part of the configuration, so it stays fixed
    return ["run", "--task", task, "--data", str(data), "--method", "rag", "--k", "1",
            "--limit", str(limit), "--no-progress", "--backend", "fake", "--model", "m",
            "-b", f"replies={replies}", *extra]


def _one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("r2p: error: "), err
    return err


def test_another_configuration_is_refused_unless_overwrite(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    assert main(_run(shared_data, "--out", str(out))) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # a LaMP_3 run into the LaMP_7 run's folder
    argv = _run(shared_data, "--out", str(out), task="LaMP_3")
    assert main(argv) == 2
    err = _one_error(capsys)
    assert "holds a run of a different configuration (task \"LaMP_7\" -> \"LaMP_3\")" in err
    assert "--overwrite" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # untouched
    assert main(_run(shared_data, "--out", str(out), task="LaMP_3") + ["--overwrite"]) == 0
    assert json.loads((out / "config.json").read_text())["task"] == "LaMP_3"
    assert json.loads((out / "predictions.json").read_text())["task"] == "LaMP_3"


def test_the_same_configuration_resumes_and_a_larger_limit_extends(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    assert main(_run(shared_data, "--out", str(out))) == 0
    capsys.readouterr()
    assert main(_run(shared_data, "--out", str(out))) == 0
    assert "(2 from the store)" in capsys.readouterr().out
    # concurrency and the limit do not make another configuration
    assert main(_run(shared_data, "--out", str(out), "-c", "2", limit=3)) == 0
    assert len(json.loads((out / "predictions.json").read_text())["golds"]) == 3


def test_two_runs_at_the_default_out_do_not_collide(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(_run(shared_data)) == 0
    assert main(_run(shared_data, "--k", "0")) == 2
    assert 'k 1 -> 0' in _one_error(capsys)
    assert json.loads((tmp_path / "runs" / "run" / "config.json").read_text())["k"] == 1


def test_an_interrupted_run_is_known_by_its_config(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """config.json is written before the first sample, so a run killed before its end is
    still recognized: the same command resumes it, another configuration is refused."""
    from r2p.runner.config import build_config
    from r2p.runner.experiment import run_experiment

    out = tmp_path / "r"
    cfg = build_config({"task": "LaMP_7", "data": shared_data, "method": "rag", "k": 1,
                        "limit": 2, "backend": "fake", "model": "m",
                        "backend_options": {"replies": {"": "4"}}, "out": out})
    seen: list[list[str]] = []
    run_experiment(cfg, progress=False,
                   on_record=lambda status, rec: seen.append(sorted(p.name for p in
                                                                    out.iterdir())))
    assert seen[0] == ["config.json"]  # written before the first sample landed
    for name in ("records.jsonl", "predictions.json", "metrics.json"):
        (out / name).unlink()  # as if killed after the first sample
    capsys.readouterr()
    assert main(_run(shared_data, "--out", str(out), "--seed", "7")) == 2
    assert "seed 0 -> 7" in _one_error(capsys)
    assert main(_run(shared_data, "--out", str(out))) == 0


def test_run_files_without_a_config_are_refused(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    assert main(_run(shared_data, "--out", str(out))) == 2
    assert "without a readable config.json" in _one_error(capsys)
    assert main(_run(shared_data, "--out", str(out), "--overwrite")) == 0


def test_a_sweep_refuses_a_changed_grid_point_unless_overwrite(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def sweep(k: int) -> Path:
        f = tmp_path / "sweep.yaml"
        f.write_text(f"out: {tmp_path / 'study'}\n"
                     f"base: {{data: {shared_data}, limit: 1, k: {k}, backend: fake, "
                     "model: m, backend_options: {replies: [a, b, c]}}\n"
                     "grid:\n  task: [LaMP_7]\n  method: [rag]\n")
        return f

    assert main(["sweep", str(sweep(1)), "--no-progress"]) == 0
    assert main(["sweep", str(sweep(2)), "--no-progress"]) == 2
    assert "k 1 -> 2" in _one_error(capsys)
    assert main(["sweep", str(sweep(2)), "--no-progress", "--overwrite"]) == 0


def test_atomic_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    from r2p.atomic import write_text_atomic

    target = tmp_path / "f.json"
    write_text_atomic(target, "one")
    write_text_atomic(target, "two")
    assert target.read_text() == "two" and [p.name for p in tmp_path.iterdir()] == ["f.json"]
