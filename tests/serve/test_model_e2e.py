"""End to end with the real embedded model (SmolLM2-135M): the openai client gets a
personalized answer, and a streamed thought, from ``r2p serve``'s app."""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest

from r2p.serve import BackgroundServer, ServeConfig

pytestmark = pytest.mark.model


def test_embedded_model_answers_and_streams(start: Callable[..., BackgroundServer]) -> None:
    pytest.importorskip("xllamacpp")
    from r2p.serve.engine import build_backend

    engine = build_backend("llamacpp", {"parallel": 1, "n_ctx": 4096})
    try:
        srv = start(ServeConfig(backend="llamacpp"), backend=engine)
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key="none", max_retries=0,
                               timeout=300)
        import httpx

        httpx.post(srv.url + "/v1/users/ann/items", json={"items": [
            {"id": "1", "text": "I love hiking in the mountains with my dog."},
            {"id": "2", "text": "Coffee first, always. Black, no sugar."}]}).raise_for_status()
        resp = client.chat.completions.create(
            model="rag", user="ann", max_tokens=24,
            messages=[{"role": "user", "content": "Suggest a Saturday morning plan."}])
        assert resp.choices[0].message.content.strip()
        assert resp.usage.completion_tokens > 0
        thought, answer = "", ""
        for chunk in client.chat.completions.create(
                model="hrt", user="ann", max_tokens=24, stream=True,
                messages=[{"role": "user", "content": "Suggest a Saturday morning plan."}]):
            for ch in chunk.choices:
                thought += getattr(ch.delta, "reasoning_content", None) or ""
                answer += ch.delta.content or ""
        assert thought.startswith("Stage 1 - Task requirements:") and "Stage 2" in thought
        assert answer.strip()
    finally:
        engine.close()
