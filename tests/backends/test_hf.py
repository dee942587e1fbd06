"""The ``hf`` backend on the CPU with the packaged SmolLM2 GGUF (dequantized by transformers).

One model load for the module and a few tokens per test keep it cheap.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from r2p.backends.hf import HFBackend
from r2p.errors import ContextLengthError, MissingDependencyError, ModelNotFoundError

pytestmark = pytest.mark.model

MSGS = [{"role": "user", "content": "Say hi to me."}]
PREFILL = "Hello there, my"


@pytest.fixture(scope="module")
def hf() -> Iterator[HFBackend]:
    b = HFBackend("smollm2", device="cpu", threads=1)
    yield b
    b.close()


def test_prefill_continuation_is_greedy_and_excludes_prefill(hf: HFBackend) -> None:
    plain = hf.generate(MSGS, max_tokens=4)
    cont = hf.generate(MSGS, prefill=PREFILL, max_tokens=4)
    assert cont.text.strip() and not cont.text.startswith(PREFILL)
    assert cont.text != plain.text
    assert cont.finish_reason == "length" and cont.usage.completion_tokens == 4
    assert cont.usage.prompt_tokens > plain.usage.prompt_tokens
    assert hf.render(MSGS, PREFILL).endswith("<|im_start|>assistant\n" + PREFILL)
    assert hf.generate(MSGS, prefill=PREFILL, max_tokens=4).text == cont.text


def test_stop_strings_cut_the_text(hf: HFBackend) -> None:
    full = hf.generate(MSGS, prefill=PREFILL, max_tokens=6).text
    word = full.split()[1]
    cut = hf.generate(MSGS, prefill=PREFILL, max_tokens=6, stop=[word])
    assert word not in cut.text and full.startswith(cut.text)
    assert cut.finish_reason == "stop"


def test_stream_matches_generate_and_closes_early(hf: HFBackend) -> None:
    want = hf.generate(MSGS, prefill=PREFILL, max_tokens=5).text
    s = hf.stream(MSGS, prefill=PREFILL, max_tokens=5)
    assert "".join(s) == want and s.result().text == want
    s = hf.stream(MSGS, prefill=PREFILL, max_tokens=40)
    seen = []
    for chunk in s:
        seen.append(chunk)
        if len(seen) == 2:
            s.close()
    r = s.result()
    assert r.finish_reason == "abort" and r.text == "".join(seen)
    assert r.usage.completion_tokens < 40


def test_n_samples_with_seed_are_reproducible(hf: HFBackend) -> None:
    a = hf.generate(MSGS, max_tokens=4, temperature=1.0, n=2, seed=7)
    b = hf.generate(MSGS, max_tokens=4, temperature=1.0, n=2, seed=7)
    assert len(a.choices) == 2 and [c.text for c in a.choices] == [c.text for c in b.choices]


def test_context_length_and_identity(hf: HFBackend) -> None:
    with pytest.raises(ContextLengthError, match="context"):
        hf.generate(MSGS, max_tokens=10**6)
    ident = hf.identity()
    assert ident["backend"] == "hf" and ident["gguf_file"].endswith(".gguf")
    assert hf.native_reasoning is False and hf.name == "hf"


def test_missing_model_and_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelNotFoundError):
        HFBackend("/nonexistent/model.gguf")
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingDependencyError, match=r"r2p\[hf\]"):
        HFBackend("smollm2")
