"""The HTTP API against a live server on loopback, with the official ``openai`` client as the
real client and the fake engine driving the real method code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from r2p.backends.fake import FakeBackend
from r2p.errors import ServerUnreachableError
from r2p.serve import ApiKeys, BackgroundServer, ServeConfig
from r2p.serve.engine import FAKE_ANSWER, build_backend

Start = Callable[..., BackgroundServer]

CLIMB = "Every weekend I climb granite walls in Yosemite with my old rope team friends"
PROFILE = [
    {"id": "p1", "text": CLIMB, "timestamp": "2024-03-01"},
    {"id": "p2", "text": "Vegetarian cook: <b>spicy</b> lentils and **curries** every week"},
    {"id": "p3", "text": "Reading about alpine history and old mountain maps"},
]


def _client(srv: BackgroundServer, key: str = "none") -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.url + "/v1", api_key=key, max_retries=0, timeout=30)


def _http(srv: BackgroundServer, key: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=srv.url, headers=headers, timeout=30)


def _seed(http: httpx.Client, user: str = "ann", items: list[dict[str, Any]] = PROFILE
          ) -> None:
    r = http.post(f"/v1/users/{user}/items", json={"items": items})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("method", ["direct", "rag", "think", "hrt", "r2p"])
def test_completion_with_the_openai_client(start: Start, method: str) -> None:
    srv = start()
    _seed(_http(srv))
    resp = _client(srv).chat.completions.create(
        model=method, user="ann", messages=[{"role": "user", "content": "Plan my weekend."}])
    msg = resp.choices[0].message
    assert resp.object == "chat.completion" and resp.model == method
    assert msg.content == FAKE_ANSWER and resp.choices[0].finish_reason == "stop"
    extra = resp.model_extra or {}
    thought = getattr(msg, "reasoning_content", None)
    reasoning_tokens = resp.usage.completion_tokens_details.reasoning_tokens
    if method in ("direct", "rag"):
        assert thought is None and reasoning_tokens == 0
    else:
        assert "friendly notes" in thought and 0 < reasoning_tokens < resp.usage.completion_tokens
    if method in ("hrt", "r2p"):
        assert thought.startswith("Stage 1 - Task requirements:")
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    retrieved = extra["r2p"]["retrieved_ids"]
    assert retrieved == ([] if method == "direct" else ["p1", "p2", "p3"])
    assert extra["r2p"]["task"] == "generic"


def test_settings_reach_the_engine_and_metadata_picks_user_task_and_k(start: Start) -> None:
    fake = build_backend("fake")
    srv = start(backend=fake)
    http = _http(srv)
    _seed(http, "bob", [{"id": "r1", "text": "Great gift, arrived on time", "score": "5"},
                        {"id": "r2", "text": "Broke after a day", "score": "1"}])
    fake.calls.clear()
    resp = _client(srv).chat.completions.create(
        model="rag", max_tokens=7, temperature=0.3, seed=11,
        metadata={"user_id": "bob", "task": "LaMP_3", "k": "1"},
        messages=[{"role": "user", "content": "What is the score of the following review "
                   "on a scale of 1 to 5? review: Great gift, works well"}])
    (call,) = fake.calls
    assert (call["max_tokens"], call["temperature"], call["seed"]) == (7, 0.3, 11)
    assert "5 is the score for" in call["messages"][-1]["content"]  # the LaMP_3 shot
    assert resp.model_extra["r2p"]["task"] == "LaMP_3"
    assert resp.model_extra["r2p"]["retrieved_ids"] == ["r1"]
    fake.calls.clear()
    _client(srv).chat.completions.create(
        model="r2p", max_completion_tokens=9, temperature=0.0, seed=5, user="bob",
        messages=[{"role": "user", "content": "Say hi."}])
    answers = [c for c in fake.calls if c["prefill"] and "</think>" in c["prefill"]]
    assert answers and all(c["max_tokens"] == 9 for c in answers)
    assert fake.calls[0]["seed"] == 5


def _copying_engine() -> FakeBackend:
    """Stage 2 first copies an item word for word (RPI cuts it and injects a correction),
    then goes on in its own words."""

    def reply(messages: list[dict[str, str]], prefill: str | None) -> str:
        if prefill and "</think>" not in prefill:
            if prefill.rstrip().endswith("User profile:"):
                return f" {CLIMB} and more.\n\n"
            return " loves climbing with friends, as [P1] shows.\n\n"
        return "Climb at dawn, then cook spicy lentils."

    return FakeBackend(reply)


def test_stream_shows_the_thought_and_each_intervention_as_it_happens(start: Start) -> None:
    # text thoughts get no corrections by default (a failing check only cuts): the server's
    # method options turn them on
    srv = start(ServeConfig(backend="fake", method="hrt_rpi",
                            method_options={"max_interventions": 2}), backend=_copying_engine())
    _seed(_http(srv))
    events: list[tuple[str, Any]] = []
    stream = _client(srv).chat.completions.create(
        model="r2p-serve", user="ann", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Plan my weekend."}])
    usage = None
    for chunk in stream:
        extra = chunk.model_extra or {}
        if "r2p" in extra:
            events.append(("r2p", extra["r2p"]))
        if chunk.usage is not None:
            usage = chunk.usage
        for ch in chunk.choices:
            delta = ch.delta
            if getattr(delta, "reasoning_content", None):
                events.append(("thought", delta.reasoning_content))
            if delta.content:
                events.append(("answer", delta.content))
            if ch.finish_reason:
                events.append(("finish", ch.finish_reason))
    kinds = [k for k, _ in events]
    cut = next(i for i, (k, v) in enumerate(events) if k == "r2p"
               and v["type"] == "intervention")
    # the copied text was streamed before the intervention, the correction after it
    assert "granite walls" in "".join(v for k, v in events[:cut] if k == "thought")
    assert events[cut][1]["text"].startswith("I will not copy the items.")
    after = "".join(v for k, v in events[cut:] if k == "thought")
    assert "I will not copy the items." in after and "loves climbing" in after
    assert kinds.index("answer") > cut and "finish" in kinds[kinds.index("answer"):]
    assert "".join(v for k, v in events if k == "answer") == \
        "Climb at dawn, then cook spicy lentils."
    done = [v for k, v in events if k == "r2p" and v["type"] == "done"][0]
    assert [i["reason"] for i in done["interventions"]] == ["copy"]
    assert usage is not None and usage.completion_tokens_details.reasoning_tokens > 0


def test_by_default_a_text_thought_is_cut_not_corrected(start: Start) -> None:
    srv = start(ServeConfig(backend="fake", method="hrt_rpi"), backend=_copying_engine())
    _seed(_http(srv))
    resp = _client(srv).chat.completions.create(
        model="r2p-serve", user="ann",
        messages=[{"role": "user", "content": "Plan my weekend."}])
    extra = resp.model_extra or {}
    assert resp.choices[0].message.content == "Climb at dawn, then cook spicy lentils."
    assert extra["r2p"]["interventions"] == []
    reasoning = getattr(resp.choices[0].message, "reasoning_content", None) or ""
    assert "granite walls" not in reasoning  # the copy was cut out


def test_profile_api_round_trip_and_search(start: Start) -> None:
    srv = start()
    http = _http(srv)
    _seed(http)
    page = http.get("/v1/users/ann/items", params={"limit": 2}).json()
    assert [i["id"] for i in page["data"]] == ["p1", "p2"] and page["has_more"]
    rest = http.get("/v1/users/ann/items", params={"after": "p2"}).json()
    assert [i["id"] for i in rest["data"]] == ["p3"] and not rest["has_more"]
    r = http.get("/v1/users/ann/items/p2")
    # profile text is data: returned verbatim as JSON, never as something a browser renders
    assert r.json()["text"] == PROFILE[1]["text"]
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert http.get("/v1/users/ann/items/p1").json() == PROFILE[0]
    hits = http.post("/v1/users/ann/search", json={"query": "granite walls alpine", "k": 2}).json()
    assert hits["retriever"] == "bm25" and [h["id"] for h in hits["data"]] == ["p1", "p3"]
    assert hits["data"][0]["score"] > hits["data"][1]["score"] >= 0
    assert http.delete("/v1/users/ann/items/p1").json()["deleted"] is True
    assert http.get("/v1/users/ann/items/p1").status_code == 404
    hits = http.post("/v1/users/ann/search", json={"query": "climbing granite"}).json()
    assert "p1" not in [h["id"] for h in hits["data"]]  # the cached profile was refreshed
    gone = http.delete("/v1/users/ann").json()
    assert gone == {"id": "ann", "object": "profile.user", "deleted": True, "items_deleted": 2}
    assert http.get("/v1/users/ann/items").status_code == 404
    models = _client(srv).models.list()
    assert {"r2p", "rag", "direct", "r2p-serve"} <= {m.id for m in models.data}
    assert http.get("/health").json()["status"] == "ok"
    assert "/v1/chat/completions" in http.get("/openapi.json").json()["paths"]


def _error(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert "Traceback" not in r.text
    if code is not None:
        assert body["error"]["code"] == code
    return body["error"]


def test_bad_input_gets_openai_errors_and_writes_nothing(start: Start) -> None:
    srv = start(ServeConfig(backend="fake", max_batch_items=5, max_body_bytes=64 * 1024))
    http = _http(srv)
    _seed(http)
    hdr = {"content-type": "application/json"}
    _error(http.post("/v1/chat/completions", content=b'{"model": "r2p", ', headers=hdr), 400)
    _error(http.post("/v1/chat/completions", json={"model": "rag", "messages": "hi"}), 400)
    _error(http.post("/v1/chat/completions", json={"model": "rag", "messages": [
        {"role": "user", "content": "x"}], "temperature": "hot"}), 400)
    _error(http.post("/v1/chat/completions", json={"model": "nope", "messages": [
        {"role": "user", "content": "x"}]}), 404, "model_not_found")
    _error(http.post("/v1/chat/completions", json={"model": "rag", "user": "nobody",
                                                   "messages": [{"role": "user",
                                                                 "content": "x"}]}),
           404, "user_not_found")
    _error(http.post("/v1/chat/completions", json={"model": "rag", "user": "ann",
                                                   "metadata": {"task": "LaMP_3"},
                                                   "messages": [{"role": "user",
                                                                 "content": "x"}]}), 400)
    _error(http.post("/v1/chat/completions", json={"model": "rag", "messages": [
        {"role": "assistant", "content": "x"}]}), 400)
    with pytest.raises(openai.NotFoundError):
        _client(srv).chat.completions.create(model="r2p", user="nobody",
                                             messages=[{"role": "user", "content": "x"}])
    before = http.get("/v1/users/ann/items").json()["data"]
    bad_batches = [
        {"items": [{"id": "n1", "text": "ok"}, {"id": "n2", "text": 5}]},      # wrong type
        {"items": [{"id": "n1", "text": "ok"}, {"id": "p1", "text": "dup"}]},  # id taken
        {"items": [{"id": f"m{i}", "text": "x"} for i in range(6)]},          # over the batch
        {"items": [{"id": "n1", "text": "ok"}, {"id": "n3", "text": "y" * 40_000}]},
        {"items": [{"id": "n1", "text": "nul\u0000"}]},
        {"items": []},
        {"items": [{"id": "n1"}]},
    ]
    statuses = [http.post("/v1/users/ann/items", json=b).status_code for b in bad_batches]
    assert statuses == [400, 409, 413, 413, 400, 400, 400]
    r = http.post("/v1/users/ann/items", content=b"x" * 70_000, headers=hdr)
    _error(r, 413, "request_too_large")
    assert http.get("/v1/users/ann/items").json()["data"] == before
    _error(http.post("/v1/users/ann/search", json={"query": "x", "k": 0}), 400)
    _error(http.get("/v1/users/ann/items", params={"after": "zzz"}), 400)
    _error(http.get("/v1/nowhere"), 404)


def test_backend_down_is_a_503_in_openai_shape(start: Start) -> None:
    down = FakeBackend([ServerUnreachableError("connection refused: http://gpu1:8000/v1")] * 2)
    srv = start(backend=down)
    with pytest.raises(openai.InternalServerError) as err:
        _client(srv).chat.completions.create(model="rag",
                                             messages=[{"role": "user", "content": "x"}])
    assert err.value.status_code == 503
    assert err.value.body["code"] == "backend_unavailable"
    stream = _client(srv).chat.completions.create(
        model="rag", stream=True, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.APIError, match="unavailable"):
        list(stream)


def test_every_endpoint_keeps_tenants_apart(start: Start) -> None:
    from .conftest import KEY_A, KEY_B, KEYS

    srv = start(keys=ApiKeys.parse(KEYS))
    a, b = _http(srv, KEY_A), _http(srv, KEY_B)
    _seed(a)
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/v1/users/ann/items", None),
        ("GET", "/v1/users/ann/items/p1", None),
        ("POST", "/v1/users/ann/search", {"query": "climb"}),
        ("DELETE", "/v1/users/ann/items/p1", None),
        ("DELETE", "/v1/users/ann", None),
        ("POST", "/v1/chat/completions", {"model": "rag", "user": "ann",
                                          "messages": [{"role": "user", "content": "x"}]}),
    ]
    for verb, path, body in calls:
        _error(b.request(verb, path, json=body), 404)
        _error(_http(srv).request(verb, path, json=body), 401, "invalid_api_key")
        _error(_http(srv, "wrong-key-123456").request(verb, path, json=body), 401)
    # beta's own "ann" is another user; acme's is untouched
    _seed(b, items=[{"id": "b1", "text": "beta's ann"}])
    assert [i["id"] for i in b.get("/v1/users/ann/items").json()["data"]] == ["b1"]
    assert [i["id"] for i in a.get("/v1/users/ann/items").json()["data"]] == ["p1", "p2", "p3"]
    with pytest.raises(openai.AuthenticationError):
        _client(srv, "wrong-key-123456").models.list()
    assert _client(srv, KEY_A).models.list().data
    assert _http(srv).get("/health").status_code == 200


def test_keys_are_hashed_and_validated() -> None:
    from r2p.errors import ConfigError
    from r2p.serve.keys import hash_line

    keys = ApiKeys.parse(f"acme:secret-key-1\n# comment\n{hash_line('beta', 'secret-key-2')}")
    assert keys.tenant_of("secret-key-1") == "acme" and keys.tenant_of("secret-key-2") == "beta"
    assert "secret-key-1" not in repr(vars(keys))
    for bad in ("acme", "acme:short", "bad tenant:secret-key-1", ":secret-key-1"):
        with pytest.raises(ConfigError) as err:
            ApiKeys.parse(bad)
        assert "secret" not in str(err.value)


def test_no_key_means_loopback_only() -> None:
    from r2p.serve.server import bind_host

    assert bind_host(ServeConfig(host="0.0.0.0"), ApiKeys()) == "127.0.0.1"
    assert bind_host(ServeConfig(host="::1"), ApiKeys()) == "::1"
    assert bind_host(ServeConfig(host="0.0.0.0"), ApiKeys.parse("a:key-123456789")) == "0.0.0.0"


def test_a_client_that_goes_away_stops_the_method(start: Start) -> None:
    import time

    from r2p.serve.engine import fake_reply

    calls: list[str | None] = []

    def slow(messages: list[dict[str, str]], prefill: str | None) -> str:
        calls.append(prefill)
        time.sleep(0.4)
        return fake_reply(messages, prefill)

    srv = start(backend=FakeBackend(slow))
    _seed(_http(srv))
    body = {"model": "r2p", "user": "ann", "stream": True,
            "messages": [{"role": "user", "content": "Plan my weekend."}]}
    with httpx.stream("POST", srv.url + "/v1/chat/completions", json=body, timeout=30) as r:
        for line in r.iter_lines():
            if "reasoning_content" in line:
                break
    time.sleep(1.5)
    assert len(calls) == 1  # a full answer takes 3 engine calls


def test_a_users_synthesis_is_written_once_and_rewritten_when_the_profile_changes(
        start: Start) -> None:
    fake = build_backend("fake")
    srv = start(ServeConfig(backend="fake"), backend=fake)  # the server's default: "user"
    http = _http(srv)
    _seed(http)

    def stage2_calls(content: str, model: str = "r2p") -> int:
        fake.calls.clear()
        resp = _client(srv).chat.completions.create(
            model=model, user="ann", messages=[{"role": "user", "content": content}])
        assert resp.choices[0].message.content == FAKE_ANSWER
        return sum(1 for c in fake.calls if (c["prefill"] or "").rstrip().endswith(
            "User profile:"))

    assert stage2_calls("Plan my weekend.") == 1
    assert stage2_calls("What should I cook tonight?") == 0  # reused
    _seed(http, items=[{"id": "p4", "text": "Started learning the cello this winter"}])
    assert stage2_calls("Plan my weekend.") == 1  # a new profile version
    assert stage2_calls("Any book for the train?") == 0
    # hrt_rpi writes stage 2 as r2p does (SRM comes after it): the same synthesis; hrt does
    # not check it (no RPI): its own
    assert stage2_calls("Any film tonight?", "hrt_rpi") == 0
    assert stage2_calls("Any song?", "hrt") == 1 and stage2_calls("Any game?", "hrt") == 0
    # per request when the server says so
    srv = start(ServeConfig(backend="fake", synthesis="query"), backend=fake)
    _seed(http := _http(srv))
    assert stage2_calls("Plan my weekend.") == stage2_calls("Any book?") == 1


def test_a_streamed_thought_shows_the_users_synthesis_written_then_reused(start: Start) -> None:
    srv = start()
    _seed(_http(srv))

    def streamed() -> tuple[str, list[dict[str, Any]]]:
        thought, events = "", []
        for chunk in _client(srv).chat.completions.create(
                model="r2p", user="ann", stream=True,
                messages=[{"role": "user", "content": "Plan my weekend."}]):
            extra = chunk.model_extra or {}
            if "r2p" in extra:
                events.append(extra["r2p"])
            for ch in chunk.choices:
                thought += getattr(ch.delta, "reasoning_content", None) or ""
        return thought, events

    thought, events = streamed()
    # written under its own prompt: the query's thought is a new one, not an intervention
    assert [e["type"] for e in events if e["type"] in ("thought", "intervention")] == \
        ["thought"]
    assert "friendly notes, as [P1] shows." in thought  # as written over the history sample
    assert "friendly notes, as [H1] shows." in thought  # as the query's thought holds it
    again, events = streamed()
    assert not [e for e in events if e["type"] in ("thought", "intervention")]
    assert again.startswith("Stage 1 - Task requirements:") and "[H1] shows." in again
