"""A per-sample view of a backend that notes what the runner must record beside a prediction.

A reasoning model that spends its whole ``max_tokens`` inside its thought returns no answer text
with finish reason ``length``. That is a legitimate result (the model ran out of budget), not a
server fault, so it is kept and scored; but it must never pass unnoticed. :class:`WatchedBackend`
forwards every call to the real backend and counts such completions, so the runner can mark the
sample's record ``truncated`` and count it in ``metrics.json``.

Example:
    >>> from r2p.backends.fake import FakeBackend
    >>> w = WatchedBackend(FakeBackend(["one two three"]))
    >>> w.generate([{"role": "user", "content": "hi"}], max_tokens=2).text
    'one two'
    >>> w.truncated  # text came back: cut short, but not empty
    0
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from r2p.types import Completion, Message


def is_truncated(completion: Completion) -> bool:
    """True when some choice has no answer text because ``max_tokens`` ran out first.

    Example:
        >>> is_truncated(Completion("", reasoning="a long thought", finish_reason="length"))
        True
        >>> is_truncated(Completion("", finish_reason="stop"))
        False
    """
    return any(ch.finish_reason == "length" and not ch.text.strip()
               for ch in completion.choices)


class _WatchedStream:
    """A stream that reports its final completion to its :class:`WatchedBackend`."""

    def __init__(self, inner: Any, owner: WatchedBackend) -> None:
        self._inner, self._owner, self._noted = inner, owner, False

    def __iter__(self) -> Iterator[str]:
        return iter(self._inner)

    def close(self) -> None:
        self._inner.close()

    def result(self) -> Completion:
        c: Completion = self._inner.result()
        if not self._noted:
            self._noted = True
            self._owner.note(c)
        return c


class WatchedBackend:
    """Forwards to ``backend`` (every attribute too) and counts truncated completions.

    One is made per sample, so the count belongs to that sample even when several samples are
    in flight on one backend.

    Attributes:
        truncated: completions so far with no answer text and finish reason ``length``.
    """

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.truncated = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def note(self, completion: Completion) -> None:
        """Count ``completion`` if it is truncated (see :func:`is_truncated`)."""
        if is_truncated(completion):
            self.truncated += 1

    def generate(self, messages: Sequence[Message], **settings: Any) -> Completion:
        """``backend.generate``, noted."""
        c: Completion = self._backend.generate(messages, **settings)
        self.note(c)
        return c

    def stream(self, messages: Sequence[Message], **settings: Any) -> _WatchedStream:
        """``backend.stream``, whose result is noted."""
        return _WatchedStream(self._backend.stream(messages, **settings), self)


__all__ = ["WatchedBackend", "is_truncated"]
