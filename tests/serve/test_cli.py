"""``r2p serve`` from the command line: flags checked before anything loads, one-line errors,
and a real server process answering on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

R2P = [sys.executable, "-m", "r2p.cli.main"]


def _run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*R2P, *args], capture_output=True, text=True, input=stdin,
                          timeout=60, env={**os.environ, "R2P_API_KEYS": ""})


def test_help_and_bad_flags_are_one_line() -> None:
    r = _run("serve", "--help")
    assert r.returncode == 0 and "--base-url" in r.stdout and "--api-keys" in r.stdout
    for args, words in [(["--backend", "nope"], "unknown backend 'nope'"),
                        (["--backend", "fake", "--retriever", "nope"], "unknown retriever"),
                        (["--backend", "fake", "--k", "-1"], "serve option k"),
                        (["--backend", "fake", "--method-opt", "bogus=1"], "bogus"),
                        (["--backend", "fake", "--store", "mysql://h/db"], "only SQLite"),
                        (["--backend", "fake", "--api-keys", "/nonexistent/keys"],
                         "cannot read")]:
        r = _run("serve", *args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.startswith("r2p: error:") and words in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_hash_key_prints_a_keys_file_line() -> None:
    r = _run("serve", "--hash-key", "acme", stdin="my-secret-key-1\n")
    assert r.returncode == 0 and r.stdout.startswith("acme:sha256:")
    assert "my-secret-key-1" not in r.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_without_keys_listens_on_loopback_only(tmp_path: Path) -> None:
    port = _free_port()
    store = tmp_path / "profiles.sqlite"
    proc = subprocess.Popen(
        [*R2P, "serve", "--backend", "fake", "--method", "rag", "--host", "0.0.0.0",
         "--port", str(port), "--store", str(store), "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "R2P_API_KEYS": ""})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert r.json()["backend"] == "fake" and r.json()["store"] == "sqlite"
        base = f"http://127.0.0.1:{port}/v1"
        r = httpx.post(f"{base}/users/ann/items",
                       json={"items": [{"id": "1", "text": "I like tea"}]})
        assert r.status_code == 201
        r = httpx.post(f"{base}/chat/completions", timeout=30,
                       json={"model": "r2p-serve", "user": "ann",
                             "messages": [{"role": "user", "content": "A drink?"}]})
        assert r.status_code == 200 and r.json()["r2p"]["method"] == "rag"
        assert store.exists()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert "no API key configured: listening on 127.0.0.1 instead of 0.0.0.0" in err
    assert "Traceback" not in err
