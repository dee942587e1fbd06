"""RPI's corrections: what is injected into the thought after a failed check, as typed values.

A :class:`Correction` says which check it answers, the first-person text put into the thought
at the cut, and what happens next (``then``): the model continues the same stage, the runner
moves on to the next stage, or the thought is closed and the answer asked for. The texts are
short and first-person so the model reads them as its own thought and goes on from them.

Example:
    >>> c = for_copy(2)
    >>> c.reason, c.then
    ('copy', 'continue')
    >>> c.text
    'I will not copy the items. In my own words, [P1] and [P2] show that this user'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Then = Literal["continue", "next_stage", "close"]


@dataclass(frozen=True)
class Correction:
    """One intervention's content.

    Attributes:
        reason: the failed check (``copy``, ``loop``, ``grounding``, ``stage_order``,
            ``stage_budget``, ``answer_format``).
        text: the first-person text injected at the cut ("" for none).
        then: ``"continue"`` the same stage, go to the ``"next_stage"``, or ``"close"`` the
            thought and ask for the answer.
    """

    reason: str
    text: str
    then: Then = "continue"


def cite_hint(k: int) -> str:
    """``[P1] and [P2]`` (or ``[P1]`` with one retrieved item)."""
    return " and ".join(f"[P{i}]" for i in range(1, min(k, 2) + 1))


def for_copy(k: int, stage: int = 2) -> Correction:
    """The thought copies the prompt (an item, the template, the request) verbatim: stage 2
    goes on in the model's own words; elsewhere the copy is dropped and the thought closed."""
    if stage == 3:
        return Correction("copy", "", "close")
    lead = f"In my own words, {cite_hint(k)} show that this user" if k else \
        "In my own words, the point is that"
    return Correction("copy", f"I will not copy the items. {lead}")


def for_grounding(k: int) -> Correction:
    """Stage 2 ended without drawing on the retrieved items."""
    return Correction("grounding", f"Wait, I have not used the user's profile yet. "
                      f"{cite_hint(k)} show that this user")


def for_loop(stage: int) -> Correction:
    """The stage repeats itself: stage 2 moves on; stage 3 and plain thoughts close."""
    if stage == 2:
        return Correction("loop", "I am going in circles.", "next_stage")
    return Correction("loop", "I am going in circles. I have my answer now.", "close")


def for_stage_order(stage: int) -> Correction:
    """The model started another stage's marker inside the current one."""
    return Correction("stage_order", "I have already done that stage.",
                      "next_stage" if stage == 2 else "close")


def for_budget(stage: int) -> Correction:
    """The stage ran out of its token budget."""
    return Correction("stage_budget", "That is enough for this stage.",
                      "next_stage" if stage == 2 else "close")


def for_format(format_hint: str) -> Correction:
    """The answer after the thought misses the required format."""
    return Correction("answer_format", f"Wait, my answer must be {format_hint}. Let me state "
                      f"it exactly that way.", "close")


__all__ = ["Correction", "Then", "cite_hint", "for_budget", "for_copy", "for_format",
           "for_grounding", "for_loop", "for_stage_order"]
