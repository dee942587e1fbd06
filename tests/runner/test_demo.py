"""`r2p demo`'s plan: every task of the shipped subset, each method at k, rag also at k = 0."""

from __future__ import annotations

import argparse
from pathlib import Path

from r2p.cli.demo import demo_sweep
from r2p.cli.main import main


def _args(tmp_path: Path, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    from r2p.cli import demo

    demo.add_parser(sub)
    return parser.parse_args(["demo", "--out", str(tmp_path / "demo"), *argv])


def test_demo_plans_every_shipped_task_with_a_k0_baseline(tmp_path: Path) -> None:
    sweep = demo_sweep(_args(tmp_path))
    names = [r.name for r in sweep.runs]
    assert names[:3] == ["LaMP_1-rag-k0", "LaMP_1-rag", "LaMP_1-r2p"]
    assert {r.config.task for r in sweep.runs} == {"LaMP_1", "LaMP_2N", "LaMP_3", "LaMP_7"}
    assert all(r.config.backend == "llamacpp" and r.config.limit == 3 for r in sweep.runs)
    assert [r.config.k for r in sweep.runs[:3]] == [0, 4, 4]


def test_demo_without_k0_and_with_chosen_methods(tmp_path: Path) -> None:
    sweep = demo_sweep(_args(tmp_path, "--no-k0", "--methods", "think", "--tasks", "LaMP_3"))
    assert [r.name for r in sweep.runs] == ["LaMP_3-think"]


def test_demo_rejects_an_unknown_method_in_one_line(tmp_path: Path, capsys) -> None:
    rc = main(["demo", "--out", str(tmp_path / "d"), "--methods", "nope", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "nope" in err[0]
