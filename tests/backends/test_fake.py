"""FakeBackend: scripted replies, recording, stop strings, max_tokens, n, usage, streaming."""

from __future__ import annotations

import threading

import pytest

from r2p.backends.base import Backend, Stream
from r2p.backends.fake import FakeBackend, apply_limits
from r2p.errors import BackendError, ConfigError, ContextLengthError

USER = [{"role": "user", "content": "Which category fits this article?"}]


def test_list_replies_in_order_and_recorded() -> None:
    fb = FakeBackend(["first", "second"])
    assert isinstance(fb, Backend)
    assert fb.generate(USER).text == "first"
    c = fb.generate(USER, prefill="<think>", max_tokens=7, temperature=0.5, seed=3)
    assert c.text == "second"
    assert len(fb.calls) == 2
    call = fb.calls[1]
    assert call["prefill"] == "<think>" and call["max_tokens"] == 7
    assert call["temperature"] == 0.5 and call["seed"] == 3 and call["n"] == 1
    assert call["messages"] == USER
    assert fb.remaining == 0


def test_exhausted_raises_clear_error() -> None:
    fb = FakeBackend(["only"])
    fb.generate(USER)
    with pytest.raises(BackendError, match="ran out of replies after 1"):
        fb.generate(USER)


def test_scripted_exception_is_raised() -> None:
    fb = FakeBackend([ContextLengthError("too long"), "ok"])
    with pytest.raises(ContextLengthError):
        fb.generate(USER)
    assert fb.generate(USER).text == "ok"


def test_mapping_matches_messages_and_prefill() -> None:
    fb = FakeBackend({"Stage 3": "from prefill", "category": "from message"})
    assert fb.generate(USER).text == "from message"
    assert fb.generate(USER, prefill="<think>Stage 3:").text == "from prefill"
    with pytest.raises(BackendError, match="no scripted key"):
        fb.generate([{"role": "user", "content": "nothing here"}])


def test_callable_sees_messages_and_prefill() -> None:
    seen: list[tuple[int, str | None]] = []

    def script(messages: list[dict[str, str]], prefill: str | None) -> str:
        seen.append((len(messages), prefill))
        return f"echo {messages[-1]['content'].split()[0]}"

    fb = FakeBackend(script)
    assert fb.generate(USER, prefill="p").text == "echo Which"
    assert seen == [(1, "p")]


def test_stop_strings_cut_at_first() -> None:
    fb = FakeBackend(["think more</think> [2] END later"])
    c = fb.generate(USER, stop=["END", "</think>"])
    assert c.text == "think more" and c.finish_reason == "stop"


def test_max_tokens_gives_length() -> None:
    fb = FakeBackend(["a b c d e f"])
    c = fb.generate(USER, max_tokens=3)
    assert c.text == "a b c" and c.finish_reason == "length"
    assert c.usage.completion_tokens == 3
    assert apply_limits("x y", None, 0) == ("", "length")


def test_n_choices_consume_replies() -> None:
    fb = FakeBackend(["[1]", "[2]", "[3]"])
    c = fb.generate(USER, n=3)
    assert [ch.text for ch in c.choices] == ["[1]", "[2]", "[3]"]
    assert c.text == "[1]"
    with pytest.raises(ConfigError):
        fb.generate(USER, n=0)


def test_usage_cached_tokens_is_common_prefix() -> None:
    fb = FakeBackend(["x", "y", "z"])
    first = fb.generate(USER, prefill="<think> one two")
    assert first.usage.cached_tokens == 0
    assert first.usage.prompt_tokens == 1 + 5 + 1 + 3
    second = fb.generate(USER, prefill="<think> one two three")
    assert second.usage.cached_tokens == first.usage.prompt_tokens
    assert second.usage.evaluated_tokens == 1
    third = fb.generate([{"role": "user", "content": "other"}])
    assert third.usage.cached_tokens == 1  # only the role marker


def test_native_reasoning_splits_think() -> None:
    fb = FakeBackend(["<think>hmm, the user likes sports</think>[3]"], native_reasoning=True)
    c = fb.generate(USER)
    assert c.reasoning == "hmm, the user likes sports" and c.text == "[3]"
    assert fb.native_reasoning


def test_stream_yields_reply_and_result() -> None:
    fb = FakeBackend(["one two three four"])
    s = fb.stream(USER, stop=["four"])
    assert isinstance(s, Stream)
    assert "".join(s) == "one two three "
    r = s.result()
    assert r.text == "one two three " and r.finish_reason == "stop"
    assert fb.calls[0]["stream"] is True


def test_stream_close_early_aborts() -> None:
    fb = FakeBackend(["one two three four"])
    s = fb.stream(USER)
    got = []
    for chunk in s:
        got.append(chunk)
        if len(got) == 2:
            s.close()
    r = s.result()
    assert r.finish_reason == "abort"
    assert r.text == "".join(got) == "one two "
    assert r.usage.completion_tokens == 2


def test_thread_safe_list_consumption() -> None:
    fb = FakeBackend([str(i) for i in range(40)])
    out: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            t = fb.generate(USER).text
            with lock:
                out.append(t)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(out, key=int) == [str(i) for i in range(40)]
    assert len(fb.calls) == 40


def test_bad_script_type() -> None:
    with pytest.raises(ConfigError):
        FakeBackend("just a string")  # type: ignore[arg-type]
