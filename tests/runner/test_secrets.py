"""Credentials never leak: a base URL with a password and a key in its query, a secret in
``extra_body`` and a header given by environment-variable name are all used on the wire, but
no file that a run, a sweep or a report writes (the record store included) and nothing printed
holds any of them."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from _faultserver import FaultServer, free_port

from r2p.backends.openai import OpenAIBackend
from r2p.cli.main import main
from r2p.redact import redact_options, redact_text, redact_url

SECRETS = ("PW-1f3a9c", "QK-77b2e4", "BODY-5d0c1e", "HDR-9e6a2b")


def _url(port: int) -> str:
    return f"http://alice:{SECRETS[0]}@127.0.0.1:{port}/v1?api_key={SECRETS[1]}"


def _grep(root: Path, text: str) -> list[str]:
    """The files under ``root`` whose bytes contain ``text``."""
    return [str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and text.encode() in p.read_bytes()]


def test_no_written_file_and_no_printed_line_holds_a_secret(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("R2P_TEST_HEADER_KEY", SECRETS[3])
    out = tmp_path / "out"
    port = free_port()
    opts = ["-b", f'extra_body={{"api_key": "{SECRETS[2]}", "top_k": 1}}',
            "-b", 'extra_headers_env={"X-Api-Key": "R2P_TEST_HEADER_KEY"}',
            "-b", "max_retries=0", "-b", "retry_backoff=0.01"]
    run = ["run", "--task", "LaMP_7", "--data", str(shared_data), "--method", "rag", "--k", "1",
           "--limit", "2", "--no-progress", "--backend", "openai", "--model", "tiny",
           "--base-url", _url(port), *opts, "--out", str(out / "run")]
    # 1: no server at all (errors name the URL), 2: a failing server, 3: a healthy one
    assert main(run) == 1
    with FaultServer("500", port=port):
        assert main(run) == 1
    with FaultServer("ok", port=port) as srv:
        assert main(run) == 0
        sweep = tmp_path / "sweep.yaml"  # the user's own file may hold secrets; ours never
        sweep.write_text(
            f"out: {out / 'study'}\n"
            f"base: {{data: {shared_data}, limit: 1, backend: openai, model: tiny, k: 1,\n"
            f"       backend_options: {{base_url: '{_url(port)}',\n"
            f"                          extra_body: {{api_key: {SECRETS[2]}}}}}}}\n"
            "grid:\n  task: [LaMP_7]\n  method: [rag, direct]\n")
        assert main(["sweep", str(sweep), "--no-progress"]) == 0
        assert main(["generate", "--backend", "openai", "--model", "tiny", "--base-url",
                     _url(port), "--json", "hi"]) == 0
    # the secrets did go out on the wire
    basic = base64.b64encode(f"alice:{SECRETS[0]}".encode()).decode()
    assert srv.headers[0]["Authorization"] == f"Basic {basic}"
    assert srv.headers[0]["X-Api-Key"] == SECRETS[3]
    assert srv.paths[0] == f"/v1/chat/completions?api_key={SECRETS[1]}"
    assert srv.bodies[0]["api_key"] == SECRETS[2] and srv.bodies[0]["top_k"] == 1
    assert main(["report", str(out / "run"), str(out / "study"), "--out",
                 str(out / "report")]) == 0
    printed = capsys.readouterr()
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert {"run/config.json", "run/records.jsonl", ".r2p-store.sqlite", "report/report.md",
            "report/report.html", "study/summary.md",
            "study/runs/LaMP_7-rag/config.json"} <= set(written)
    assert "cannot reach http://***@127.0.0.1" in printed.err  # the failure lines, redacted
    assert "HTTP 500 from http://***@127.0.0.1" in printed.err
    assert "run/config.json" in _grep(out, "127.0.0.1")  # the grep sees what is written
    for secret in SECRETS:
        assert _grep(out, secret) == [], secret
        assert secret not in printed.out + printed.err, secret
    config = json.loads((out / "run" / "config.json").read_text())
    assert config["backend_options"]["extra_body"] == {"api_key": "***", "top_k": 1}
    assert config["backend_options"]["extra_headers_env"] == {
        "X-Api-Key": "R2P_TEST_HEADER_KEY"}  # the variable's name only


def test_redaction_rules() -> None:
    assert redact_url("https://h/v1") == "https://h/v1"
    assert redact_url("https://tok@h/v1?api-version=2&access_token=x") == \
        "https://***@h/v1?api-version=2&access_token=***"
    assert redact_text("from http://a:b@h:1/v1 after 2") == "from http://***@h:1/v1 after 2"
    assert redact_options({"max_tokens": 5, "stop_token_ids": [1], "hf_token": "x",
                           "api_key_env": "MY_KEY", "urls": ["http://u:p@h"]}) == {
        "max_tokens": 5, "stop_token_ids": [1], "hf_token": "***", "api_key_env": "MY_KEY",
        "urls": ["http://***@h"]}


def test_backend_identity_and_errors_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    b = OpenAIBackend(f"http://u:{SECRETS[0]}@127.0.0.1:{free_port()}/v1", "m", max_retries=0)
    assert b.identity()["base_url"].startswith("http://***@127.0.0.1:")
    assert SECRETS[0] not in json.dumps(b.health())
    with pytest.raises(Exception) as exc:
        b.generate([{"role": "user", "content": "hi"}])
    assert SECRETS[0] not in str(exc.value) and "***@" in str(exc.value)
    monkeypatch.delenv("R2P_NOT_SET", raising=False)
    with pytest.raises(Exception, match="R2P_NOT_SET.*is not set"):
        OpenAIBackend("http://h/v1", "m", extra_headers_env={"X-Key": "R2P_NOT_SET"})
