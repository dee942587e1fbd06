"""Loading every shared data folder and the shipped demo subset; the r2p data command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from r2p.cli.main import main
from r2p.data import demo_dir, load_split, read_outputs

# (folder, task, split, n)
SHARED = [
    ("LaMP_1", "LaMP_1", "dev", 100),
    ("LaMP_1_full_profile", "LaMP_1", "dev", 3),
    ("LaMP_1_full_profile", "LaMP_1", "train", 5),
    ("LaMP_2N", "LaMP_2N", "dev", 3),
    ("LaMP_2N", "LaMP_2N", "train", 4),
    ("LaMP_3", "LaMP_3", "dev", 251),
    ("LaMP_7", "LaMP_7", "dev", 300),
]


@pytest.mark.parametrize(("folder", "task", "split", "n"), SHARED)
def test_every_shared_folder_loads(shared_data: Path, folder: str, task: str, split: str,
                                   n: int) -> None:
    ds = load_split(task, shared_data / folder, split)
    assert len(ds) == n and ds.has_golds and ds.task.name == task
    raw = json.loads((shared_data / folder / f"{split}_questions.json").read_text("utf-8"))
    assert ds.ids == [r["id"] for r in raw]
    assert ds.samples[-1].profile == raw[-1]["profile"]
    _, golds = read_outputs(shared_data / folder / f"{split}_outputs.json")
    assert ds.golds() == golds
    if ds.task.labels is not None:
        assert {g.strip() for g in golds.values()} <= set(ds.task.labels)


def test_task_folder_layout_finds_lamp_2n(shared_data: Path) -> None:
    # The folder is named by the task; the outputs file says LaMP_2 (first release).
    assert read_outputs(shared_data / "LaMP_2N" / "dev_outputs.json")[0] == "LaMP_2"
    assert load_split("LaMP_2N", shared_data, "dev").golds()


@pytest.mark.parametrize(("task", "n"), [("LaMP_1", 24), ("LaMP_2N", 3), ("LaMP_3", 24),
                                         ("LaMP_7", 24)])
def test_demo_subset_is_real_shared_data(shared_data: Path, task: str, n: int) -> None:
    demo = load_split(task, demo_dir(), "dev")
    full = load_split(task, shared_data, "dev")
    assert len(demo) == n
    for s in demo:
        assert full.get(s.id) == s  # copied whole, nothing truncated


def test_demo_subset_is_small_and_licensed() -> None:
    files = [p for p in demo_dir().rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 1.5e6
    readme = (demo_dir() / "README.md").read_text("utf-8")
    assert "CC BY-NC-SA 4.0" in readme and "research use" in readme


def test_data_command_prints_summary(shared_data: Path, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    assert main(["data", "--task", "LaMP_3", "--data", str(shared_data), "--split", "dev"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 251 and out["has_golds"] is True and out["n_empty_profiles"] == 0
    assert out["profile_size"]["min"] == 4 and out["profile_size"]["total"] >= 251 * 4
    assert sum(out["gold_counts"].values()) == 251 and out["golds_outside_labels"] == []


def test_data_command_error_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "dev_questions.json"
    bad.write_text('[{"id": "1", "input": "x", "profile": [{"id": "a"}]}]', encoding="utf-8")
    assert main(["data", "--task", "LaMP_7", "--data", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("r2p: error: ") and "missing field 'text'" in err
    assert err.count("\n") == 1
