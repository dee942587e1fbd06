"""``r2p eval`` end to end through the dispatcher (and once through the real console script)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from r2p.cli.main import main
from r2p.data import read_outputs, write_predictions
from r2p.metrics import score


def _eval(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(["eval", *argv])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_eval_real_lamp3(shared_data: Path, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    golds_path = shared_data / "LaMP_3" / "dev_outputs.json"
    _, golds = read_outputs(golds_path)
    preds = {k: ("4" if i % 3 else "bad") for i, k in enumerate(golds)}
    p = write_predictions(tmp_path / "preds.json", "LaMP_3", preds)
    per = tmp_path / "per" / "scores.jsonl"
    rc, out, err = _eval(["--golds", str(golds_path), "--preds", str(p),
                          "--per-sample", str(per)], capsys)
    assert rc == 0 and err == ""
    got = json.loads(out)
    assert got == {"task": "LaMP_3", "n": 251, **score("LaMP_3", golds, preds)}
    rows = [json.loads(line) for line in per.read_text("utf-8").splitlines()]
    assert len(rows) == 251 and {r["id"] for r in rows} == set(golds)
    assert sum(r["MAE"] for r in rows) / 251 == pytest.approx(got["MAE"])


def test_eval_infers_lamp_2n(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    golds_path = shared_data / "LaMP_2N" / "dev_outputs.json"
    rc, out, _ = _eval(["--golds", str(golds_path), "--preds", str(golds_path)], capsys)
    got = json.loads(out)
    # 3 correct answers over 3 of the 15 news categories: macro F1 = 3/15.
    assert rc == 0 and got["task"] == "LaMP_2N" and got["accuracy"] == 1.0
    assert got["f1"] == pytest.approx(3 / 15)


def test_eval_refuses_id_mismatch(shared_data: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    golds_path = shared_data / "LaMP_7" / "dev_outputs.json"
    _, golds = read_outputs(golds_path)
    preds = dict(list(golds.items())[5:])
    preds["extra-1"] = "x"
    p = write_predictions(tmp_path / "preds.json", "LaMP_7", preds)
    rc, out, err = _eval(["--golds", str(golds_path), "--preds", str(p)], capsys)
    assert rc == 2 and out == ""
    assert err.startswith("r2p: error: ") and err.count("\n") == 1
    assert "5 missing from predictions" in err and "1 extra in predictions (e.g. extra-1)" in err


def test_eval_refuses_other_task(shared_data: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    golds_path = shared_data / "LaMP_7" / "dev_outputs.json"
    _, golds = read_outputs(golds_path)
    p = write_predictions(tmp_path / "preds.json", "LaMP_4", golds)
    rc, _, err = _eval(["--golds", str(golds_path), "--preds", str(p)], capsys)
    assert rc == 2 and "predictions are for task 'LaMP_4'" in err
    rc, _, err = _eval(["--golds", str(golds_path), "--preds", str(golds_path),
                        "--task", "LaMP_3"], capsys)
    assert rc == 2 and "--task is LaMP_3" in err


def test_eval_console_script_exit_code(tmp_path: Path) -> None:
    g = write_predictions(tmp_path / "g.json", "LaMP_1", {"1": "[1]", "2": "[2]"})
    p = write_predictions(tmp_path / "p.json", "LaMP_1", {"1": "[1]"})
    cmd = [sys.executable, "-m", "r2p.cli.main", "eval", "--golds", str(g), "--preds", str(p)]
    res = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "1 missing from predictions (e.g. 2)" in res.stderr
    assert "Traceback" not in res.stderr
    p = write_predictions(tmp_path / "p.json", "LaMP_1", {"1": "[1]", "2": "[1]"})
    cmd[-1] = str(p)
    res = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0
    assert json.loads(res.stdout) == {"task": "LaMP_1", "n": 2, "accuracy": 0.5,
                                      "f1": pytest.approx(1 / 3)}
