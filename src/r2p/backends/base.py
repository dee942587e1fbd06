"""The one interface every generation engine honours, its request settings, and a base class.

Continuation of a partly written assistant turn is first-class: ``prefill`` is the start of the
assistant's reply, which the model continues; the returned text holds only the continuation.
R2P's intervention loop relies on it, and on the engine's prompt cache making it cheap.

* :class:`GenerationSettings`: the sampling settings of one request (``max_tokens``,
  ``temperature``, ``top_p``, ``stop``, ``n``, ``seed``, ``top_logprobs``), one frozen object
  that a backend translates to its wire format in one place.
* :class:`Backend`: the protocol. Besides ``generate``, ``stream``, ``identity`` and
  ``close``, it names three capabilities that methods read directly:
  ``native_reasoning`` (the model opens its own thought), ``thought_prefill`` (a prefill can
  continue inside that thought) and ``logprobs`` (``generate`` honours
  ``settings.top_logprobs`` and fills ``Choice.top_logprobs``).
* :class:`BaseBackend`: what the four shipped backends (``llamacpp``, ``openai``, ``hf``,
  ``fake``) inherit: the capabilities' defaults (all False), settings given as keywords as
  well as an object, the ``n == 1`` check of ``stream``, and ``with`` support.

A third-party engine may inherit :class:`BaseBackend` (implement ``_generate``, ``_stream`` and
``identity``) or implement :class:`Backend` directly: then it declares ``name`` and the three
capabilities itself and takes ``settings=`` (keywords such as ``max_tokens=`` are a convenience
of :class:`BaseBackend`; r2p's methods always pass one :class:`GenerationSettings`).

Example:
    >>> from r2p.backends.fake import FakeBackend
    >>> fb = FakeBackend(["one two three"])
    >>> fb.generate([{"role": "user", "content": "hi"}],
    ...             settings=GenerationSettings(max_tokens=2)).text
    'one two'
    >>> fb.native_reasoning, fb.calls[0]["max_tokens"]
    (False, 2)
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from r2p.errors import ConfigError
from r2p.types import Completion, Message

_B = TypeVar("_B", bound="BaseBackend")


@dataclass(frozen=True)
class GenerationSettings:
    """The sampling settings of one generation request.

    Attributes:
        max_tokens: the most tokens to generate.
        temperature: sampling temperature (0 = greedy).
        top_p: nucleus sampling mass.
        stop: strings that end generation (not included in the text); a list is kept as a
            tuple, a single string as a one-item tuple.
        n: choices to generate for one prompt (``stream`` takes 1 only).
        seed: the sampling seed (None = the engine's own).
        top_logprobs: with N > 0, each generated token's N most likely alternatives are asked
            for (filled where the backend's ``logprobs`` is True; ``stream`` takes 0 only).

    Example:
        >>> s = GenerationSettings(max_tokens=8, stop=["</think>"])
        >>> s.stop
        ('</think>',)
        >>> GenerationSettings.of(s, temperature=0.7).temperature
        0.7
    """

    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    stop: Sequence[str] | None = None
    n: int = 1
    seed: int | None = None
    top_logprobs: int = 0

    def __post_init__(self) -> None:
        if self.stop is not None and not isinstance(self.stop, tuple):
            stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)
            object.__setattr__(self, "stop", stop)

    @classmethod
    def of(cls, settings: GenerationSettings | None = None,
           **overrides: Any) -> GenerationSettings:
        """``settings`` (default: all defaults) with ``overrides`` applied.

        Raises:
            TypeError: an override that is no setting (as a misspelt keyword argument would).
        """
        base = settings if settings is not None else cls()
        return dataclasses.replace(base, **overrides) if overrides else base


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
        native_reasoning: the model opens its own thought (a reasoning model); a reply to a
            request without prefill then carries the thought in ``Completion.reasoning``.
        thought_prefill: a prefill may continue *inside* the native thought.
        logprobs: ``generate`` honours ``settings.top_logprobs``.
    """

    name: str

    @property
    def native_reasoning(self) -> bool: ...

    @property
    def thought_prefill(self) -> bool: ...

    @property
    def logprobs(self) -> bool: ...

    def generate(self, messages: Sequence[Message], *, prefill: str | None = None,
                 settings: GenerationSettings | None = None) -> Completion:
        """Generate a reply to ``messages``; with ``prefill``, continue that assistant text.
        ``settings`` None means :class:`GenerationSettings` defaults."""
        ...

    def stream(self, messages: Sequence[Message], *, prefill: str | None = None,
               settings: GenerationSettings | None = None) -> Stream:
        """Like :meth:`generate` (``n`` = 1), yielding text as it arrives."""
        ...

    def identity(self) -> dict[str, Any]:
        """What identifies the model for records and cache keys (path + checksum prefix, or
        server + model name)."""
        ...

    def close(self) -> None:
        """Release the engine (threads, server, connections)."""
        ...


class BaseBackend(ABC):
    """The shared base of r2p's backends: capability defaults and the settings plumbing.

    A subclass sets ``name``, overrides the capabilities it has (a class attribute, an
    instance attribute or a property) and implements :meth:`_generate`, :meth:`_stream` and
    :meth:`identity`; :meth:`generate` and :meth:`stream` build the one
    :class:`GenerationSettings` and hand it over.

    Example:
        >>> from r2p.types import Completion
        >>> class Echo(BaseBackend):
        ...     name = "echo"
        ...     def _generate(self, messages, prefill, settings):
        ...         return Completion(messages[-1]["content"][: settings.max_tokens])
        ...     def _stream(self, messages, prefill, settings):
        ...         raise NotImplementedError
        ...     def identity(self):
        ...         return {"backend": "echo"}
        >>> e = Echo()
        >>> e.generate([{"role": "user", "content": "hello"}], max_tokens=4).text
        'hell'
        >>> e.native_reasoning, e.thought_prefill, e.logprobs
        (False, False, False)
    """

    name: str
    native_reasoning: bool = False
    """The model opens its own thought (default False)."""
    thought_prefill: bool = False
    """A prefill can continue inside the native thought (default False)."""
    logprobs: bool = False
    """``generate`` fills ``Choice.top_logprobs`` when asked (default False)."""

    def generate(self, messages: Sequence[Message], *, prefill: str | None = None,
                 settings: GenerationSettings | None = None, **overrides: Any) -> Completion:
        """Generate a reply (with ``prefill``: its continuation only).

        Args:
            messages: the chat so far.
            prefill: the start of the assistant's reply, continued by the model.
            settings: the request's settings (default: :class:`GenerationSettings`'s).
            **overrides: settings given as keywords (``max_tokens=8``); they win over
                ``settings``.
        """
        return self._generate(messages, prefill, GenerationSettings.of(settings, **overrides))

    def stream(self, messages: Sequence[Message], *, prefill: str | None = None,
               settings: GenerationSettings | None = None, **overrides: Any) -> Stream:
        """Stream a reply, as :meth:`generate` with one choice.

        Raises:
            ConfigError: ``n`` is not 1 or ``top_logprobs`` is not 0 (a stream has one choice
                and no token probabilities).
        """
        s = GenerationSettings.of(settings, **overrides)
        if s.n != 1 or s.top_logprobs:
            raise ConfigError(f"{self.name}: a stream takes n = 1 and top_logprobs = 0 "
                              f"(got n={s.n}, top_logprobs={s.top_logprobs})")
        return self._stream(messages, prefill, s)

    @abstractmethod
    def _generate(self, messages: Sequence[Message], prefill: str | None,
                  settings: GenerationSettings) -> Completion:
        """The engine call behind :meth:`generate`."""

    @abstractmethod
    def _stream(self, messages: Sequence[Message], prefill: str | None,
                settings: GenerationSettings) -> Stream:
        """The engine call behind :meth:`stream` (``settings.n`` is 1)."""

    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """What identifies the model for records and cache keys."""

    def close(self) -> None:  # noqa: B027 - an optional hook: not every engine holds anything
        """Release the engine (default: nothing to release)."""

    def __enter__(self: _B) -> _B:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Backend", "BaseBackend", "GenerationSettings", "Stream"]
