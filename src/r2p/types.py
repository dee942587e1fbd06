"""Value objects shared across r2p: samples, retrieved items, completions, predictions.

Profile items stay plain dicts (as JSON gives them, each with an ``"id"``): the official files are
large and a dict per item is the cheapest faithful representation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ProfileItem = dict[str, Any]
Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": str}


@dataclass(frozen=True, slots=True)
class Sample:
    """One query: its id, the task input, the user's profile and (when known) the gold output."""

    id: str
    input: str
    profile: list[ProfileItem]
    output: str | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class Retrieved:
    """A profile item chosen by a retriever, with its score and 0-based rank."""

    item: ProfileItem
    score: float
    rank: int

    @property
    def id(self) -> str:
        return str(self.item["id"])


@dataclass(slots=True)
class Usage:
    """Token usage. ``cached_tokens`` is the part of ``prompt_tokens`` served from a prompt cache."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.cached_tokens + other.cached_tokens,
            self.completion_tokens + other.completion_tokens,
        )

    @property
    def evaluated_tokens(self) -> int:
        """Prompt tokens actually evaluated (not served from cache)."""
        return self.prompt_tokens - self.cached_tokens


@dataclass(slots=True)
class Choice:
    """One alternative of a completion (``n`` > 1 gives several)."""

    text: str
    reasoning: str = ""
    finish_reason: str = "stop"  # "stop" | "length" | "abort"
    top_logprobs: list[list[tuple[str, float]]] | None = None
    """Per generated token, its most likely alternatives ``(token text, log-probability)``,
    when the request asked for them (``top_logprobs`` > 0) and the engine returns them."""


@dataclass(slots=True)
class Completion:
    """What a backend returns for one request.

    ``text`` is the answer/continuation only (never the prefill); ``reasoning`` is any separate
    reasoning text (a ``reasoning_content`` field, or an inline ``<think>`` block when the
    backend was asked to split it). ``seconds`` is wall time of the request.
    """

    text: str
    reasoning: str = ""
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    choices: list[Choice] = field(default_factory=list)
    raw: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.choices:
            self.choices = [Choice(self.text, self.reasoning, self.finish_reason)]


@dataclass(slots=True)
class Prediction:
    """A method's answer for one sample, with everything needed to audit it.

    Attributes:
        id: the sample id.
        answer: the answer normalized for the task (what is scored).
        raw_output: the model's final raw output (answer part, before normalization).
        reasoning: the reasoning text (the thought), "" for non-reasoning methods.
        format_ok: whether the raw answer met the task's format before any repair.
        retrieved_ids: ids of the profile items put in the prompt, in rank order.
        prompts: every request sent: ``{"messages": [...], "prefill": str|None, ...}``.
        usage: token usage summed over all calls.
        latency_s: wall seconds summed over all calls.
        n_calls: number of backend calls.
        interventions: number of RPI interventions.
        trace: ordered events, each the dict form of a typed event of :mod:`r2p.trace`
            (``segment``, ``check``, ``intervention``, ``candidate``, ``decision``; the
            ``"type"`` key says which, the event classes list the fields).
        method: the method's name.
        error: set when the sample failed (backend error after retries); never scored.
    """

    id: str
    answer: str
    raw_output: str = ""
    reasoning: str = ""
    format_ok: bool = True
    retrieved_ids: list[str] = field(default_factory=list)
    prompts: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    n_calls: int = 0
    interventions: int = 0
    trace: list[dict[str, Any]] = field(default_factory=list)
    method: str = ""
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (usage flattened into a dict)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Prediction:
        d = dict(d)
        d["usage"] = Usage(**d.get("usage", {}))
        return cls(**d)


__all__ = [
    "Choice",
    "Completion",
    "Message",
    "Prediction",
    "ProfileItem",
    "Retrieved",
    "Sample",
    "Usage",
]
