"""The one interface every generation engine honours.

Continuation of a partly written assistant turn is first-class: ``prefill`` is the start of the
assistant's reply, which the model continues; the returned text holds only the continuation.
R2P's intervention loop relies on it, and on the engine's prompt cache making it cheap.

Optional capabilities, declared as attributes: ``native_reasoning`` (the model opens its own
thought), ``thought_prefill`` (a prefill can continue inside that thought) and ``logprobs``
(``generate`` takes ``top_logprobs=N`` and fills ``Choice.top_logprobs``; ``llamacpp`` and
``openai`` do). A method reads them with a default of False.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from r2p.types import Completion, Message


@runtime_checkable
class Stream(Protocol):
    """A streaming generation: iterate to get text chunks as they arrive.

    ``close()`` stops generation early (the caller decides it has seen enough); ``result()``
    returns the final :class:`Completion` (text so far, usage, finish reason ``"abort"`` if
    closed early).
    """

    def __iter__(self) -> Iterator[str]: ...

    def close(self) -> None: ...

    def result(self) -> Completion: ...


@runtime_checkable
class Backend(Protocol):
    """A generation engine.

    Attributes:
        name: registry name (``llamacpp``, ``openai``, ``hf``, ``fake``).
    """

    name: str

    def generate(
        self,
        messages: Sequence[Message],
        *,
        prefill: str | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        top_p: float = 1.0,
        stop: Sequence[str] | None = None,
        n: int = 1,
        seed: int | None = None,
    ) -> Completion:
        """Generate a reply to ``messages``; with ``prefill``, continue that assistant text."""
        ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        prefill: str | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        top_p: float = 1.0,
        stop: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> Stream:
        """Like :meth:`generate` (n = 1), yielding text as it arrives."""
        ...

    def identity(self) -> dict[str, Any]:
        """What identifies the model for records and cache keys (path + checksum prefix, or
        server + model name)."""
        ...

    def close(self) -> None:
        """Release the engine (threads, server, connections)."""
        ...


__all__ = ["Backend", "Stream"]
