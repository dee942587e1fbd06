"""The trace of a prediction as typed events: what a method generated, checked, injected,
weighed and decided, in order.

Five kinds of event, told apart by their ``type`` (the discriminator of :data:`TraceEvent`):

- :class:`Segment` (``"segment"``): a piece of generated text (thought or answer);
- :class:`Check` (``"check"``): a verdict on the thought or the answer;
- :class:`Intervention` (``"intervention"``): RPI cut the thought and injected a correction;
- :class:`Candidate` (``"candidate"``): an answer SRM weighed;
- :class:`Decision` (``"decision"``): the answer chosen, and how.

Methods record events with ``CallLog.event("check", name=..., ...)``
(:class:`r2p.methods.common.CallLog`), which builds the typed event with :func:`trace_event`, so an
unknown type, a missing or misspelled field or a value of the wrong type fails at once, and
appends its dict form (:meth:`to_dict`) to :attr:`r2p.types.Prediction.trace`: ``type`` first,
then exactly the fields given, in the order given. Optional fields (``candidate``, ``part``,
``value``, ``distribution``...) are absent from the dict unless given. That dict is what
``r2p personalize --json``, the serve API and ``records.jsonl`` (:mod:`r2p.records`) carry.

Models are strict (no conversion of ``"3"`` to 3) and forbid unknown fields.

Example:
    >>> ev = trace_event("check", name="loop", ok=False, stage=2, detail="repeated sentence")
    >>> type(ev).__name__, ev.ok
    ('Check', False)
    >>> ev.to_dict()
    {'type': 'check', 'name': 'loop', 'ok': False, 'detail': 'repeated sentence', 'stage': 2}
    >>> ev.to_dict(order=["name", "ok", "stage", "detail"])
    {'type': 'check', 'name': 'loop', 'ok': False, 'stage': 2, 'detail': 'repeated sentence'}
    >>> from pydantic import ValidationError
    >>> try:
    ...     trace_event("check", name="loop", ok=False, stage=2, detial="typo")
    ... except ValidationError as exc:
    ...     print([(e["loc"][-1], e["type"]) for e in exc.errors()])
    [('detail', 'missing'), ('detial', 'extra_forbidden')]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

#: What follows an intervention (as :data:`r2p.methods.r2p.corrections.Then`).
Then = Literal["continue", "next_stage", "close"]
#: What closed an R2P thought: the model itself, the intervention cap, or a stage budget.
ClosedBy = Literal["model", "cap", "budget"]
#: How the answer was chosen among the candidates.
How = Literal["single", "distribution", "vote", "llm", "similarity"]
#: What a segment's text is, when it is not a stage of the thought.
Part = Literal["thought", "answer", "srm_samples", "srm_unthought", "srm_reference",
               "srm_reordered"]


def _type_required(schema: dict[str, Any]) -> None:
    """In the JSON schema ``type`` is required: it is always written (:meth:`_Event.to_dict`)
    and tells the kinds apart (its default only spares naming it when building a class)."""
    schema["required"] = ["type", *schema.get("required", [])]


class _Event(BaseModel):
    """Fields and serialization shared by every event."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True,
                              json_schema_extra=_type_required)

    type: str

    def to_dict(self, order: Iterable[str] = ()) -> dict[str, Any]:
        """The event as a trace dict: ``type``, then the fields that were set (optional fields
        not given stay absent), those named in ``order`` first and in that order."""
        d = self.model_dump(exclude_unset=True, exclude={"type"})
        first = [k for k in order if k in d]
        keys = first + [k for k in d if k not in first]
        return {"type": self.type, **{k: d[k] for k in keys}}


class Segment(_Event):
    """A piece of generated text: a stage of the thought, a whole thought, or an answer.

    Attributes:
        stage: the HRT stage (1-3) the text belongs to; None outside a staged thought.
        text: the text generated (never the prefill).
        tokens: completion tokens of the call (or of this part of it).
        finish_reason: the engine's (``"stop"``, ``"length"``, ``"abort"``...).
        part: what the text is when not a stage: ``"thought"``, ``"answer"``, or the SRM
            call that made more candidates (``"srm_samples"``, ``"srm_unthought"``,
            ``"srm_reference"``, several choices joined by ``" | "``; ``"srm_reordered"``,
            the answer with the options in reverse order).
        forced: True for an answer asked for after the thought was closed for the model.
        selection: True for the output of SRM's selection call (``selection="llm"``).
        candidate: the R2P thought (candidate index) this belongs to, with several.
    """

    type: Literal["segment"] = "segment"
    stage: int | None
    text: str
    tokens: int
    finish_reason: str
    part: Part | None = None
    forced: bool | None = None
    selection: bool | None = None
    candidate: int | None = None


class Check(_Event):
    """A check's verdict on the thought or the answer.

    Attributes:
        name: the check (``loop``, ``grounding``, ``stage_order``, ``answer_format``,
            ``answer_repair``, ``thought_closed``, ``rpi_mode``...).
        ok: whether it passed.
        detail: a short human-readable explanation.
        stage: the HRT stage it concerns, or None.
        value: the measured value, when the check has one (a flag, a count, a score).
        candidate: the R2P thought (candidate index) this belongs to, with several.
    """

    type: Literal["check"] = "check"
    name: str
    ok: bool
    detail: str
    stage: int | None
    value: bool | int | float | None = None
    candidate: int | None = None


class Intervention(_Event):
    """RPI cut the thought and injected a correction.

    Attributes:
        reason: the failed check it answers (``copy``, ``loop``, ``grounding``...).
        position: char offset in the thought where it was cut.
        text: the injected correction ("" for none).
        then: what came next: continue the stage, the next stage, or close the thought.
        candidate: the R2P thought (candidate index) this belongs to, with several.
    """

    type: Literal["intervention"] = "intervention"
    reason: str
    position: int
    text: str
    then: Then
    candidate: int | None = None


class Candidate(_Event):
    """An answer SRM weighed.

    Attributes:
        index: its 0-based index (the ``chosen`` of the decision).
        answer: the normalized answer.
        format_ok: whether its raw form met the task's format.
        support: the profile grounding of its thought, in [0, 1].
        reasoning: its thought ("" for answers sampled after another one's thought).
        interventions: RPI interventions in its thought.
        closed_by: what closed its thought.
        distribution: label -> probability read from the answer's token probabilities
            (labels and ratings, when the engine gives them).
    """

    type: Literal["candidate"] = "candidate"
    index: int
    answer: str
    format_ok: bool
    support: float
    reasoning: str
    interventions: int
    closed_by: ClosedBy
    distribution: dict[str, float] | None = None


class Decision(_Event):
    """The answer chosen, and how.

    Attributes:
        how: ``"single"`` (one answer, or all candidates agree), ``"distribution"`` (label
            probabilities), ``"vote"``, ``"llm"`` (a selection call) or ``"similarity"``.
        chosen: the index of the chosen candidate.
        answer: the answer.
        detail: a short explanation (tallies, probabilities, similarities).
        distribution: the combined label probabilities (``how="distribution"``).
    """

    type: Literal["decision"] = "decision"
    how: How
    chosen: int
    answer: str
    detail: str
    distribution: dict[str, float] | None = None


#: One trace event, any kind; ``type`` says which.
TraceEvent = Annotated[Segment | Check | Intervention | Candidate | Decision,
                       Field(discriminator="type")]

#: Validates a dict (or keyword fields) into the right event class.
TRACE_EVENT: TypeAdapter[TraceEvent] = TypeAdapter(TraceEvent)

#: Event ``type`` -> its class.
EVENT_TYPES: dict[str, type[_Event]] = {
    "segment": Segment, "check": Check, "intervention": Intervention,
    "candidate": Candidate, "decision": Decision,
}


def trace_event(type_: str, **fields: Any) -> TraceEvent:
    """Build the typed event ``type_`` from its fields.

    Raises:
        pydantic.ValidationError: ``type_`` is not an event type, or a field is unknown,
            missing or of the wrong type.
    """
    return TRACE_EVENT.validate_python({"type": type_, **fields})


__all__ = [
    "EVENT_TYPES",
    "TRACE_EVENT",
    "Candidate",
    "Check",
    "ClosedBy",
    "Decision",
    "How",
    "Intervention",
    "Part",
    "Segment",
    "Then",
    "TraceEvent",
    "trace_event",
]
