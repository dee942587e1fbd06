"""The ``openai`` backend against a real OpenAI-compatible server on loopback.

The server is the llama.cpp HTTP listener of the shared ``smollm2`` fixture (SmolLM2-135M);
one test starts a second, small engine of its own so it can stop it mid-run.
"""

from __future__ import annotations

import gc
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from r2p.backends.llamacpp import LlamaCppBackend
from r2p.backends.openai import OpenAIBackend
from r2p.errors import ServerUnreachableError

pytestmark = pytest.mark.model

MSGS = [{"role": "user", "content": "Say hi to me."}]
PREFILL = "Hello there, my"


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def client(smollm2: LlamaCppBackend) -> OpenAIBackend:
    b = OpenAIBackend(smollm2.base_url, "smollm2", retry_backoff=0.05)
    yield b
    b.close()


def test_chat_reply_with_usage(client: OpenAIBackend) -> None:
    c = client.generate(MSGS, max_tokens=8)
    assert c.text.strip()
    assert c.finish_reason in ("stop", "length")
    assert c.usage.prompt_tokens > 5 and 0 < c.usage.completion_tokens <= 8
    again = client.generate(MSGS, max_tokens=8)
    assert again.text == c.text  # temperature 0 is deterministic
    assert again.usage.cached_tokens > 0  # the server's prompt cache is reported


def test_auto_mode_detects_llamacpp(client: OpenAIBackend) -> None:
    assert client.server_kind() == "llamacpp"
    assert client.resolved_prefill_mode() == "trailing_assistant"


def test_prefill_trailing_assistant_and_raw_completions_agree(smollm2: LlamaCppBackend,
                                                             client: OpenAIBackend) -> None:
    plain = client.generate(MSGS, max_tokens=6).text
    cont = client.generate(MSGS, prefill=PREFILL, max_tokens=6)
    assert cont.text.strip() and not cont.text.startswith(PREFILL)  # echoed prefix stripped
    assert not plain.startswith(PREFILL)  # so the prefill did steer the reply
    with OpenAIBackend(smollm2.base_url, "smollm2", prefill_mode="raw_completions") as raw:
        rc = raw.generate(MSGS, prefill=PREFILL, max_tokens=6)
        assert rc.text == cont.text
        assert rc.usage.prompt_tokens == cont.usage.prompt_tokens
        rs = raw.stream(MSGS, prefill=PREFILL, max_tokens=6)
        assert "".join(rs) == rc.text


def test_stop_strings(client: OpenAIBackend) -> None:
    full = client.generate(MSGS, prefill=PREFILL, max_tokens=8).text
    word = full.split()[1]
    cut = client.generate(MSGS, prefill=PREFILL, max_tokens=8, stop=[word])
    assert word not in cut.text
    assert full.startswith(cut.text) and len(cut.text) < len(full)
    assert cut.finish_reason == "stop"


def test_stream_matches_generate_and_closes_early(client: OpenAIBackend) -> None:
    want = client.generate(MSGS, prefill=PREFILL, max_tokens=8)
    s = client.stream(MSGS, prefill=PREFILL, max_tokens=8)
    chunks = list(s)
    assert len(chunks) > 1 and "".join(chunks) == want.text
    assert s.result().text == want.text and s.result().usage.completion_tokens > 0

    s = client.stream(MSGS, max_tokens=60)
    seen = []
    t0 = time.perf_counter()
    for chunk in s:
        seen.append(chunk)
        if len(seen) == 2:
            s.close()
    res = s.result()
    assert res.finish_reason == "abort" and res.text == "".join(seen)
    assert time.perf_counter() - t0 < 10
    assert client.generate(MSGS, max_tokens=4).text  # the server is free again


def test_concurrent_requests_from_threads(client: OpenAIBackend) -> None:
    # prompts of growing length: each answer must come back to the thread that asked
    prompts = [[{"role": "user", "content": "Name a colour" + " please" * i + "."}]
               for i in range(4)]
    with ThreadPoolExecutor(4) as ex:
        together = list(ex.map(lambda p: client.generate(p, max_tokens=4), prompts))
    sizes = [c.usage.prompt_tokens for c in together]
    assert sizes == sorted(set(sizes)) and len(sizes) == 4
    assert all(c.text.strip() for c in together)


def test_failover_from_dead_url(smollm2: LlamaCppBackend) -> None:
    dead = _dead_url()
    with OpenAIBackend([dead, smollm2.base_url], "smollm2", retry_backoff=0.05) as b:
        t0 = time.perf_counter()
        texts = [b.generate(MSGS, max_tokens=3).text for _ in range(4)]
        assert all(texts) and time.perf_counter() - t0 < 20
        health = {h["url"]: h for h in b.health()}
        assert health[dead + "/v1"]["healthy"] is False
        assert health[dead + "/v1"]["failures"] == 1  # taken out of rotation after one refusal
        assert health[smollm2.base_url + "/v1"]["healthy"] is True


def test_server_stopped_mid_run_gives_clear_error() -> None:
    engine = LlamaCppBackend("smollm2", threads=1, parallel=1, n_ctx=256)
    b = OpenAIBackend(engine.base_url, "smollm2", max_retries=2, retry_backoff=0.05)
    try:
        assert b.generate(MSGS, max_tokens=3).text
        engine.close()
        gc.collect()
        t0 = time.perf_counter()
        with pytest.raises(ServerUnreachableError, match="after 3 attempt"):
            b.generate(MSGS, max_tokens=3)
        assert time.perf_counter() - t0 < 5
    finally:
        b.close()
        engine.close()


def test_top_logprobs_over_http_in_both_wire_shapes(smollm2: LlamaCppBackend) -> None:
    msgs = [{"role": "user", "content": "Rate 'great card, fast delivery' from 1 to 5."}]
    for mode in ("raw_completions", "trailing_assistant"):
        with OpenAIBackend(smollm2.base_url, "smollm2", prefill_mode=mode) as b:
            assert b.logprobs
            c = b.generate(msgs, prefill="Rating:", max_tokens=3, top_logprobs=4)
            tops = c.choices[0].top_logprobs
            assert tops, mode
            assert all(1 <= len(pos) <= 4 and all(lp <= 0 for _t, lp in pos) for pos in tops)
            assert b.generate(msgs, max_tokens=2).choices[0].top_logprobs is None


def test_r2p_reuses_a_users_synthesis_through_the_http_server(client: OpenAIBackend) -> None:
    from r2p.methods.r2p import R2PMethod
    from r2p.tasks import get_task
    from r2p.types import Retrieved, Sample

    task = get_task("LaMP_3")
    profile = [{"id": str(i), "text": f"gift card number {i} arrived fine", "score": "5"}
               for i in range(6)]
    preds = []
    for i in range(2):
        s = Sample(f"q{i}", "What is the score of the following review on a scale of 1 to 5? "
                   f"review: card {i} works.", profile)
        preds.append(R2PMethod(synthesis="user", srm=False, synthesis_tokens=24,
                               response_tokens=12).predict(
            s, task, [Retrieved(profile[0], 1.0, 0)], client))
    details = [next(e["detail"] for e in p.trace if e.get("name") == "user_synthesis")
               for p in preds]
    assert details[0].startswith("writing") and details[1].startswith("reused")
    assert preds[1].n_calls < preds[0].n_calls and preds[1].answer in task.labels
