"""Reliability end to end through the real ``r2p`` command: a run killed with SIGKILL mid-way
and re-run records every sample exactly once with the predictions of an uninterrupted run; a
dead OpenAI-compatible server costs failure records and a non-zero exit, and the re-run after
the server is up completes. Budget: ~15 s, plus ~60 s for the embedded-model test."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from r2p.cli.main import main
from r2p.runner.store import Store

HERE = Path(__file__).resolve().parent


def _cli(args: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    return subprocess.Popen([sys.executable, str(HERE / "_support.py"), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _preds(out: Path) -> dict[str, str]:
    return {g["id"]: g["output"] for g in json.loads((out / "predictions.json").read_text())["golds"]}


def _ok_per_sample(store_path: Path) -> Counter[str]:
    with Store(store_path) as store:
        return Counter(sid for _, sid, status in store.rows() if status == "ok")


def test_sigkill_mid_run_then_resume_matches_uninterrupted(shared_data: Path, tmp_path: Path) -> None:
    n = 16
    common = ["run", "--task", "LaMP_7", "--data", str(shared_data), "--method", "rag", "--k", "2",
              "--backend", "slowfake", "--limit", str(n), "--no-progress", "-c", "2"]
    killed_store = tmp_path / "killed.sqlite"
    proc = _cli([*common, "-b", "delay=0.3", "--out", str(tmp_path / "killed"),
                 "--store", str(killed_store)])
    deadline = time.time() + 60
    while time.time() < deadline:
        if killed_store.exists() and sum(_ok_per_sample(killed_store).values()) >= 4:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    done_before = sum(_ok_per_sample(killed_store).values())
    assert 4 <= done_before < n, "the kill must land mid-run"
    assert not (tmp_path / "killed" / "predictions.json").exists()

    resumed = _cli([*common, "-b", "delay=0.3", "--out", str(tmp_path / "killed"),
                    "--store", str(killed_store)])
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err.decode()
    assert f"({done_before} from the store)" in out.decode()
    counts = _ok_per_sample(killed_store)
    assert len(counts) == n and set(counts.values()) == {1}  # every sample exactly once

    clean = _cli([*common, "-b", "delay=0.3", "--out", str(tmp_path / "clean"),
                  "--store", str(tmp_path / "clean.sqlite")])
    _, err = clean.communicate(timeout=120)
    assert clean.returncode == 0, err.decode()
    assert _preds(tmp_path / "killed") == _preds(tmp_path / "clean")
    assert len(_preds(tmp_path / "clean")) == n


class _Chat(BaseHTTPRequestHandler):
    """A minimal OpenAI-compatible chat server: answers every request with one paraphrase."""

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not self.path.endswith("/chat/completions"):
            self.send_error(404)
            return
        reply = {"id": "x", "object": "chat.completion", "model": body["model"],
                 "choices": [{"index": 0, "finish_reason": "stop",
                              "message": {"role": "assistant", "content": "a paraphrase"}}],
                 "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self.send_error(404)

    def log_message(self, *args: Any) -> None:
        pass


def test_dead_server_records_failures_then_rerun_completes(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = ["run", "--task", "LaMP_7", "--data", str(shared_data), "--method", "rag", "--k", "1",
            "--backend", "openai", "--model", "tiny", "--base-url", f"http://127.0.0.1:{port}/v1",
            "-b", "max_retries=0", "-b", "timeout=2", "--limit", "4", "--no-progress",
            "--out", str(tmp_path / "r")]
    assert main(argv) == 1  # the server is down: every sample failed, none scored
    captured = capsys.readouterr()
    assert "4 failed" in captured.out and "re-run the same command" in captured.err
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["n"] == 0 and metrics["n_failed"] == 4
    assert _preds(tmp_path / "r") == {}

    server = ThreadingHTTPServer(("127.0.0.1", port), _Chat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert main(argv) == 0
    finally:
        server.shutdown()
        server.server_close()
    assert set(_preds(tmp_path / "r").values()) == {"a paraphrase"}
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["n"] == 4 and metrics["n_failed"] == 0 and metrics["rouge-1"] > 0.0
    store = tmp_path / ".r2p-store.sqlite"
    with Store(store) as st:
        assert Counter(status for *_, status in st.rows()) == {"failed": 4, "ok": 4}


def test_a_run_stops_sending_when_no_server_answers(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Eight samples in a row without a server: the rest are not attempted, only recorded as
    pending (n_failed), and nothing is scored."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = ["run", "--task", "LaMP_7", "--data", str(shared_data), "--method", "rag", "--k", "1",
            "--backend", "openai", "--model", "tiny", "--base-url", f"http://127.0.0.1:{port}/v1",
            "-b", "max_retries=0", "-b", "timeout=2", "--limit", "20", "--no-progress",
            "--out", str(tmp_path / "r")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "8 samples in a row found no server; stopping (" in err
    with Store(tmp_path / ".r2p-store.sqlite") as st:
        statuses = Counter(status for *_, status in st.rows())
    # the sample already in flight when the run stopped still finishes and is recorded
    assert set(statuses) == {"failed"} and 8 <= statuses["failed"] <= 9
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["n"] == 0 and metrics["n_failed"] == 20


@pytest.mark.model
def test_sigkill_with_the_embedded_model(shared_data: Path, tmp_path: Path) -> None:
    """The same guarantee with the real embedded model (SmolLM2, greedy, tiny budgets)."""
    n = 5
    common = ["run", "--task", "LaMP_3", "--data", str(shared_data), "--method", "rag", "--k", "1",
              "--backend", "llamacpp", "--model", "smollm2", "-b", "n_ctx=1024",
              "-m", "max_tokens=3", "-m", "max_prompt_tokens=96", "--limit", str(n),
              "--no-progress"]
    store = tmp_path / "killed.sqlite"
    proc = _cli([*common, "--out", str(tmp_path / "killed"), "--store", str(store)])
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if store.exists() and sum(_ok_per_sample(store).values()) >= 1:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    done_before = sum(_ok_per_sample(store).values())
    assert 1 <= done_before < n, "the kill must land mid-run"
    resumed = _cli([*common, "--out", str(tmp_path / "killed"), "--store", str(store)])
    _, err = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, err.decode()[-2000:]
    counts = _ok_per_sample(store)
    assert len(counts) == n and set(counts.values()) == {1}
    clean = _cli([*common, "--out", str(tmp_path / "clean"),
                  "--store", str(tmp_path / "clean.sqlite")])
    _, err = clean.communicate(timeout=240)
    assert clean.returncode == 0, err.decode()[-2000:]
    assert _preds(tmp_path / "killed") == _preds(tmp_path / "clean")
    assert len(_preds(tmp_path / "clean")) == n
