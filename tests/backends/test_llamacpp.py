"""The embedded llama.cpp backend against the real SmolLM2 model (one shared engine)."""

from __future__ import annotations

import json
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest

from r2p.backends.base import Backend, Stream
from r2p.backends.llamacpp import LlamaCppBackend
from r2p.backends.models import CorruptModelError, read_gguf, resolve_model
from r2p.errors import BackendError, ConfigError, ContextLengthError, ModelNotFoundError

STORY = [{"role": "user", "content": "Write a short story about a cat who loves fishing."}]


def test_chat_generates_text_and_usage(smollm2: LlamaCppBackend) -> None:
    assert isinstance(smollm2, Backend)
    c = smollm2.generate(STORY, max_tokens=12)
    assert c.text.strip()
    assert c.finish_reason == "length"
    assert c.usage.completion_tokens == 12
    assert c.usage.prompt_tokens > 20
    assert c.seconds > 0
    assert smollm2.native_reasoning is False


def test_prefill_returns_only_continuation(smollm2: LlamaCppBackend) -> None:
    prefill = "Once upon a time, a cat named Whiskers"
    c = smollm2.generate(STORY, prefill=prefill, max_tokens=10)
    assert c.text.strip()
    assert not c.text.startswith(prefill)
    count = smollm2.generate([{"role": "user", "content": "Count from 1 to 10."}],
                             prefill="1, 2, 3, 4,", max_tokens=4)
    assert count.text.lstrip().startswith("5")
    # the continuation is what the raw prompt + prefill would produce at temperature 0
    raw = smollm2.render(STORY) + prefill
    assert raw.endswith("<|im_start|>assistant\n" + prefill)


def test_continuation_after_correction_reuses_cache(smollm2: LlamaCppBackend) -> None:
    msgs = [{"role": "user", "content": "List five facts about the ocean, one per line. " * 4}]
    first = smollm2.generate(msgs, prefill="<think>\n", max_tokens=24)
    prefill = "<think>\n" + first.text + "\nWait, I should stick to the template. Stage 2:"
    second = smollm2.generate(msgs, prefill=prefill, max_tokens=8)
    # everything up to the end of the first generation is served from the prompt cache
    assert second.usage.cached_tokens >= first.usage.prompt_tokens
    assert second.usage.evaluated_tokens < 30
    assert second.usage.prompt_tokens > first.usage.prompt_tokens


def test_stop_strings(smollm2: LlamaCppBackend) -> None:
    free = smollm2.generate(STORY, max_tokens=30)
    assert "," in free.text
    cut = smollm2.generate(STORY, max_tokens=30, stop=[","])
    assert cut.finish_reason == "stop"
    assert "," not in cut.text
    assert free.text.startswith(cut.text)


def test_one_settings_object_is_the_same_request_as_keywords(smollm2: LlamaCppBackend) -> None:
    from r2p.backends.base import GenerationSettings

    settings = GenerationSettings(max_tokens=6, temperature=0.8, top_p=0.9, seed=5,
                                  stop=("\n",), top_logprobs=2)
    body = smollm2._body(STORY, "Once", settings, False)
    assert {k: body[k] for k in ("max_tokens", "temperature", "top_p", "seed", "stop",
                                 "logprobs")} == {"max_tokens": 6, "temperature": 0.8,
                                                  "top_p": 0.9, "seed": 5, "stop": ["\n"],
                                                  "logprobs": 2}
    a = smollm2.generate(STORY, prefill="Once", settings=settings)
    b = smollm2.generate(STORY, prefill="Once", max_tokens=6, temperature=0.8, top_p=0.9,
                         seed=5, stop=["\n"], top_logprobs=2)
    assert a.text == b.text and a.choices[0].top_logprobs == b.choices[0].top_logprobs


def test_stream_and_early_close(smollm2: LlamaCppBackend) -> None:
    s = smollm2.stream(STORY, max_tokens=12)
    assert isinstance(s, Stream)
    chunks = list(s)
    r = s.result()
    assert "".join(chunks) == r.text and r.finish_reason == "length"
    assert r.usage.completion_tokens == 12

    s = smollm2.stream(STORY, max_tokens=200)
    seen = []
    for chunk in s:
        seen.append(chunk)
        if len(seen) == 3:
            s.close()
    r = s.result()
    assert r.finish_reason == "abort"
    assert r.text == "".join(seen) and len(seen) == 3
    assert r.usage.prompt_tokens > 20 and 3 <= r.usage.completion_tokens <= 5
    # the engine is free again right away
    assert smollm2.generate(STORY, max_tokens=2).usage.completion_tokens == 2


def test_three_threads_concurrently(smollm2: LlamaCppBackend) -> None:
    prompts = ["Name a color.", "Name an animal.", "Name a city."]
    single = {p: smollm2.generate([{"role": "user", "content": p}], max_tokens=8).text
              for p in prompts}
    out: dict[str, str] = {}
    errors: list[BaseException] = []

    def worker(p: str) -> None:
        try:
            out[p] = smollm2.generate([{"role": "user", "content": p}], max_tokens=8).text
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(p,)) for p in prompts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert set(out) == set(prompts)
    assert all(out[p].strip() for p in prompts)
    assert sum(out[p] == single[p] for p in prompts) >= 2  # greedy: same answers when batched


def test_n_choices(smollm2: LlamaCppBackend) -> None:
    c = smollm2.generate(STORY, max_tokens=6, n=2, temperature=1.0, seed=7)
    assert len(c.choices) == 2
    assert all(ch.text.strip() for ch in c.choices)
    # every choice's tokens are paid for: usage counts them all (llama.cpp reports one)
    per_choice = [len(ch.top_logprobs or []) for ch in c.choices]
    assert all(per_choice) and c.usage.completion_tokens == sum(per_choice)


def test_top_logprobs_per_generated_token(smollm2: LlamaCppBackend) -> None:
    assert smollm2.logprobs
    msgs = [{"role": "user", "content": "Rate 'great card, fast delivery' from 1 to 5."}]
    c = smollm2.generate(msgs, prefill="Rating:", max_tokens=3, top_logprobs=5)
    tops = c.choices[0].top_logprobs
    assert tops is not None and 1 <= len(tops) <= 3
    assert all(1 <= len(pos) <= 5 for pos in tops)
    assert all(lp <= 0.0 for pos in tops for _tok, lp in pos)
    # greedy: the first alternative at each position is the token that was generated
    assert "".join(pos[0][0] for pos in tops) == c.text
    assert smollm2.generate(msgs, max_tokens=2).choices[0].top_logprobs is None


def test_context_too_long(smollm2: LlamaCppBackend) -> None:
    with pytest.raises(ContextLengthError, match="context"):
        smollm2.generate([{"role": "user", "content": "word " * 5000}], max_tokens=4)


def test_bad_messages(smollm2: LlamaCppBackend) -> None:
    with pytest.raises(ConfigError, match="message 0"):
        smollm2.generate([{"role": "robot", "content": "hi"}])
    with pytest.raises(ConfigError):
        smollm2.generate([])


def test_base_url_is_real_openai_server(smollm2: LlamaCppBackend) -> None:
    assert smollm2.base_url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(smollm2.base_url + "/health", timeout=10) as resp:
        assert resp.status == 200


def test_identity_has_checksum(smollm2: LlamaCppBackend) -> None:
    ident = smollm2.identity()
    assert ident["backend"] == "llamacpp"
    assert ident["file"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert len(ident["sha256"]) == 16 and int(ident["sha256"], 16) >= 0
    assert ident == smollm2.identity()


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="not found"):
        LlamaCppBackend(tmp_path / "nope.gguf")


def test_not_a_gguf_file(tmp_path: Path) -> None:
    bad = tmp_path / "model.gguf"
    bad.write_text(json.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(CorruptModelError, match="magic bytes"):
        LlamaCppBackend(bad)


def test_truncated_gguf_file(tmp_path: Path) -> None:
    src = resolve_model("smollm2")
    cut = tmp_path / "cut.gguf"
    with src.open("rb") as fi, cut.open("wb") as fo:
        fo.write(fi.read(3_000_000))
    with pytest.raises(CorruptModelError, match="truncated"):
        LlamaCppBackend(cut)


def test_model_without_chat_template(tmp_path: Path) -> None:
    src = resolve_model("smollm2")
    nochat = tmp_path / "base.gguf"
    shutil.copyfile(src, nochat)
    data = bytearray(nochat.read_bytes()[:2_000_000])
    i = data.find(b"tokenizer.chat_template")
    assert i > 0
    data[i:i + 23] = b"tokenizer.chat_templatX"  # same length: the header stays valid
    with nochat.open("r+b") as fh:
        fh.write(data)
    assert read_gguf(nochat).chat_template is None
    with pytest.raises(ConfigError, match="no chat template"):
        LlamaCppBackend(nochat)
    with LlamaCppBackend(nochat, chat_template="chatml", parallel=1, n_ctx=256) as named:
        assert named.render([{"role": "user", "content": "hi"}]).startswith("<|im_start|>")
        assert named.generate([{"role": "user", "content": "hi"}], max_tokens=2).text
    with pytest.raises(BackendError, match="closed"):
        named.generate([{"role": "user", "content": "hi"}], max_tokens=2)


def test_unknown_alias_lists_choices() -> None:
    with pytest.raises(ModelNotFoundError, match="smollm2"):
        resolve_model("no-such-model")


def test_default_threads_leaves_busy_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    from r2p.backends import llamacpp

    monkeypatch.setattr(llamacpp.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3},
                        raising=False)
    monkeypatch.setattr(llamacpp.os, "getloadavg", lambda: (0.2, 0.0, 0.0))
    assert llamacpp.default_threads() == 4
    monkeypatch.setattr(llamacpp.os, "getloadavg", lambda: (2.6, 0.0, 0.0))
    assert llamacpp.default_threads() == 1  # 3 of 4 busy
    monkeypatch.setattr(llamacpp.os, "getloadavg", lambda: (12.0, 0.0, 0.0))
    assert llamacpp.default_threads() == 1


def test_translate_engine_errors() -> None:
    from r2p.backends._stream import translate_error
    from r2p.errors import BadResponseError

    assert isinstance(translate_error({"code": 400, "type": "exceed_context_size_error",
                                       "message": "request exceeds"}, "x"), ContextLengthError)
    assert isinstance(translate_error({"code": 400, "type": "invalid_request_error",
                                       "message": "bad field"}, "x"), ConfigError)
    err = translate_error({"code": 500, "type": "server_error", "message": "boom"}, "llamacpp")
    assert isinstance(err, BadResponseError) and "boom" in str(err)
