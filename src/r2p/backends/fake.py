"""A scripted backend for tests: no model, fully deterministic, records every call.

Replies come from a script: a list consumed in order, a map from a prompt substring to a reply
(matched against the messages' contents plus the prefill), or a callable
``(messages, prefill) -> str``. A scripted item that is an exception instance is raised instead
of answered (to test error paths). Stop strings, ``max_tokens`` (counted as whitespace tokens),
``n`` > 1 and streaming behave as a real engine's would, and usage is filled plausibly:
``prompt_tokens`` counts whitespace tokens of the prompt, ``cached_tokens`` is the length of the
common token prefix with the previous call (so prompt-cache reuse logic is testable).

Example:
    >>> from r2p.backends.fake import FakeBackend
    >>> fb = FakeBackend(["a thought</think> [2]"])
    >>> fb.generate([{"role": "user", "content": "hi"}], prefill="<think>", stop=["</think>"]).text
    'a thought'
    >>> fb.calls[0]["prefill"]
    '<think>'
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from r2p.backends.base import BaseBackend, GenerationSettings
from r2p.errors import BackendError, ConfigError
from r2p.reasoning import THINK_CLOSE, split_output
from r2p.types import Choice, Completion, Message, Usage

Script = list[str | BaseException] | Mapping[str, str] | Callable[[list[Message], str | None], str]

_TOKEN_RE = re.compile(r"\S+")


def count_tokens(text: str) -> int:
    """Whitespace tokens in ``text`` (the fake's notion of a token)."""
    return len(_TOKEN_RE.findall(text))


def apply_limits(text: str, stop: Sequence[str] | None, max_tokens: int) -> tuple[str, str]:
    """Cut ``text`` as an engine would: at the first stop string, then at ``max_tokens``.

    Returns:
        ``(text, finish_reason)`` where the reason is ``"stop"`` or ``"length"``.

    Example:
        >>> apply_limits("one two three", ["three"], 10)
        ('one two ', 'stop')
        >>> apply_limits("one two three", None, 2)
        ('one two', 'length')
    """
    cut = len(text)
    for s in stop or ():
        if s:
            i = text.find(s)
            if 0 <= i < cut:
                cut = i
    text = text[:cut]
    tokens = list(_TOKEN_RE.finditer(text))
    if max_tokens >= 0 and len(tokens) > max_tokens:
        end = tokens[max_tokens - 1].end() if max_tokens > 0 else 0
        return text[:end], "length"
    return text, "stop"


def prompt_text(messages: Sequence[Message], prefill: str | None) -> str:
    """The text a scripted substring is matched against: contents, then the prefill."""
    parts = [str(m.get("content", "")) for m in messages]
    if prefill:
        parts.append(prefill)
    return "\n".join(parts)


def _prompt_tokens(messages: Sequence[Message], prefill: str | None) -> list[str]:
    toks: list[str] = []
    for m in messages:
        toks.append(f"<{m.get('role', '')}>")
        toks.extend(_TOKEN_RE.findall(str(m.get("content", ""))))
    toks.append("<assistant>")
    if prefill:
        toks.extend(_TOKEN_RE.findall(prefill))
    return toks


def _common_prefix(a: list[str], b: list[str]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class FakeStream:
    """A :class:`~r2p.backends.base.Stream` over a finished completion, chunk by chunk.

    Chunks are whitespace-separated words with their trailing spaces, so joining them gives the
    text back. ``close()`` before the end marks the result ``"abort"`` and keeps the text seen.
    """

    def __init__(self, completion: Completion) -> None:
        self._full = completion
        self._chunks = re.findall(r"\s*\S+\s*|\s+", completion.text)
        self._seen: list[str] = []
        self._closed = False
        self._done = False

    def __iter__(self) -> Iterator[str]:
        for chunk in self._chunks[len(self._seen):]:
            if self._closed:
                return
            self._seen.append(chunk)
            yield chunk
        self._done = True

    def close(self) -> None:
        """Stop early; the result keeps only the chunks already yielded."""
        if not self._done:
            self._closed = True

    def result(self) -> Completion:
        """The final completion (``finish_reason="abort"`` when closed early)."""
        if self._closed:
            text = "".join(self._seen)
            u = self._full.usage
            usage = Usage(u.prompt_tokens, u.cached_tokens, count_tokens(text))
            return Completion(text, finish_reason="abort", usage=usage,
                              seconds=self._full.seconds)
        if not self._done:
            for _ in self:
                pass
        return self._full


class FakeBackend(BaseBackend):
    """Scripted backend implementing :class:`~r2p.backends.base.Backend`.

    Args:
        replies: a list (consumed in order, one item per choice), a mapping from prompt substring
            to reply (the first key, in mapping order, found in the prompt text wins), or a
            callable ``(messages, prefill) -> str``. A list item that is an exception is raised.
        native_reasoning: behave like a reasoning model behind a server with a reasoning parser:
            the part of the reply up to ``</think>`` (the thought, opened by the template or
            by a ``<think>`` of its own) goes to ``Completion.reasoning``; a reply with no
            ``</think>`` is left whole, as such a parser leaves it.
        thought_prefill: with ``native_reasoning``, behave like an engine that can continue a
            prefill inside the native thought (as ``llamacpp`` and ``hf`` can).
        model: ignored (a run passes its model name to every backend); any other option is
            refused, as a real engine would.

    Attributes:
        calls: one dict per request: ``messages``, ``prefill``, ``max_tokens``, ``temperature``,
            ``top_p``, ``stop``, ``n``, ``seed``, ``stream``.
        name: ``"fake"``.

    Raises (from ``generate``):
        BackendError: the script is exhausted, or no mapping key matches the prompt.
    """

    name = "fake"

    def __init__(self, replies: Script | None = None, *, native_reasoning: bool = False,
                 thought_prefill: bool = False, model: str | None = None) -> None:
        if replies is None:
            replies = []
        if isinstance(replies, str):
            raise ConfigError("FakeBackend replies must be a list, a mapping or a callable, "
                              "not a single string")
        if not (isinstance(replies, (list, tuple, Mapping)) or callable(replies)):
            raise ConfigError(f"FakeBackend replies: unsupported type {type(replies).__name__}")
        self._replies: Any = list(replies) if isinstance(replies, tuple) else replies
        self._next = 0
        self.native_reasoning = native_reasoning
        self.thought_prefill = thought_prefill
        self.calls: list[dict[str, Any]] = []
        self._last_prompt: list[str] = []
        self._lock = threading.Lock()
        self.closed = False

    @property
    def remaining(self) -> int | None:
        """Unconsumed list replies (None for a mapping or callable script)."""
        if isinstance(self._replies, list):
            return len(self._replies) - self._next
        return None

    def _reply(self, messages: list[Message], prefill: str | None) -> str:
        script = self._replies
        if isinstance(script, list):
            if self._next >= len(script):
                raise BackendError(
                    f"FakeBackend ran out of replies after {len(script)} "
                    f"(call #{len(self.calls)}; last user message: "
                    f"{_last_user(messages)[:80]!r})")
            item = script[self._next]
            self._next += 1
            if isinstance(item, BaseException):
                raise item
            return str(item)
        if isinstance(script, Mapping):
            text = prompt_text(messages, prefill)
            for key, value in script.items():
                if key in text:
                    return str(value)
            raise BackendError(f"FakeBackend: no scripted key matches the prompt "
                               f"(keys: {list(script)!r}; prompt starts {text[:80]!r})")
        return str(script(messages, prefill))

    def _complete(self, messages: Sequence[Message], prefill: str | None,
                  settings: GenerationSettings, stream: bool) -> Completion:
        n, stop, max_tokens = settings.n, settings.stop, settings.max_tokens
        if n < 1:
            raise ConfigError(f"n must be >= 1, got {n}")
        t0 = time.perf_counter()
        msgs = [dict(m) for m in messages]
        with self._lock:
            self.calls.append({
                "messages": msgs, "prefill": prefill, "max_tokens": max_tokens,
                "temperature": settings.temperature, "top_p": settings.top_p,
                "stop": list(stop) if stop is not None else None, "n": n,
                "seed": settings.seed, "stream": stream,
            })
            ptoks = _prompt_tokens(msgs, prefill)
            cached = _common_prefix(self._last_prompt, ptoks)
            self._last_prompt = ptoks
            raws = [self._reply(msgs, prefill) for _ in range(n)]
        choices: list[Choice] = []
        completion_tokens = 0
        for raw in raws:
            # the whole reply is scripted: split first, then the limits cut the answer
            sp = split_output(raw, native=self.native_reasoning and THINK_CLOSE in raw,
                              continued=prefill is not None, started_open=True)
            text, reason = apply_limits(sp.answer, stop, max_tokens)
            completion_tokens += count_tokens(text)
            choices.append(Choice(text, sp.reasoning, reason))
        usage = Usage(len(ptoks), cached, completion_tokens)
        first = choices[0]
        return Completion(first.text, first.reasoning, first.finish_reason, usage,
                          time.perf_counter() - t0, choices)

    def _generate(self, messages: Sequence[Message], prefill: str | None,
                  settings: GenerationSettings) -> Completion:
        """Answer from the script (see the class docstring); ``text`` excludes the prefill.

        ``settings.top_logprobs`` is ignored: the fake has no probabilities (``logprobs`` is
        False), so methods take the path they take with engines that return none."""
        return self._complete(messages, prefill, settings, False)

    def _stream(self, messages: Sequence[Message], prefill: str | None,
                settings: GenerationSettings) -> FakeStream:
        """Stream the scripted reply word by word (consumes one reply)."""
        return FakeStream(self._complete(messages, prefill, settings, True))

    def identity(self) -> dict[str, Any]:
        """``{"backend": "fake", "script": kind}``."""
        kind = ("list" if isinstance(self._replies, list)
                else "map" if isinstance(self._replies, Mapping) else "callable")
        return {"backend": "fake", "script": kind}

    def close(self) -> None:
        """Mark closed (kept usable: tests often reuse a fake after a run closes it)."""
        self.closed = True


def _last_user(messages: Sequence[Message]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            return str(m.get("content", ""))
    return ""


__all__ = ["FakeBackend", "FakeStream", "apply_limits", "count_tokens", "prompt_text"]
