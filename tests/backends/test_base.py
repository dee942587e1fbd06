"""The backend contract: capabilities in the protocol with defaults in one base class, one
settings object per request, and the reasoning split every backend routes through."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from r2p.backends import fake as fake_mod
from r2p.backends import hf as hf_mod
from r2p.backends import llamacpp as llamacpp_mod
from r2p.backends import openai as openai_mod
from r2p.backends.base import Backend, BaseBackend, GenerationSettings, Stream
from r2p.backends.fake import FakeBackend, FakeStream
from r2p.backends.hf import HFBackend
from r2p.backends.llamacpp import LlamaCppBackend
from r2p.backends.openai import OpenAIBackend
from r2p.errors import ConfigError
from r2p.methods.common import CallLog
from r2p.methods.think import ThinkMethod
from r2p.reasoning import split_output
from r2p.runner.watch import WatchedBackend
from r2p.serve.live import LiveBackend
from r2p.tasks import get_task
from r2p.types import Completion, Message, Sample

USER = [{"role": "user", "content": "Which category fits this article?"}]


class ProtocolEngine:
    """A third-party engine that implements :class:`Backend` without the base class: it takes
    ``settings=`` only (no keywords) and records what it was given."""

    name = "third-party"
    native_reasoning = False
    thought_prefill = False
    logprobs = False

    def __init__(self, reply: str = "sports") -> None:
        self.reply = reply
        self.got: list[tuple[str | None, GenerationSettings | None]] = []

    def generate(self, messages: Sequence[Message], *, prefill: str | None = None,
                 settings: GenerationSettings | None = None) -> Completion:
        self.got.append((prefill, settings))
        return Completion(self.reply)

    def stream(self, messages: Sequence[Message], *, prefill: str | None = None,
               settings: GenerationSettings | None = None) -> Stream:
        self.got.append((prefill, settings))
        return FakeStream(Completion(self.reply))

    def identity(self) -> dict[str, Any]:
        return {"backend": self.name}

    def close(self) -> None:
        pass


# -- the settings object ---------------------------------------------------------------------

def test_settings_are_frozen_hashable_and_normalize_stop() -> None:
    s = GenerationSettings()
    assert (s.max_tokens, s.temperature, s.top_p, s.stop, s.n, s.seed, s.top_logprobs) == (
        256, 0.0, 1.0, None, 1, None, 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.max_tokens = 3  # type: ignore[misc]
    assert GenerationSettings(stop=["a", "b"]).stop == ("a", "b")
    assert GenerationSettings(stop="</think>").stop == ("</think>",)  # one string, not chars
    assert hash(GenerationSettings(stop=["a"])) == hash(GenerationSettings(stop=("a",)))


def test_of_applies_overrides_and_rejects_a_misspelt_setting() -> None:
    base = GenerationSettings(max_tokens=8, seed=1)
    assert GenerationSettings.of(base) is base
    assert GenerationSettings.of(None) == GenerationSettings()
    assert GenerationSettings.of(base, temperature=0.7) == GenerationSettings(
        max_tokens=8, seed=1, temperature=0.7)
    with pytest.raises(TypeError, match="max_token"):
        GenerationSettings.of(base, max_token=3)


def test_keywords_and_the_settings_object_make_the_same_request() -> None:
    fb = FakeBackend(["one two three", "one two three", "one two three"])
    a = fb.generate(USER, max_tokens=2, stop=["three"], seed=4)
    b = fb.generate(USER, settings=GenerationSettings(max_tokens=2, stop=("three",), seed=4))
    c = fb.generate(USER, settings=GenerationSettings(max_tokens=9, seed=4), max_tokens=2,
                    stop=["three"])  # keywords win over the object
    assert a.text == b.text == c.text == "one two "
    assert fb.calls[0] == fb.calls[1] == fb.calls[2]
    with pytest.raises(TypeError):
        fb.generate(USER, max_token=2)


def test_a_stream_takes_one_choice_and_no_token_probabilities() -> None:
    fb = FakeBackend(["a b"])
    with pytest.raises(ConfigError, match="n = 1"):
        fb.stream(USER, n=2)
    with pytest.raises(ConfigError, match="top_logprobs"):
        fb.stream(USER, settings=GenerationSettings(top_logprobs=3))
    assert fb.calls == []


def test_calllog_builds_one_settings_object_and_records_the_keywords_as_given() -> None:
    engine = ProtocolEngine()
    log = CallLog()
    log.generate(engine, USER, prefill="<think>\n", temperature=0.0, max_tokens=5,
                 stop=["</think>"])
    log.stream(engine, USER, seed=3, max_tokens=7)
    log.generate(engine, USER)
    assert engine.got == [
        ("<think>\n", GenerationSettings(max_tokens=5, stop=("</think>",))),
        (None, GenerationSettings(max_tokens=7, seed=3)),
        (None, GenerationSettings()),
    ]
    # the record is what the method asked for, in its order: the same JSON as before the
    # settings object existed (records.jsonl keeps its bytes)
    msgs = '[{"role": "user", "content": "Which category fits this article?"}]'
    assert json.dumps(log.prompts) == (
        f'[{{"messages": {msgs}, "prefill": "<think>\\n", "temperature": 0.0, '
        f'"max_tokens": 5, "stop": ["</think>"]}}, '
        f'{{"messages": {msgs}, "prefill": null, "stream": true, "seed": 3, "max_tokens": 7}}, '
        f'{{"messages": {msgs}, "prefill": null}}]')
    with pytest.raises(TypeError):
        log.generate(engine, USER, max_token=3)
    assert len(engine.got) == len(log.prompts) == 3  # refused before any call or record


# -- capabilities ------------------------------------------------------------------------------

def test_every_shipped_backend_inherits_the_capability_defaults() -> None:
    for cls in (FakeBackend, LlamaCppBackend, OpenAIBackend, HFBackend):
        assert issubclass(cls, BaseBackend)
    assert (BaseBackend.native_reasoning, BaseBackend.thought_prefill,
            BaseBackend.logprobs) == (False, False, False)
    fb = FakeBackend()
    assert (fb.native_reasoning, fb.thought_prefill, fb.logprobs) == (False, False, False)
    assert isinstance(fb, Backend)
    assert (LlamaCppBackend.thought_prefill, LlamaCppBackend.logprobs) == (True, True)
    assert (HFBackend.thought_prefill, HFBackend.logprobs) == (True, False)


def test_openai_capabilities_need_no_request() -> None:
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500)

    def make(**kw: Any) -> OpenAIBackend:
        return OpenAIBackend("http://gpu:8000/v1", "m", transport=httpx.MockTransport(server),
                             **kw)

    plain = make()
    assert (plain.native_reasoning, plain.thought_prefill, plain.logprobs) == (
        False, False, True)
    assert make(prefill_mode="raw_completions", native_reasoning=True).thought_prefill is True
    assert make(prefill_mode="raw_completions", thought_prefill=False).thought_prefill is False
    assert make(thought_prefill=True).thought_prefill is True
    assert seen == []  # no /props probe: auto never resolves to raw_completions


def test_a_protocol_engine_runs_a_method_and_is_read_directly() -> None:
    engine = ProtocolEngine("<think>[P1] reads sports</think>sports")
    assert isinstance(engine, Backend)
    engine.native_reasoning = True
    pred = ThinkMethod().predict(Sample("q", "Which category? article: the match", []),
                                 get_task("LaMP_2N"), [], engine)
    assert engine.got[0][0] is None  # native: no <think> prefill
    assert isinstance(engine.got[0][1], GenerationSettings)
    assert pred.answer == "sports" and pred.reasoning == "[P1] reads sports"


def test_an_engine_without_the_capabilities_is_not_a_backend() -> None:
    class Bare:
        name = "bare"

        def generate(self, messages: Any, **kw: Any) -> Completion:
            return Completion("x")

        def stream(self, messages: Any, **kw: Any) -> Any:
            raise NotImplementedError

        def identity(self) -> dict[str, Any]:
            return {}

        def close(self) -> None:
            pass

    assert not isinstance(Bare(), Backend)


def test_wrappers_forward_the_capabilities() -> None:
    fb = FakeBackend(["x"], native_reasoning=True, thought_prefill=True)
    for w in (WatchedBackend(fb), LiveBackend(fb, lambda kind, payload: None)):
        assert (w.native_reasoning, w.thought_prefill, w.logprobs) == (True, True, False)


# -- the reasoning split: every backend goes through split_output -------------------------------

@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def recording(text: str, **kw: Any) -> Any:
        calls.append({"text": text, **kw})
        return split_output(text, **kw)

    for mod in (fake_mod, llamacpp_mod, openai_mod, hf_mod):
        monkeypatch.setattr(mod, "split_output", recording)
    return calls


def test_fake_splits_through_split_output(spy: list[dict[str, Any]]) -> None:
    fb = FakeBackend(["[P1]</think> sports", "still thinking", "4"], native_reasoning=True)
    c = fb.generate(USER)
    assert (c.reasoning, c.text) == ("[P1]", "sports")
    assert fb.generate(USER).text == "still thinking"  # no </think>: left whole
    fb.generate(USER, prefill="<think>\n")
    assert [(s["native"], s["continued"], s["started_open"]) for s in spy] == [
        (True, False, True), (False, False, True), (False, True, True)]


def test_openai_splits_a_reasoning_field_through_split_output(
        spy: list[dict[str, Any]]) -> None:
    def server(request: httpx.Request) -> httpx.Response:
        msg = {"role": "assistant", "content": " sports", "reasoning_content": "[P1]"}
        return httpx.Response(200, json={"choices": [{"index": 0, "message": msg,
                                                      "finish_reason": "stop"}]})

    b = OpenAIBackend("http://gpu:8000/v1", "m", native_reasoning=True,
                      prefill_mode="continue_final_message",
                      transport=httpx.MockTransport(server))
    c = b.generate(USER)
    assert (c.reasoning, c.text) == ("[P1]", "sports")
    assert b.generate(USER, prefill="<think>\n").text == "[P1]</think> sports"
    assert [(s["reasoning_field"], s["continued"]) for s in spy] == [
        ("[P1]", False), ("[P1]", True)]
    assert all(not s.get("started_open") for s in spy)


def test_llamacpp_and_hf_split_through_split_output(spy: list[dict[str, Any]]) -> None:
    lm = object.__new__(LlamaCppBackend)  # the split needs no engine
    lm.native_reasoning = True
    assert lm._split("[P1]</think> 4", None) == ("4", "[P1]")
    assert lm._split("still thinking", None) == ("", "still thinking")  # the template opened it
    hf = object.__new__(HFBackend)
    hf.native_reasoning = True
    assert hf._split("<think>[P1]</think> 4") == ("4", "[P1]")
    assert hf._split(" 4", "<think>\n") == (" 4", "")
    assert [(s["started_open"] if "started_open" in s else False, s["continued"])
            for s in spy] == [(True, False), (True, False), (False, False), (False, True)]
