"""What every method needs around backend calls: one :class:`CallLog` per prediction that
records each request (messages, prefill, settings), sums usage and latency, and keeps the trace.

A method gives the sampling settings as keywords; the log builds the one
:class:`~r2p.backends.base.GenerationSettings` the backend takes, and records the keywords as
they were given (the settings the method chose, in its order), so a record does not change when
a default does.

Example:
    >>> log = CallLog()
    >>> # c = log.generate(backend, messages, prefill="<think>\\n", max_tokens=64)
    >>> # pred = log.prediction(sample.id, answer=..., method="think")
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from r2p.backends.base import Backend, GenerationSettings
from r2p.trace import TraceEvent, trace_event
from r2p.types import Completion, Message, Prediction, Usage


@dataclass
class CallLog:
    """Accumulates prompts, usage, latency and trace events over a prediction's calls."""

    prompts: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    n_calls: int = 0
    trace: list[dict[str, Any]] = field(default_factory=list)
    interventions: int = 0

    def generate(
        self,
        backend: Backend,
        messages: Sequence[Message],
        *,
        prefill: str | None = None,
        **settings: Any,
    ) -> Completion:
        """Call ``backend.generate`` and record the request, its usage and its latency.

        ``settings`` are :class:`~r2p.backends.base.GenerationSettings` fields (``max_tokens``,
        ``temperature``, ...); a name that is none raises ``TypeError`` before any call."""
        request = GenerationSettings(**settings)
        self.prompts.append(
            {"messages": [dict(m) for m in messages], "prefill": prefill, **settings}
        )
        completion = backend.generate(messages, prefill=prefill, settings=request)
        self.usage = self.usage + completion.usage
        self.latency_s += completion.seconds
        self.n_calls += 1
        return completion

    def stream(
        self,
        backend: Backend,
        messages: Sequence[Message],
        *,
        prefill: str | None = None,
        watch: Callable[[str], bool] | None = None,
        **settings: Any,
    ) -> Completion:
        """Stream a generation, calling ``watch(text so far)`` after every chunk; when it
        returns True the stream is closed at once (the engine stops generating, finish reason
        ``"abort"``). Recorded like :meth:`generate` (the request carries ``stream: True``)."""
        request = GenerationSettings(**settings)
        self.prompts.append(
            {"messages": [dict(m) for m in messages], "prefill": prefill, "stream": True,
             **settings})
        t0 = time.perf_counter()
        s = backend.stream(messages, prefill=prefill, settings=request)
        text = ""
        try:
            for chunk in s:
                text += chunk
                if watch is not None and watch(text):
                    s.close()
                    break
        except BaseException:
            s.close()
            raise
        completion = s.result()
        if not completion.seconds:
            completion.seconds = time.perf_counter() - t0
        self.usage = self.usage + completion.usage
        self.latency_s += completion.seconds
        self.n_calls += 1
        return completion

    def event(self, type_: str, **fields: Any) -> TraceEvent:
        """Record a trace event: build the typed event (:func:`r2p.trace.trace_event`: an
        unknown type or field, or a wrong type, raises ``pydantic.ValidationError``) and append
        its dict ``{"type": type_, **fields}`` (fields in the order given) to the trace."""
        ev = trace_event(type_, **fields)
        self.trace.append(ev.to_dict(order=fields))
        return ev

    def prediction(self, sample_id: str, **fields: Any) -> Prediction:
        """Build the :class:`Prediction` with everything recorded so far."""
        return Prediction(
            id=sample_id,
            prompts=self.prompts,
            usage=self.usage,
            latency_s=self.latency_s,
            n_calls=self.n_calls,
            trace=self.trace,
            interventions=self.interventions,
            **fields,
        )


__all__ = ["CallLog"]
