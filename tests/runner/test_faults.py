"""Fault injection: ``r2p run`` (openai backend) against a loopback server that returns 500s,
garbage, empty content, hangs, closes connections, cuts streams, answers streams with plain
bodies, or dies and comes back, with SIGKILL at random moments. Every scenario asserts that
nothing is lost (one record per sample, failures recorded), nothing wrong is scored (every
stored or written answer is the one an uninterrupted run gives), and that one re-run against a
healthy server converges to the uninterrupted result. A report killed while it is written keeps
the previous report whole. Seeded, bounded: about 30 s.

With ``R2P_FAULTS_SUMMARY=FILE`` the suite writes its figures (scenarios, faults injected,
kills, samples a re-run recovered) to FILE as JSON.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from _faultserver import FaultServer, free_port

from r2p.cli.main import main

N = {"rag": 8, "r2p": 3}
FIGURES: Counter[str] = Counter()


def _argv(data: Path, tmp: Path, method: str, url: str) -> list[str]:
    return ["run", "--task", "LaMP_7", "--data", str(data), "--method", method, "--k", "1",
            "--limit", str(N[method]), "--no-progress", "--backend", "openai", "--model", "tiny",
            "--base-url", url, "-b", "max_retries=1", "-b", "retry_backoff=0.01",
            "-b", "read_timeout=0.4", "-b", "timeout=3", "--out", str(tmp / "run"),
            "--store", str(tmp / "store.sqlite")]


def _preds(out: Path) -> dict[str, str]:
    return {g["id"]: g["output"]
            for g in json.loads((out / "predictions.json").read_text())["golds"]}


def _ok_rows(store: Path) -> list[tuple[str, str]]:
    if not store.exists():
        return []
    with sqlite3.connect(store) as db:
        return [(sid, json.loads(rec)["answer"]) for sid, rec in db.execute(
            "SELECT sample_id, record FROM records WHERE status = 'ok'")]


@pytest.fixture(scope="module")
def reference(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each method's predictions from an uninterrupted run against a healthy server."""
    out: dict[str, Any] = {}
    with FaultServer("ok") as srv:
        for method in N:
            tmp = tmp_path_factory.mktemp(f"ref-{method}")
            assert main(_argv(shared_data, tmp, method, srv.url)) == 0
            out[method] = _preds(tmp / "run")
            assert len(out[method]) == N[method]
    return out


def _check_nothing_wrong(tmp: Path, ref: dict[str, str]) -> int:
    """After a faulty or killed run: one success per sample at most, and every answer stored
    or written is the uninterrupted run's. Returns the number of samples done."""
    rows = _ok_rows(tmp / "store.sqlite")
    counts = Counter(sid for sid, _ in rows)
    assert all(c == 1 for c in counts.values()), counts
    assert all(ans == ref[sid] for sid, ans in rows), rows
    out = tmp / "run"
    if (out / "predictions.json").exists():
        assert all(ref[sid] == ans for sid, ans in _preds(out).items())
    if (out / "metrics.json").exists():  # (a kill may land between the two writes)
        m = json.loads((out / "metrics.json").read_text())
        assert m["n"] + m["n_failed"] == m["n_total"] == len(ref)
    return len(counts)


def _recover(data: Path, tmp: Path, method: str, port: int, ref: dict[str, str]) -> None:
    """One re-run against a healthy server converges to the uninterrupted result."""
    done_before = len(_ok_rows(tmp / "store.sqlite"))
    with FaultServer("ok", port=port) as srv:
        assert main(_argv(data, tmp, method, srv.url)) == 0
    assert _preds(tmp / "run") == ref
    rows = _ok_rows(tmp / "store.sqlite")
    assert sorted(sid for sid, _ in rows) == sorted(ref)  # one record per sample
    FIGURES["samples recovered by the re-run"] += len(ref) - done_before
    FIGURES["samples"] += len(ref)


def _faulty(seed: int, mix: dict[str, float]) -> Any:
    rng = random.Random(seed)
    lock = threading.Lock()

    def behave(n: int, body: dict[str, Any]) -> str:
        with lock:
            x = rng.random()
        for fault, p in mix.items():
            if x < p:
                return fault
            x -= p
        return "ok"

    return behave


SCENARIOS: list[tuple[str, str, dict[str, float], bool]] = [
    # name, method, faults with their probabilities per request, SIGKILL at a random moment
    ("500s", "rag", {"500": 0.5}, False),
    ("garbage bodies", "rag", {"garbage": 0.5}, False),
    ("empty content", "rag", {"null": 0.3, "nokey": 0.3}, False),
    ("hangs", "rag", {"hang": 0.4}, False),
    ("closed connections, cut bodies", "rag", {"close": 0.3, "cut": 0.3}, False),
    ("cut streams (R2P)", "r2p", {"cut": 0.25}, False),
    ("plain bodies to streams, empty content (R2P)", "r2p", {"nonstream": 0.15, "null": 0.1},
     False),
    ("a mix, killed", "rag", {"500": 0.15, "garbage": 0.1, "null": 0.1, "close": 0.1}, True),
    ("a mix, killed again", "rag", {"500": 0.1, "cut": 0.1, "hang": 0.1}, True),
    ("a mix, killed (R2P)", "r2p", {"500": 0.1, "cut": 0.1, "nonstream": 0.1}, True),
]


@pytest.mark.parametrize("name, method, mix, kill", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_fault_scenario(name: str, method: str, mix: dict[str, float], kill: bool,
                        shared_data: Path, tmp_path: Path, reference: dict[str, Any],
                        capsys: pytest.CaptureFixture[str]) -> None:
    seed = sum(map(ord, name))
    ref = reference[method]
    port = free_port()
    with FaultServer(_faulty(seed, mix), port=port, delay=0.05 if kill else 0.02) as srv:
        argv = _argv(shared_data, tmp_path, method, srv.url)
        if kill:
            proc = subprocess.Popen([sys.executable, "-m", "r2p.cli.main", *argv],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # at a random moment after the first fault, before or after the run's end
            while all(f == "ok" for f in srv.seen) and proc.poll() is None:
                time.sleep(0.01)
            time.sleep(random.Random(seed).uniform(0.0, 0.3))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            FIGURES["kills"] += 1
            done = len(_ok_rows(tmp_path / "store.sqlite"))
            FIGURES["kills before the run's end"] += proc.returncode == -signal.SIGKILL and \
                done < len(ref)
        else:
            assert main(argv) in (0, 1)  # 1: some samples failed and were recorded
        injected = sum(1 for f in srv.seen if f != "ok")
    capsys.readouterr()
    assert injected > 0, "the scenario injected no fault"
    FIGURES["faults injected"] += injected
    _check_nothing_wrong(tmp_path, ref)
    _recover(shared_data, tmp_path, method, port, ref)
    FIGURES["scenarios"] += 1
    _write_figures()


def test_server_dies_and_comes_back(shared_data: Path, tmp_path: Path,
                                    reference: dict[str, Any],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    srv = FaultServer("ok", port=port, delay=0.02)

    def bounce() -> None:
        srv.stop()
        time.sleep(0.5)
        srv.start()

    bouncer = threading.Thread(target=bounce, daemon=True)

    def behave(n: int, body: dict[str, Any]) -> str:
        if n == 3:  # die now, come back 0.5 s later
            bouncer.start()
            return "close"
        return "ok"

    srv.behave = behave
    srv.start()
    try:
        assert main(_argv(shared_data, tmp_path, "rag", srv.url)) in (0, 1)
    finally:
        if bouncer.is_alive() or bouncer.ident is not None:
            bouncer.join(10)
        srv.stop()
    capsys.readouterr()
    FIGURES["faults injected"] += 1
    _check_nothing_wrong(tmp_path, reference["rag"])
    _recover(shared_data, tmp_path, "rag", port, reference["rag"])
    FIGURES["scenarios"] += 1
    _write_figures()


def test_a_report_killed_while_written_keeps_the_previous_one(
    shared_data: Path, tmp_path: Path, reference: dict[str, Any]
) -> None:
    with FaultServer("ok") as srv:
        assert main(_argv(shared_data, tmp_path, "rag", srv.url)) == 0
    rep = tmp_path / "report"
    cmd = [sys.executable, "-m", "r2p.cli.main", "report", str(tmp_path / "run"), "--out",
           str(rep)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    before = {p.name: p.read_bytes() for p in rep.iterdir() if p.is_file()}
    rng = random.Random(3)
    for _ in range(3):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        FIGURES["kills"] += 1
        after = {p.name: p.read_bytes() for p in rep.iterdir() if p.is_file()}
        assert after == before  # whole, never half written (the same input: the same bytes)
    FIGURES["scenarios"] += 1
    _write_figures()


def _write_figures() -> None:
    path = os.environ.get("R2P_FAULTS_SUMMARY")
    if path:
        Path(path).write_text(json.dumps(dict(FIGURES), indent=2) + "\n")
