"""The only place in r2p that splits ``<think>...</think>answer``.

Reasoning models put their thought either in a separate field of the response
(``reasoning_content`` / ``reasoning``) or inline, between ``<think>`` and ``</think>``.
Chat templates of R1 distills open the think block in the prompt, so the output may hold only
``thought</think>answer`` (no opening tag). :func:`split_reasoning` handles all three shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
_OPEN_RE = re.compile(r"<think>", re.IGNORECASE)
_CLOSE_RE = re.compile(r"</think>", re.IGNORECASE)


@dataclass(frozen=True)
class Split:
    """A model output split into its reasoning and its answer.

    Attributes:
        reasoning: the thought text (without tags), "" when there is none.
        answer: the text after the thought (or the whole text when there is no thought).
        closed: False when a thought was opened but never closed (the answer is then "").
    """

    reasoning: str
    answer: str
    closed: bool = True


def split_reasoning(text: str, *, started_open: bool = False) -> Split:
    """Split ``text`` into reasoning and answer.

    Args:
        text: raw model output.
        started_open: True when the prompt (template or prefill) already opened ``<think>``,
            so the text starts inside the thought.

    Returns:
        A :class:`Split`. An unclosed thought yields ``answer=""`` and ``closed=False``.

    Example:
        >>> split_reasoning("<think>hmm</think> [1]").answer
        '[1]'
        >>> split_reasoning("hmm</think>5", started_open=True).reasoning
        'hmm'
    """
    m_open = _OPEN_RE.search(text)
    m_close = _CLOSE_RE.search(text)
    if m_open and (m_close is None or m_open.start() < m_close.start()):
        before = text[: m_open.start()]
        rest = text[m_open.end():]
        m_close = _CLOSE_RE.search(rest)
        if m_close is None:
            return Split(reasoning=rest.strip(), answer="", closed=False)
        reasoning = rest[: m_close.start()]
        answer = (before + rest[m_close.end():])
        return Split(reasoning=reasoning.strip(), answer=answer.strip(), closed=True)
    if m_close is not None:
        return Split(reasoning=text[: m_close.start()].strip(),
                     answer=text[m_close.end():].strip(), closed=True)
    if started_open:
        return Split(reasoning=text.strip(), answer="", closed=False)
    return Split(reasoning="", answer=text.strip(), closed=True)


def merge_reasoning(content: str, reasoning_field: str | None) -> Split:
    """Combine a response's separate reasoning field with inline ``<think>`` content.

    Servers with a reasoning parser return the thought in ``reasoning_content``/``reasoning``
    and the answer in ``content``; others leave ``<think>`` inline. Both end up in one Split.
    """
    inline = split_reasoning(content)
    parts = [p for p in ((reasoning_field or "").strip(), inline.reasoning) if p]
    return Split(reasoning="\n".join(parts), answer=inline.answer, closed=inline.closed)


def join_prefill(rendered: str, prefill: str | None) -> str:
    r"""The prompt that continues ``prefill`` after the ``rendered`` generation prompt, without
    opening a second think block.

    Templates of reasoning models (R1 distills, QwQ) end their generation prompt with
    ``<think>\n``: the model starts inside its thought. A method that prefills
    ``"<think>\n" + thought`` (R2P's interventions, think's closing call) then continues that
    same block; the tag and the whitespace the template already wrote are not repeated. Any
    other prefill is appended as it is. The result depends only on the two strings, so the
    prompts of successive continuations share their prefix byte for byte (prompt cache).

    Example:
        >>> join_prefill("<|assistant|>\n<think>\n", "<think>\nStage 1 -")
        '<|assistant|>\n<think>\nStage 1 -'
        >>> join_prefill("<|assistant|>\n", "<think>\nStage 1 -")
        '<|assistant|>\n<think>\nStage 1 -'
    """
    if not prefill:
        return rendered
    idx = rendered.rfind(THINK_OPEN)
    head = prefill.lstrip()
    if idx < 0 or rendered[idx + len(THINK_OPEN):].strip() or not head.startswith(THINK_OPEN):
        return rendered + prefill
    tail = rendered[idx + len(THINK_OPEN):]  # the whitespace the template put after the tag
    rest = head[len(THINK_OPEN):]
    rest = rest[len(tail):] if rest.startswith(tail) else rest.lstrip("\n") if tail else rest
    return rendered + rest


__all__ = ["THINK_CLOSE", "THINK_OPEN", "Split", "join_prefill", "merge_reasoning",
           "split_reasoning"]
