"""Backend fixtures.

``smollm2``: one embedded llama.cpp engine serving SmolLM2-135M-Instruct for the whole test
session (loading takes ~0.5 s; sharing it keeps the suite fast). Its ``base_url`` is a real
OpenAI-compatible HTTP server on loopback, which the ``openai`` backend's tests talk to.
Tests must not close it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from r2p.backends.llamacpp import LlamaCppBackend


@pytest.fixture(scope="session")
def smollm2() -> Iterator[LlamaCppBackend]:
    backend = LlamaCppBackend("smollm2", threads=1, parallel=4, n_ctx=2048)
    yield backend
    backend.close()
