"""R2P inside a native reasoning model's own thought.

A reasoning model's template (R1 distills, QwQ) opens ``<think>`` in the generation prompt.
Engines that render the prompt themselves (llamacpp, hf, openai ``raw_completions``) can still
continue a prefill inside that thought: the template's tag is not repeated
(:func:`r2p.reasoning.join_prefill`) and RPI intervenes in the thought itself. Tested with the
fake backend, with SmolLM2 given an R1-style template (real engine, real model), and with the
llama.cpp HTTP server through the ``openai`` backend.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from _r2p_support import staged_model

from r2p.backends.base import GenerationSettings
from r2p.backends.fake import FakeBackend
from r2p.backends.openai import OpenAIBackend
from r2p.data import load_split
from r2p.methods.r2p import STAGE_MARKERS, R2PMethod
from r2p.reasoning import join_prefill
from r2p.retrieval import get_retriever
from r2p.tasks import get_task
from r2p.types import Retrieved, Sample

R1_TEMPLATE = (Path(__file__).parent / "r1_style_template.jinja").read_text()
S1, S2, S3 = STAGE_MARKERS
RATING = get_task("LaMP_3")
REVIEW = Sample("r1", "What is the score of the following review on a scale of 1 to 5? "
                "review: Nice card, arrived on time.", [])
ITEMS = [Retrieved({"id": "p1", "text": "Nice gift card", "score": "4"}, 1.0, 0)]


def test_join_prefill_continues_the_templates_think_block() -> None:
    gen = "<|im_start|>assistant\n<think>\n"
    assert join_prefill(gen, "<think>\nStage 1 -") == gen + "Stage 1 -"
    assert join_prefill(gen, "<think>\nabc</think>\n\nAnswer: ") == gen + "abc</think>\n\nAnswer: "
    assert join_prefill(gen.rstrip("\n"), "<think>\nabc") == gen + "abc"  # tag without newline
    assert join_prefill(gen, "<think>abc") == gen + "abc"
    plain = "<|im_start|>assistant\n"
    assert join_prefill(plain, "<think>\nabc") == plain + "<think>\nabc"
    assert join_prefill(gen, "Hello") == gen + "Hello"  # not a thought: appended as it is
    assert join_prefill(gen + "done</think>\n", "<think>\nx") == gen + "done</think>\n<think>\nx"
    assert join_prefill(gen, None) == gen and join_prefill(gen, "") == gen


def _script() -> object:
    return staged_model(" [P1] gave 4 to a gift card.", " So 4.", " 4")


def test_native_engine_that_can_continue_the_thought_gets_in_thought_rpi() -> None:
    fb = FakeBackend(_script(), native_reasoning=True, thought_prefill=True)
    pred = R2PMethod(srm=False).predict(REVIEW, RATING, ITEMS, fb)
    assert [c["prefill"] is not None for c in fb.calls] == [True, True, True]
    assert fb.calls[0]["prefill"].startswith(f"<think>\n{S1} ")
    assert fb.calls[0]["prefill"].endswith(S2)
    mode = next(e for e in pred.trace if e.get("name") == "rpi_mode")
    assert mode["detail"] == "inside the native thought"
    assert pred.answer == "4" and pred.format_ok


def test_native_engine_without_thought_prefill_is_corrected_by_follow_up_turns() -> None:
    fb = FakeBackend([f"<think>{S1} one digit.\n{S2} nothing.\n{S3} 4</think>4",
                      f"<think>{S1} one digit.\n{S2} [P1] gave 4 to a gift card.\n{S3} 4"
                      f"</think>4"], native_reasoning=True)
    pred = R2PMethod(srm=False, max_interventions=1).predict(REVIEW, RATING, ITEMS, fb)
    assert all(c["prefill"] is None for c in fb.calls)
    assert len(fb.calls[1]["messages"]) == len(fb.calls[0]["messages"]) + 2  # a follow-up turn
    mode = next(e for e in pred.trace if e.get("name") == "rpi_mode")
    assert mode["detail"].startswith("follow-up turns")
    assert pred.answer == "4"


@pytest.mark.model
def test_r1_style_template_on_the_embedded_engine(shared_data: Path) -> None:
    from r2p.backends.llamacpp import LlamaCppBackend

    ds = load_split("LaMP_3", shared_data)
    sample = ds.samples[0]
    retrieved = get_retriever("bm25").retrieve(ds.task.query(sample.input), sample.profile, 2,
                                               ds.task)
    with LlamaCppBackend("smollm2", chat_template=R1_TEMPLATE, threads=1, parallel=1,
                         n_ctx=2048) as lm:
        assert lm.native_reasoning and lm.thought_prefill
        msgs = [{"role": "user", "content": "Rate it."}]
        body = lm._body(msgs, "<think>\nStage 1 - x", GenerationSettings(max_tokens=8), False)
        assert body["prompt"].endswith("assistant\n<think>\nStage 1 - x")
        assert body["prompt"].count("<think>") == 1
        pred = R2PMethod(srm=False, synthesis_tokens=40, response_tokens=24).predict(
            sample, ds.task, retrieved, lm)
    prefills = [p["prefill"] for p in pred.prompts]
    assert prefills[0].startswith(f"<think>\n{S1} ") and all(p for p in prefills)
    assert len(prefills) >= 2  # segments (and corrections) continue inside the one thought
    assert any(e.get("name") == "rpi_mode" and e["detail"] == "inside the native thought"
               for e in pred.trace)
    segs = [e for e in pred.trace if e["type"] == "segment"]
    assert segs and "<think>" not in "".join(e["text"] for e in segs)
    assert pred.answer in RATING.labels  # valid after normalization (or repair)


@pytest.mark.model
def test_raw_completions_over_http_does_not_repeat_the_templates_tag() -> None:
    from r2p.backends.llamacpp import LlamaCppBackend

    with LlamaCppBackend("smollm2", chat_template=R1_TEMPLATE, threads=1, parallel=1,
                         n_ctx=1024) as lm:
        msgs = [{"role": "user", "content": "What is 2+2?"}]
        with OpenAIBackend(lm.base_url, "smollm2", prefill_mode="raw_completions",
                           native_reasoning=True) as ob:
            assert ob.thought_prefill
            ids = ob._render(msgs, "<think>\nLet me add.")
            text = httpx.post(lm.base_url + "/detokenize", json={"tokens": ids}).json()["content"]
            assert text.count("<think>") == 1 and text.endswith("<think>\nLet me add.")
            c = ob.generate(msgs, prefill="<think>\nLet me add.", max_tokens=12)
            assert c.reasoning == ""  # with a prefill the raw continuation comes back
        with OpenAIBackend(lm.base_url, "smollm2", native_reasoning=True) as chat:
            assert not chat.thought_prefill  # trailing-assistant prefills cannot do it safely


def test_vllm_token_ids_do_not_repeat_the_templates_tag() -> None:
    def tokenize(body: dict[str, Any]) -> dict[str, Any]:
        if "messages" in body:
            return {"tokens": [1, 2, 50, 10]}  # ... <|Assistant|> <think> \n
        return {"tokens": {"<think>\n": [50, 10], "<think>": [50], "Stage 1 -": [7, 8]}.get(
            body["prompt"], [99])}

    def completions(body: dict[str, Any]) -> dict[str, Any]:
        seen.append(body["prompt"])
        return {"choices": [{"index": 0, "text": "more thought", "finish_reason": "stop"}]}

    seen: list[Any] = []
    routes = {"/props": httpx.Response(404), "/tokenize": tokenize, "/v1/completions": completions}

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        route = routes.get(request.url.path)
        if route is None:
            return httpx.Response(404)
        return route if isinstance(route, httpx.Response) else httpx.Response(200,
                                                                                json=route(body))

    b = OpenAIBackend("http://gpu:8000/v1", "r1", prefill_mode="raw_completions",
                      native_reasoning=True, transport=httpx.MockTransport(handler))
    assert b.thought_prefill
    c = b.generate([{"role": "user", "content": "hi"}], prefill="<think>\nStage 1 -")
    assert seen[0] == [1, 2, 50, 10, 7, 8] and c.text == "more thought"


def test_a_split_off_reasoning_field_is_put_back_for_a_prefill() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        msg = {"role": "assistant", "content": "4", "reasoning_content": " so it is 4."}
        return httpx.Response(200, json={"choices": [{"index": 0, "message": msg,
                                                      "finish_reason": "stop"}]})

    b = OpenAIBackend("http://gpu:8000/v1", "r1", prefill_mode="continue_final_message",
                      native_reasoning=True, transport=httpx.MockTransport(handler))
    c = b.generate([{"role": "user", "content": "hi"}], prefill="<think>\nStage 3 -")
    assert (c.text, c.reasoning) == (" so it is 4.</think>4", "")
    plain = b.generate([{"role": "user", "content": "hi"}])
    assert (plain.text, plain.reasoning) == ("4", "so it is 4.")
