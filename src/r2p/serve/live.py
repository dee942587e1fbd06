"""Watching a prediction while it runs: the thought as it is generated, and each RPI
intervention as it happens, told through the Backend protocol alone.

:class:`LiveBackend` wraps the server's backend for one request. Every call a method makes
passes through it, and the call's ``prefill`` says where the thought stands: R2P continues its
thought with ``<think>`` + the thought so far prefilled, so

* a prefill that extends what the client has seen adds text the method wrote itself (stage 1
  stated from the task, a stage marker, or a correction appended after stage 2: an
  intervention when it is not a stage marker);
* a prefill that leaves what the client has seen is a cut: the thought was cut back and goes
  on from the injected correction (an intervention), or a new thought starts (SRM's next
  candidate, when the cut falls in the first prefill);
* a call inside a thought under other messages than the last one starts a new thought (R2P
  writes a user's synthesis under its own prompt, then prefills it into the query's thought);
* text generated inside the thought (up to ``</think>``) is reasoning; calls after the thought
  (the answer, SRM's candidates) are not shown live: the answer the method settles on is sent
  when it is known. Their prefill's closed thought is shown when it is not what the client has
  seen: a format correction appended before the answer is asked again (an intervention), or a
  thought the method wrote whole (a user's synthesis reused, nothing left to generate).

Each piece goes to ``emit(kind, payload)``: ``("reasoning", text)`` or ``("event", dict)`` with
``{"type": "intervention", "position": int, "text": str}`` or ``{"type": "thought", "index":
int}``. :meth:`LiveBackend.cancel` makes the next call or chunk raise, so a client that went
away stops the method at its next step.

Example:
    >>> from r2p.backends.fake import FakeBackend
    >>> got = []
    >>> lb = LiveBackend(FakeBackend(["plans a trip."]), lambda k, p: got.append((k, p)))
    >>> _ = lb.generate([{"role": "user", "content": "hi"}], prefill="<think>\\nThe user")
    >>> got
    [('reasoning', 'The user'), ('reasoning', 'plans a trip.')]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from r2p.backends.base import Backend, Stream
from r2p.errors import BackendError
from r2p.types import Completion, Message

OPEN, CLOSE = "<think>", "</think>"
_MARKER_HEAD = "Stage "
"""Stage markers (``Stage 2 - User profile:``) start so; text appended that starts otherwise
is a correction."""

Emit = Callable[[str, Any], None]


class Cancelled(BackendError):
    """The client went away; the method stops at its next engine call."""


def _common(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class LiveBackend:
    """A :class:`~r2p.backends.base.Backend` that reports the thought while a method runs.

    Args:
        inner: the engine.
        emit: ``emit(kind, payload)``, called from the method's thread.
    """

    def __init__(self, inner: Backend, emit: Emit) -> None:
        self.inner = inner
        self.emit = emit
        self.name = inner.name
        self.cancelled = False
        self._shown: str | None = None  # the thought the client has seen
        self._first = 0  # length of the current thought's first prefill
        self._thoughts = 0
        self._prompt: str | None = None  # the messages of the shown thought

    def __getattr__(self, name: str) -> Any:  # native_reasoning, logprobs, thought_prefill...
        return getattr(self.inner, name)

    def cancel(self) -> None:
        """Make the next engine call (or streamed chunk) raise :class:`Cancelled`."""
        self.cancelled = True

    def _check(self) -> None:
        if self.cancelled:
            raise Cancelled("the client closed the connection")

    # -- what a call's prefill says -----------------------------------------------------------
    def _thought_of(self, prefill: str | None) -> str | None:
        """The thought a call continues, or None for a call that is not inside a thought."""
        if prefill is None:
            return "" if self.inner.native_reasoning else None
        if not prefill.startswith(OPEN) or CLOSE in prefill:
            return None
        return prefill[len(OPEN):].lstrip("\n")

    def _closed(self, prefill: str | None, messages: Sequence[Message]) -> None:
        """Show an answer call's closed thought when the client has not seen it."""
        if prefill is None or not prefill.startswith(OPEN) or CLOSE not in prefill:
            return
        thought = prefill[len(OPEN):prefill.index(CLOSE)].strip("\n")
        if thought.strip() and thought.rstrip() != (self._shown or "").rstrip():
            self._before(thought, messages)

    def _before(self, thought: str, messages: Sequence[Message]) -> None:
        shown = self._shown
        prompt = repr([(m.get("role"), m.get("content")) for m in messages])
        other_prompt, self._prompt = prompt != self._prompt, prompt
        if shown is None or other_prompt or (not thought.startswith(shown)
                                             and _common(shown, thought) <= self._first):
            if shown is not None:
                self._thoughts += 1
                self.emit("event", {"type": "thought", "index": self._thoughts})
                self.emit("reasoning", "\n\n")
            self._first = len(thought)
            if thought:
                self.emit("reasoning", thought)
        elif thought.startswith(shown):
            extra = thought[len(shown):]
            if extra.strip() and not extra.lstrip().startswith(_MARKER_HEAD):
                self.emit("event", {"type": "intervention", "position": len(shown),
                                    "text": extra.strip()})
            if extra:
                self.emit("reasoning", extra)
        else:
            at = _common(shown, thought)
            self.emit("event", {"type": "intervention", "position": at,
                                "text": thought[at:].strip()})
            self.emit("reasoning", "\n" + thought[at:])
        self._shown = thought

    def _generated(self, text: str) -> bool:
        """Show generated thought text; False once the thought closed."""
        end = text.find(CLOSE)
        part = text if end < 0 else text[:end]
        if part:
            self.emit("reasoning", part)
            self._shown = (self._shown or "") + part
        return end < 0

    # -- the Backend protocol -----------------------------------------------------------------
    def generate(self, messages: Sequence[Message], *, prefill: str | None = None,
                 **settings: Any) -> Completion:
        """The engine's ``generate``, reported."""
        self._check()
        thought = self._thought_of(prefill)
        if thought is not None and prefill is not None:
            self._before(thought, messages)
        self._closed(prefill, messages)
        c = self.inner.generate(messages, prefill=prefill, **settings)
        self._check()
        if thought is not None:
            if c.reasoning:
                self._generated(c.reasoning)
            elif prefill is not None:
                self._generated(c.text)
        return c

    def stream(self, messages: Sequence[Message], *, prefill: str | None = None,
               **settings: Any) -> Stream:
        """The engine's ``stream``, reported chunk by chunk."""
        self._check()
        thought = self._thought_of(prefill)
        if thought is not None and prefill is not None:
            self._before(thought, messages)
        self._closed(prefill, messages)
        return _LiveStream(self, self.inner.stream(messages, prefill=prefill, **settings),
                           thought is not None and prefill is not None)

    def identity(self) -> dict[str, Any]:
        """The engine's identity."""
        return self.inner.identity()

    def close(self) -> None:
        """Nothing: the engine is the server's, shared by every request."""


class _LiveStream:
    """A stream whose chunks inside the thought are reported as they arrive."""

    def __init__(self, owner: LiveBackend, inner: Stream, in_thought: bool) -> None:
        self.owner = owner
        self.inner = inner
        self.in_thought = in_thought
        self._held = ""  # a tail that may be the start of "</think>"

    def __iter__(self) -> Iterator[str]:
        for chunk in self.inner:
            if self.owner.cancelled:
                self.inner.close()
                raise Cancelled("the client closed the connection")
            if self.in_thought:
                text = self._held + chunk
                keep = next((n for n in range(min(len(CLOSE) - 1, len(text)), 0, -1)
                             if CLOSE.startswith(text[-n:])), 0)
                self._held = text[len(text) - keep:] if keep else ""
                self.in_thought = self.owner._generated(text[:len(text) - keep])
            yield chunk
        if self.in_thought and self._held:
            self.owner._generated(self._held)
            self._held = ""

    def close(self) -> None:
        self.inner.close()

    def result(self) -> Completion:
        return self.inner.result()


__all__ = ["Cancelled", "LiveBackend"]
