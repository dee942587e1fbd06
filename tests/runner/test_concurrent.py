"""Several ``r2p run`` processes on one record store (two of them on one run directory): one
success per key whatever the number of writers, every process writes the answers the store
serves (even when sampling makes each process's own answers differ), and no writer trips over
another's temporary files. Budget: ~10 s."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _preds(out: Path) -> dict[str, str]:
    return {g["id"]: g["output"] for g in json.loads((out / "predictions.json").read_text())["golds"]}


def test_three_processes_one_store_one_record_per_key(shared_data: Path, tmp_path: Path) -> None:
    n = 12
    store = tmp_path / "shared.sqlite"
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}

    def start(out: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, str(HERE / "_support.py"), "run", "--task", "LaMP_7", "--data",
             str(shared_data), "--method", "rag", "--k", "1", "--backend", "slowfake",
             "-b", "delay=0.05", "-b", "noisy=true", "--limit", str(n), "-c", "2",
             "--no-progress", "--store", str(store), "--out", str(tmp_path / out)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    procs = [start("a"), start("b"), start("a")]  # two of them share one run directory
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()[-2000:]
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT sample_id, record FROM records WHERE status = 'ok'").fetchall()
    per_sample = Counter(sid for sid, _ in rows)
    assert len(per_sample) == n and set(per_sample.values()) == {1}  # one record per key
    served = {sid: json.loads(rec)["answer"] for sid, rec in rows}
    assert _preds(tmp_path / "a") == served  # what every process wrote is what is stored
    assert _preds(tmp_path / "b") == served
    for out in ("a", "b"):
        assert sorted(p.name for p in (tmp_path / out).iterdir()) == [
            "config.json", "metrics.json", "predictions.json", "records.jsonl"]  # no .tmp
        records = [json.loads(line)
                   for line in (tmp_path / out / "records.jsonl").read_text().splitlines()]
        assert {r["id"]: r["answer"] for r in records} == served
