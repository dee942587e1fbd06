"""Time limits of the HTTP client: a hung server, a server trickling bytes and a stalled stream
are given up on within the connect / read-stall / total limits, timed-out requests are retried
once only, and a run stops after two samples in a row timed out. Budget: ~10 s."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from _faultserver import FaultServer

from r2p.backends._http import Timeouts
from r2p.backends.openai import OpenAIBackend
from r2p.cli.main import main
from r2p.errors import ServerTimeoutError
from r2p.runner.store import Store

MSGS = [{"role": "user", "content": "hi"}]


def test_defaults_a_person_at_a_terminal_accepts() -> None:
    b = OpenAIBackend("http://127.0.0.1:9/v1", "m")
    assert b.timeouts == Timeouts(connect=5.0, read=60.0, total=300.0)
    t = b._client.timeout
    assert (t.connect, t.read, t.write, t.pool) == (5.0, 60.0, 60.0, 300.0)
    small = OpenAIBackend("http://127.0.0.1:9/v1", "m", timeout=2).timeouts.httpx()
    assert (small.connect, small.read) == (2, 2)  # no single wait beyond the total


def test_a_hung_server_is_given_up_on_after_two_read_stalls() -> None:
    with FaultServer("hang") as srv:
        b = OpenAIBackend(srv.url, "m", read_timeout=0.4, max_retries=3, retry_backoff=0.01)
        t0 = time.monotonic()
        with pytest.raises(ServerTimeoutError, match=r"after 2 attempt.*no answer within 0\.4 s"):
            b.generate(MSGS)
        assert time.monotonic() - t0 < 3 and srv.requests == 2  # not 4 attempts


def test_a_trickling_server_is_bounded_by_the_total_limit() -> None:
    with FaultServer("slow") as srv:  # one byte every 0.5 s: the read limit never fires
        b = OpenAIBackend(srv.url, "m", timeout=1.2, read_timeout=5, max_retries=0)
        t0 = time.monotonic()
        with pytest.raises(ServerTimeoutError, match=r"longer than 1\.2 s"):
            b.generate(MSGS)
        assert time.monotonic() - t0 < 3 and srv.requests == 1


def test_a_stream_is_bounded_too() -> None:
    with FaultServer("slow") as srv:
        b = OpenAIBackend(srv.url, "m", timeout=1.0, read_timeout=5)
        t0 = time.monotonic()
        with pytest.raises(ServerTimeoutError, match="stream took longer than 1 s"):
            list(b.stream(MSGS))
        assert time.monotonic() - t0 < 3
    with FaultServer("hang") as srv:
        with pytest.raises(ServerTimeoutError):
            list(OpenAIBackend(srv.url, "m", read_timeout=0.3, max_retries=0).stream(MSGS))


def test_a_connect_timeout_counts_as_unreachable() -> None:
    def never(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    b = OpenAIBackend("http://10.255.255.1:9/v1", "m", connect_timeout=0.1, max_retries=1,
                      retry_backoff=0.01, transport=httpx.MockTransport(never))
    with pytest.raises(Exception, match=r"cannot reach .* after 2 attempt.*no connection "
                                        r"within 0\.1 s") as exc:
        b.generate(MSGS)
    assert not isinstance(exc.value, ServerTimeoutError)


def test_a_run_gives_up_on_a_hung_server_after_two_samples(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r"
    with FaultServer("hang") as srv:
        t0 = time.monotonic()
        rc = main(["run", "--task", "LaMP_7", "--data", str(shared_data), "--method", "rag",
                   "--k", "1", "--limit", "10", "--no-progress", "--backend", "openai",
                   "--model", "tiny", "--base-url", srv.url, "-b", "read_timeout=0.3",
                   "-b", "retry_backoff=0.01", "--out", str(out)])
        elapsed = time.monotonic() - t0
    assert rc == 1 and elapsed < 5
    err = capsys.readouterr().err
    # one sample in flight at a time: nothing else started once the run decided to stop
    assert "2 samples in a row found no server (2 timed out); stopping (8 not attempted" in err
    with Store(tmp_path / ".r2p-store.sqlite") as st:
        assert Counter(status for *_, status in st.rows()) == {"failed": 2}
    records = json.loads((out / "metrics.json").read_text())
    assert records["n"] == 0 and records["n_failed"] == 10
