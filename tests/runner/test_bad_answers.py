"""Answers that look like successes but are not: a server that answers 200 with no text is a
failure (retried, recorded, retried again by the next run), never a scored empty answer; a
reasoning model that spent its whole budget thinking is kept but marked ``truncated``."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from _faultserver import FaultServer, reply_for

from r2p.cli.main import main
from r2p.runner.store import Store


def _argv(data: Path, out: Path, url: str, *extra: str, method: str = "rag",
          task: str = "LaMP_7") -> list[str]:
    return ["run", "--task", task, "--data", str(data), "--method", method, "--k", "1",
            "--backend", "openai", "--model", "tiny", "--base-url", url,
            "-b", "max_retries=1", "-b", "retry_backoff=0.01", "--limit", "3", "--no-progress",
            "--out", str(out), *extra]


def _records(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("fault", ["null", "nokey"])
def test_an_empty_server_answer_is_a_failure_and_a_rerun_recovers(
    shared_data: Path, tmp_path: Path, fault: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    with FaultServer(fault) as srv:
        assert main(_argv(shared_data, out, srv.url)) == 1
        assert srv.requests == 6  # every sample asked twice (max_retries=1)
    err = capsys.readouterr().err
    assert "no text and no reasoning" in err
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["n"], metrics["n_failed"]) == (0, 3)
    assert json.loads((out / "predictions.json").read_text())["golds"] == []
    with Store(tmp_path / ".r2p-store.sqlite") as st:
        assert Counter(status for *_, status in st.rows()) == {"failed": 3}

    with FaultServer("ok", port=srv.port) as healthy:
        assert main(_argv(shared_data, out, healthy.url)) == 0
    records = _records(out)
    assert len(records) == 3
    assert all(r["answer"] == r["raw_output"] and str(r["answer"]).startswith("tweet ")
               for r in records)
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["n"], metrics["n_failed"], metrics["n_truncated"]) == (3, 0, 0)


def test_an_empty_answer_is_never_repaired_into_a_label(shared_data: Path, tmp_path: Path) -> None:
    """With R2P on ratings, an empty answer used to be repaired into the user's most frequent
    rating and scored; now the sample fails and nothing is scored."""
    out = tmp_path / "r"
    with FaultServer("null") as srv:
        rc = main(_argv(shared_data, out, srv.url, "-m", "n_candidates=1", method="r2p",
                        task="LaMP_3"))
    assert rc == 1
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["n"], metrics["n_failed"]) == (0, 3)
    assert "MAE" not in metrics


def test_a_thought_that_used_up_max_tokens_is_kept_and_marked_truncated(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    with FaultServer("truncated") as srv:
        rc = main(_argv(shared_data, out, srv.url, "-b", "native_reasoning=true"))
        assert srv.requests == 3  # a legitimate answer: not retried
    assert rc == 0
    records = _records(out)
    assert [r["truncated"] for r in records] == [True, True, True]
    assert all(r["answer"] == "" and "think about this" in str(r["reasoning"]) for r in records)
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["n"], metrics["n_failed"], metrics["n_truncated"]) == (3, 0, 3)
    assert "3 sample(s) truncated" in capsys.readouterr().err


def test_truncated_is_false_for_an_ordinary_answer(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    with FaultServer("ok") as srv:
        assert main(_argv(shared_data, out, srv.url)) == 0
    records = _records(out)
    assert [r["truncated"] for r in records] == [False, False, False]
    assert all(r["answer"] == reply_for(r["prompts"][0]) for r in records)  # type: ignore[index]


@pytest.mark.parametrize("fault, says", [
    ("nonstream", "answered a stream request with a non-streaming body (application/json)"),
    ("midstream", "ended before the answer was finished"),
    ("null", "answered a stream request with a non-streaming body"),
])
def test_generate_stream_fails_like_the_non_streaming_path(
    fault: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with FaultServer(fault) as srv:
        rc = main(["generate", "--stream", "--backend", "openai", "--model", "tiny",
                   "--base-url", srv.url, "--opt", "max_retries=0", "hi"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("r2p: error: ") and err.count("\n") == 1, err
    assert says in err


def test_generate_stream_of_a_healthy_server(capsys: pytest.CaptureFixture[str]) -> None:
    with FaultServer("ok") as srv:
        rc = main(["generate", "--stream", "--backend", "openai", "--model", "tiny",
                   "--base-url", srv.url, "hi"])
    assert rc == 0 and capsys.readouterr().out == reply_for(
        {"messages": [{"role": "user", "content": "hi"}]}) + "\n"
