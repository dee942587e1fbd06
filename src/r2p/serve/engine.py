"""The server's one engine, built from the backend registry.

``--backend fake`` with no script answers every request with :func:`fake_reply` (a short
thought inside a thought, a short answer otherwise), so that the server runs with no model at
all: the framework's own cost is measured that way, and the tests drive the real methods
through it.

Example:
    >>> b = build_backend("fake")
    >>> b.generate([{"role": "user", "content": "hi"}]).text
    'A short answer for this user.'
"""

from __future__ import annotations

from collections import deque
from typing import Any

from r2p.backends.base import Backend
from r2p.backends.registry import get_backend
from r2p.types import Message

FAKE_THOUGHT = " This user writes short, friendly notes, as [P1] shows.\n\n"
FAKE_ANSWER = "A short answer for this user."
FAKE_CALLS_KEPT = 256


def fake_reply(messages: list[Message], prefill: str | None) -> str:
    """The fake engine's scripted reply: a thought step inside an open thought, an answer
    otherwise."""
    del messages
    if prefill and prefill.lstrip().startswith("<think>") and "</think>" not in prefill:
        return FAKE_THOUGHT
    return FAKE_ANSWER


def build_backend(name: str, options: dict[str, Any] | None = None) -> Backend:
    """The backend ``name`` built with ``options`` (the fake gets :func:`fake_reply` when no
    ``replies`` are given).

    Raises:
        UnknownNameError, MissingDependencyError, ConfigError: as
            :func:`r2p.backends.registry.get_backend`.
        BackendError: the engine failed to start (e.g. the model file is missing).
    """
    opts = dict(options or {})
    if name == "fake" and "replies" not in opts:
        opts["replies"] = fake_reply
    backend = get_backend(name, **opts)
    if name == "fake":
        # The fake records every call; a server keeps the last ones only (memory stays flat).
        backend.calls = deque(maxlen=FAKE_CALLS_KEPT)  # type: ignore[attr-defined]
    return backend


__all__ = ["FAKE_ANSWER", "FAKE_CALLS_KEPT", "FAKE_THOUGHT", "build_backend", "fake_reply"]
