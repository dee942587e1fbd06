"""`r2p generate` end to end: the fake backend and the real embedded model."""

from __future__ import annotations

import json

import pytest

from r2p.cli.main import main

SMALL = ["--opt", "threads=1", "--opt", "parallel=1", "--opt", "n_ctx=512"]


def test_generate_fake_prefill_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["generate", "--backend", "fake", "--opt", 'replies=["a b c</think> [2]"]',
               "--prefill", "<think>", "--stop", "</think>", "--json", "hello"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["text"] == "a b c" and out["finish_reason"] == "stop"
    assert out["usage"]["prompt_tokens"] == 4  # <user> hello <assistant> <think>
    assert out["backend"]["backend"] == "fake"


def test_generate_llamacpp_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["generate", *SMALL, "--prefill", "1, 2, 3, 4,", "--max-tokens", "6",
               "Count from 1 to 10."])
    assert rc == 0
    out = capsys.readouterr().out
    assert out.lstrip().startswith("5")
    assert "1, 2" not in out

    rc = main(["generate", *SMALL, "--stream", "--json", "--max-tokens", "4", "Hi"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["usage"]["completion_tokens"] == 4 and res["finish_reason"] == "length"
    assert res["backend"]["file"].endswith(".gguf") and len(res["backend"]["sha256"]) == 16


@pytest.mark.parametrize("argv, needle", [
    (["--backend", "nope", "x"], "unknown backend 'nope'; choose from: fake"),
    (["--model", "missing-dir/none.gguf", "x"], "model file not found"),
    (["--opt", "novalue", "x"], "KEY=VALUE"),
    (["--opt", "foo=1", "x"], "no option 'foo'"),
    (["--backend", "fake", "   "], "prompt is empty"),
])
def test_generate_errors_are_one_line(argv: list[str], needle: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("r2p: error: ") and needle in err
    assert len(err.strip().splitlines()) == 1
