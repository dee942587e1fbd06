"""R2P's settings: one validated, frozen config, the only home of R2P's defaults.

Every option of :class:`~r2p.methods.r2p.method.R2PMethod` is a field here; the method, the
RPI runner and SRM read them from one :class:`R2PConfig`. Token budgets left at ``None`` are
sized per task kind (:data:`SYNTHESIS_TOKENS`, :data:`RESPONSE_TOKENS`, and rag's answer
budget :data:`~r2p.methods.rag.DEFAULT_ANSWER_TOKENS`), resolved by :meth:`R2PConfig.budgets`.

Example:
    >>> cfg = R2PConfig(n_candidates=2)
    >>> cfg.budgets("rating")
    Budgets(synthesis=64, response=24, answer=8)
    >>> R2PConfig(n_candidates=0)                            # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    r2p.errors.ConfigError: R2P option n_candidates: Input should be greater than or equal to 1...
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from r2p._validation import config_error
from r2p.methods.answers import ANSWER_CUES
from r2p.methods.rag import DEFAULT_ANSWER_TOKENS

SYNTHESIS_TOKENS: dict[str, int] = {"classification": 64, "rating": 64, "generation": 64}
"""Stage 2 (the user-profile synthesis) budget per task kind: two or three short sentences."""
RESPONSE_TOKENS: dict[str, int] = {"classification": 0, "rating": 24, "generation": 0}
"""Stage 3 inside the thought per task kind: one sentence weighing a rating against the user's
usual scores; 0 for text, whose response *is* the answer written after the thought, and for
labels, whose choice is read from the answer's distribution (a sentence there cost a third of
R2P's time on LaMP-1 and is left to ``response_tokens``)."""

class Budgets(NamedTuple):
    """Resolved token budgets of one thought: stage 2, stage 3 (in the thought), the answer."""

    synthesis: int
    response: int
    answer: int


class R2PConfig(BaseModel):
    """R2P's options (see :class:`~r2p.methods.r2p.method.R2PMethod` for their meaning).

    Raises:
        ConfigError: an unknown option or a value out of range (one line naming the option).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    hrt: bool = True
    rpi: bool = True
    srm: bool = True
    n_candidates: int = Field(2, ge=1, le=16)
    max_interventions: int = Field(0, ge=0, le=8)
    """RPI's corrections per thought. 0 (default): a failing check cuts the stage where it was
    clean and injects nothing. In the study no correction paid: on LaMP-7 a corrected thought
    answered worse than the same thought left alone (ROUGE-1 -0.081 [-0.168, -0.009]), and on
    labels and ratings corrections changed no answer on either local model while costing a call
    each (docs/r2p.md). Set it to inject corrections (the paper's RPI) with a model where they
    pay."""
    synthesis_tokens: int | None = Field(None, ge=1)
    response_tokens: int | None = Field(None, ge=0)
    answer_tokens: int | None = Field(None, ge=1)
    selection: Literal["similarity", "llm"] = "similarity"
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    sample_temperature: float = Field(0.7, ge=0.0, le=2.0)
    seed: int = 0
    grounding_threshold: float = Field(0.25, ge=0.0, le=1.0)
    copy_words: int = Field(10, ge=3, le=64)
    prompt_version: str = "v3"
    answer_cue: tuple[str, ...] = ANSWER_CUES
    top_logprobs: int = Field(10, ge=0, le=20)
    confidence: float = Field(0.6, ge=0.0, le=1.0)
    reference_candidate: bool = True
    extra_thoughts: int = Field(0, ge=0, le=8)
    option_order: bool = False
    synthesis: Literal["query", "user"] = "query"
    synthesis_items: int = Field(4, ge=1, le=32)

    @field_validator("answer_cue", mode="before")
    @classmethod
    def _cues(cls, value: Any) -> Any:
        if value is None:
            return ANSWER_CUES
        if isinstance(value, str):
            return (value,)
        if isinstance(value, (list, tuple)) and not value:
            raise ValueError("must be a string or a non-empty list of strings")
        return value

    @model_validator(mode="after")
    def _user_synthesis_needs_hrt(self) -> R2PConfig:
        if self.synthesis == "user" and not self.hrt:
            raise ValueError("synthesis='user' reuses HRT's stage 2 and needs hrt=True")
        return self

    def __init__(self, **options: Any) -> None:
        try:
            super().__init__(**options)
        except ValidationError as exc:
            raise config_error(exc, "R2P", type(self).model_fields) from None

    def budgets(self, kind: str) -> Budgets:
        """The token budgets for a task of ``kind`` (set values win over the per-kind table)."""
        return Budgets(
            self.synthesis_tokens if self.synthesis_tokens is not None
            else SYNTHESIS_TOKENS[kind],
            self.response_tokens if self.response_tokens is not None else RESPONSE_TOKENS[kind],
            self.answer_tokens if self.answer_tokens is not None
            else DEFAULT_ANSWER_TOKENS[kind])

    def options(self) -> dict[str, Any]:
        """Every option as JSON-ready values (run configs and store keys)."""
        out = self.model_dump()
        out["answer_cue"] = list(self.answer_cue)
        return out


__all__ = ["RESPONSE_TOKENS", "SYNTHESIS_TOKENS", "Budgets", "R2PConfig"]
