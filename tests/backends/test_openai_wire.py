"""Wire format and error translation of the ``openai`` backend, with :class:`httpx.MockTransport`.

Covers the server kinds that cannot run here (vLLM/SGLang, DeepSeek, reasoning parsers) and the
failure paths (429 then success, 5xx, garbage, 4xx).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from r2p.backends._http import ServerPool
from r2p.backends.openai import OpenAIBackend
from r2p.errors import (
    BackendError,
    BadResponseError,
    ConfigError,
    ContextLengthError,
    ModelNotFoundError,
    RateLimitError,
    ServerUnreachableError,
)

MSGS = [{"role": "user", "content": "hi"}]
URL = "http://gpu:8000/v1"


def chat(content: str | None, *, reasoning: dict[str, str] | None = None,
         usage: dict[str, Any] | None = None, finish: str = "stop") -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": content, **(reasoning or {})}
    return {"choices": [{"index": 0, "message": msg, "finish_reason": finish}],
            "usage": usage or {"prompt_tokens": 7, "completion_tokens": 2}}


class Server:
    """A scripted server: ``routes`` maps a path to a list of replies (or one callable)."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = routes
        self.seen: list[tuple[str, dict[str, Any] | None, httpx.Request]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.seen.append((request.url.path, body, request))
        route = self.routes.get(request.url.path)
        if route is None:
            return httpx.Response(404, json={"error": {"message": "no such endpoint"}})
        reply = route(body) if callable(route) else route.pop(0) if isinstance(route, list) \
            else route
        if isinstance(reply, httpx.Response):
            return reply
        return httpx.Response(200, json=reply)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [b for p, b, _ in self.seen if p == path and b is not None]


def backend(server: Callable[[httpx.Request], httpx.Response], **kw: Any) -> OpenAIBackend:
    kw.setdefault("retry_backoff", 0.001)
    return OpenAIBackend(URL, "m", transport=httpx.MockTransport(server), **kw)


def test_continue_final_message_wire_format() -> None:
    srv = Server({"/v1/chat/completions": [chat(" world")]})
    c = backend(srv, prefill_mode="continue_final_message").generate(
        MSGS, prefill="Hello", max_tokens=5, stop=["\n"], seed=3, temperature=0.5)
    body = srv.bodies("/v1/chat/completions")[0]
    assert body["messages"][-1] == {"role": "assistant", "content": "Hello"}
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["stop"] == ["\n"] and body["seed"] == 3 and body["max_tokens"] == 5
    assert body["model"] == "m" and body["temperature"] == 0.5
    assert c.text == " world"  # vLLM does not echo the prefill


def test_prefix_mode_marks_assistant_message() -> None:
    srv = Server({"/v1/chat/completions": [chat(" world")]})
    backend(srv, prefill_mode="prefix").generate(MSGS, prefill="Hello")
    body = srv.bodies("/v1/chat/completions")[0]
    assert body["messages"][-1] == {"role": "assistant", "content": "Hello", "prefix": True}
    assert "continue_final_message" not in body


def test_trailing_assistant_strips_echoed_prefix() -> None:
    srv = Server({"/v1/chat/completions": [chat("Hello world"), chat("Hi world")]})
    b = backend(srv, prefill_mode="trailing_assistant")
    assert b.generate(MSGS, prefill="Hello").text == " world"
    assert b.generate(MSGS, prefill="Hello").text == "Hi world"  # no echo: left alone


def test_no_prefill_sends_messages_unchanged() -> None:
    srv = Server({"/v1/chat/completions": [chat("yo")]})
    backend(srv, prefill_mode="prefix").generate(MSGS)
    body = srv.bodies("/v1/chat/completions")[0]
    assert body["messages"] == MSGS and "n" not in body and "seed" not in body


@pytest.mark.parametrize("props, mode", [
    (httpx.Response(404, text="not found"), "continue_final_message"),
    ({"default_generation_settings": {}, "total_slots": 4}, "trailing_assistant"),
])
def test_auto_mode_probes_props_once(props: Any, mode: str) -> None:
    srv = Server({"/props": [props], "/v1/chat/completions": lambda b: chat("x")})
    b = backend(srv)
    b.generate(MSGS, prefill="P")
    b.generate(MSGS, prefill="P")
    assert b.resolved_prefill_mode() == mode
    assert [p for p, _, _ in srv.seen].count("/props") == 1


def test_raw_completions_with_vllm_tokenize() -> None:
    def tokenize(body: dict[str, Any]) -> dict[str, Any]:
        return {"tokens": [1, 2, 3]} if "messages" in body else {"tokens": [9]}

    srv = Server({"/props": [httpx.Response(404)], "/tokenize": tokenize,
                  "/v1/completions": lambda b: {"choices": [{"text": " ok", "index": 0,
                                                             "finish_reason": "length"}]}})
    b = backend(srv, prefill_mode="raw_completions")
    c = b.generate(MSGS, prefill="<think>")
    b.generate(MSGS, prefill="<think>")
    tok = srv.bodies("/tokenize")
    assert tok[0]["messages"] == MSGS and tok[0]["add_generation_prompt"] is True
    # the think tags are asked for once (does the template already open a thought?), then
    # the prefill itself, once per call
    assert {"model": "m", "prompt": "<think>", "add_special_tokens": False} in tok
    assert [t.get("prompt") for t in tok[1:]] == ["<think>\n", "<think>", "<think>", "<think>"]
    assert len([t for t in tok if "messages" in t]) == 1  # the rendered template is cached
    assert srv.bodies("/v1/completions")[0]["prompt"] == [1, 2, 3, 9]
    assert c.text == " ok" and c.finish_reason == "length"


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_field_goes_to_reasoning(field: str) -> None:
    srv = Server({"/v1/chat/completions": [chat("[2]", reasoning={field: "because"})]})
    c = backend(srv, native_reasoning=True).generate(MSGS)
    assert (c.text, c.reasoning) == ("[2]", "because")


def test_inline_think_split_only_for_native_reasoning() -> None:
    srv = Server({"/v1/chat/completions": lambda b: chat("mull</think> [1]")})
    c = backend(srv, native_reasoning=True).generate(MSGS)
    assert (c.text, c.reasoning) == ("[1]", "mull")
    c = backend(srv).generate(MSGS, prefill="<think>")  # the caller's prefill owns the tags
    assert (c.text, c.reasoning) == ("mull</think> [1]", "")


def test_usage_cached_tokens_from_details_or_timings() -> None:
    srv = Server({"/v1/chat/completions": [
        chat("a", usage={"prompt_tokens": 50, "completion_tokens": 1,
                         "prompt_tokens_details": {"cached_tokens": 40}}),
        {**chat("b", usage={"prompt_tokens": 50, "completion_tokens": 1}),
         "timings": {"cache_n": 45, "prompt_n": 5}},
    ]})
    b = backend(srv)
    assert b.generate(MSGS).usage.cached_tokens == 40
    u = b.generate(MSGS).usage
    assert (u.prompt_tokens, u.cached_tokens, u.evaluated_tokens) == (50, 45, 5)


def test_n_choices_in_index_order() -> None:
    reply = {"choices": [{"index": 1, "message": {"content": "B"}, "finish_reason": "length"},
                         {"index": 0, "message": {"content": "A"}, "finish_reason": "stop"}]}
    srv = Server({"/v1/chat/completions": [reply]})
    c = backend(srv).generate(MSGS, n=2)
    assert [ch.text for ch in c.choices] == ["A", "B"] and c.text == "A"
    assert c.choices[1].finish_reason == "length"
    assert srv.bodies("/v1/chat/completions")[0]["n"] == 2


def test_429_is_retried_then_succeeds() -> None:
    srv = Server({"/v1/chat/completions": [
        httpx.Response(429, json={"error": {"message": "slow down"}}),
        httpx.Response(503, text="overloaded", headers={"retry-after": "0"}),
        chat("finally")]})
    assert backend(srv).generate(MSGS).text == "finally"
    assert len(srv.seen) == 3


def test_429_forever_is_rate_limit_error_after_bounded_retries() -> None:
    srv = Server({"/v1/chat/completions": lambda b: httpx.Response(429, text="busy")})
    with pytest.raises(RateLimitError, match="after 3 attempt"):
        backend(srv, max_retries=2).generate(MSGS)
    assert len(srv.seen) == 3


def test_500_garbage_is_bad_response_after_retries() -> None:
    srv = Server({"/v1/chat/completions": lambda b: httpx.Response(500, text="<html>oops")})
    with pytest.raises(BadResponseError, match="HTTP 500.*oops"):
        backend(srv, max_retries=1).generate(MSGS)
    assert len(srv.seen) == 2


@pytest.mark.parametrize("reply, match", [
    (httpx.Response(200, text="not json"), "not JSON"),
    ({"choices": []}, "no choices"),
    ({"object": "chat.completion"}, "no choices"),
    ({"choices": [{"index": 0}]}, "without message"),
    ({"choices": [{"index": 0, "message": {"content": 5}}]}, "not text"),
])
def test_malformed_200_is_bad_response(reply: Any, match: str) -> None:
    srv = Server({"/v1/chat/completions": lambda b: reply})
    with pytest.raises(BadResponseError, match=f"after 3 attempt.*{match}"):
        backend(srv, max_retries=2).generate(MSGS)
    assert len(srv.seen) == 3  # a malformed answer is retried like a 5xx


@pytest.mark.parametrize("message", [{"role": "assistant", "content": None},
                                     {"role": "assistant"}])
def test_answer_without_text_is_a_bad_response_after_retries(message: dict[str, Any]) -> None:
    reply = {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
             "usage": {"prompt_tokens": 5, "completion_tokens": 0}}
    srv = Server({"/v1/chat/completions": lambda b: reply})
    with pytest.raises(BadResponseError, match="after 2 attempt.*no text and no reasoning"):
        backend(srv, max_retries=1).generate(MSGS)
    assert len(srv.seen) == 2
    srv = Server({"/v1/chat/completions": [reply, chat("at last")]})
    assert backend(srv).generate(MSGS).text == "at last"  # retried, then a good answer


def test_completions_answer_without_text_is_a_bad_response() -> None:
    srv = Server({"/v1/completions": lambda b: {"choices": [{"index": 0, "text": None}]},
                  "/tokenize": lambda b: {"tokens": [1, 2]}})
    with pytest.raises(BadResponseError, match="no text"):
        backend(srv, prefill_mode="raw_completions", max_retries=0).generate(MSGS, prefill="x")


def test_reasoning_that_spent_max_tokens_is_a_legitimate_empty_answer() -> None:
    srv = Server({"/v1/chat/completions": lambda b: chat(
        None, reasoning={"reasoning_content": "a long thought"}, finish="length")})
    c = backend(srv, native_reasoning=True).generate(MSGS, max_tokens=8)
    assert (c.text, c.reasoning, c.finish_reason) == ("", "a long thought", "length")
    assert len(srv.seen) == 1
    # an empty string is an answer (e.g. a stop string came first), not a missing one
    srv = Server({"/v1/chat/completions": lambda b: chat("")})
    assert backend(srv).generate(MSGS, prefill="<think>", stop=["</think>"]).text == ""


@pytest.mark.parametrize("status, body, err", [
    (404, {"error": {"message": "The model `m` does not exist.", "code": "model_not_found"}},
     ModelNotFoundError),
    (400, {"error": {"message": "This model's maximum context length is 4096 tokens"}},
     ContextLengthError),
    (400, {"error": {"message": "request exceeds the available context size",
                     "type": "exceed_context_size_error"}}, ContextLengthError),
    (401, {"error": {"message": "bad key"}}, BackendError),
])
def test_client_errors_fail_at_once(status: int, body: Any, err: type[Exception]) -> None:
    srv = Server({"/v1/chat/completions": lambda b: httpx.Response(status, json=body)})
    with pytest.raises(err):
        backend(srv).generate(MSGS)
    assert len(srv.seen) == 1  # no retry for 4xx


def test_api_key_from_named_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-123")
    srv = Server({"/v1/chat/completions": lambda b: chat("x")})
    backend(srv, api_key_env="MY_KEY").generate(MSGS)
    assert srv.seen[-1][2].headers["authorization"] == "Bearer sk-123"
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    backend(srv).generate(MSGS)
    assert "authorization" not in srv.seen[-1][2].headers


def _sse(events: list[dict[str, Any]]) -> httpx.Response:
    text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})


def test_stream_reasoning_deltas_inline_then_split() -> None:
    def delta(**d: str) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": d, "finish_reason": None}]}

    events = [delta(reasoning_content="think "), delta(reasoning_content="hard"),
              delta(content="[3]"),
              {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
              {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}}]
    srv = Server({"/v1/chat/completions": [_sse(events)]})
    s = backend(srv, native_reasoning=True).stream(MSGS)
    assert "".join(s) == "<think>think hard</think>[3]"
    r = s.result()
    assert (r.text, r.reasoning, r.finish_reason) == ("[3]", "think hard", "stop")
    assert r.usage.prompt_tokens == 9
    body = srv.bodies("/v1/chat/completions")[0]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_stream_strips_echoed_prefix() -> None:
    events = [{"choices": [{"index": 0, "delta": {"content": c}}]}
              for c in ("Hel", "lo", " wor", "ld")]
    srv = Server({"/v1/chat/completions": [_sse(events)]})
    s = backend(srv, prefill_mode="trailing_assistant").stream(MSGS, prefill="Hello")
    assert "".join(s) == " world"


def test_stream_error_event_is_bad_response() -> None:
    srv = Server({"/v1/chat/completions": [_sse([{"error": {"message": "boom"}}])]})
    with pytest.raises(BadResponseError, match="boom"):
        list(backend(srv).stream(MSGS))


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="choose from"):
        OpenAIBackend(URL, "m", prefill_mode="magic")
    with pytest.raises(ConfigError, match="not an http"):
        OpenAIBackend("gpu:8000", "m")
    with pytest.raises(ConfigError, match="empty"):
        OpenAIBackend([], "m")


def test_urls_normalized_and_identity() -> None:
    b = OpenAIBackend(["http://a:1", "http://b:2/v1/"], "m")
    assert b.base_urls == ["http://a:1/v1", "http://b:2/v1"]
    assert b.identity() == {"backend": "openai", "base_url": ["http://a:1/v1", "http://b:2/v1"],
                            "model": "m"}
    assert b.name == "openai" and b.native_reasoning is False


def test_pool_round_robin_and_recovery() -> None:
    pool = ServerPool(["a", "b", "c"], down_s=0.0)
    assert [pool.pick() for _ in range(4)] == ["a", "b", "c", "a"]
    pool = ServerPool(["a", "b"], down_s=60.0)
    pool.mark_down("a", "refused")
    assert {pool.pick() for _ in range(3)} == {"b"}
    assert not pool.any_healthy(besides="b")
    pool.mark_up("a")
    assert {pool.pick() for _ in range(2)} == {"a", "b"}


class _BrokenStream(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield b'data: {"choices": [{"index": 0, "delta": {"content": "partial"}}]}\n\n'
        raise httpx.ReadError("connection reset")


def test_connection_lost_mid_stream_is_unreachable_error() -> None:
    srv = Server({"/v1/chat/completions": [httpx.Response(200, stream=_BrokenStream())]})
    s = backend(srv).stream(MSGS)
    got: list[str] = []
    with pytest.raises(ServerUnreachableError, match="mid-stream"):
        got.extend(s)  # keeps the chunks that arrived before the break
    assert got == ["partial"]


def test_base_url_query_is_kept_on_every_request_and_redacted_in_identity() -> None:
    srv = Server({"/v1/chat/completions": lambda b: chat("x")})
    b = OpenAIBackend("http://u:pw@gpu:8000/v1/?api-version=2&api_key=k1", "m",
                      transport=httpx.MockTransport(srv))
    assert b.generate(MSGS).text == "x"
    url = srv.seen[-1][2].url
    assert url.path == "/v1/chat/completions" and url.params["api-version"] == "2"
    assert url.params["api_key"] == "k1"
    assert b.identity()["base_url"] == "http://***@gpu:8000/v1?api-version=2&api_key=***"


def test_one_settings_object_is_the_same_wire_request_as_keywords() -> None:
    from r2p.backends.base import GenerationSettings

    srv = Server({"/v1/chat/completions": [chat("a"), chat("a")]})
    b = backend(srv, prefill_mode="continue_final_message")
    b.generate(MSGS, prefill="Hi", max_tokens=5, temperature=0.5, top_p=0.9, stop=["\n"],
               n=2, seed=3, top_logprobs=4)
    b.generate(MSGS, prefill="Hi", settings=GenerationSettings(
        max_tokens=5, temperature=0.5, top_p=0.9, stop=("\n",), n=2, seed=3, top_logprobs=4))
    first, second = srv.bodies("/v1/chat/completions")
    assert first == second
    assert (first["n"], first["seed"], first["top_p"], first["top_logprobs"]) == (2, 3, 0.9, 4)
    assert first["logprobs"] is True and first["stop"] == ["\n"]
