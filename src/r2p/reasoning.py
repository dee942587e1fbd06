"""The only place in r2p that splits ``<think>...</think>answer``.

Reasoning models put their thought either in a separate field of the response
(``reasoning_content`` / ``reasoning``) or inline, between ``<think>`` and ``</think>``.
Chat templates of R1 distills open the think block in the prompt, so the output may hold only
``thought</think>answer`` (no opening tag). :func:`split_reasoning` parses the tags;
:func:`split_output` is what every backend calls to turn an engine's output into a
completion's ``(text, reasoning)``, the engine's shape (a field, tags, a thought the template
opened, a continued prefill) given as its inputs; :func:`merge_reasoning` is the same for a
completion's text and reasoning read back by a method.
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


def split_output(text: str, *, native: bool, continued: bool = False,
                 reasoning_field: str | None = None, started_open: bool = False) -> Split:
    """Split an engine's raw output into a completion's answer and reasoning.

    Every backend routes its output (each choice, and a stream's final text) through here;
    what differs between engines is given as the inputs.

    Args:
        text: the generated text (``content``), without the prefill.
        native: the model reasons natively (the backend's ``native_reasoning``). Otherwise the
            text is the answer as generated (a method that prefilled ``<think>`` parses
            prefill + text itself) and a reasoning field, if any, is the reasoning.
        continued: the request had a prefill: the caller owns the thought, so the raw
            continuation is the answer. A thought a server's reasoning parser moved to
            ``reasoning_field`` is put back in front, closed by ``</think>`` when an answer
            followed it.
        reasoning_field: the thought a server returned in a separate field
            (``reasoning_content`` / ``reasoning``); joined before an inline thought.
        started_open: the template opened the thought (the text starts inside it): text with
            no ``</think>`` is then an unclosed thought, not an answer.

    Returns:
        A :class:`Split` (``reasoning`` and ``answer`` stripped when a native thought was
        split; as generated otherwise).

    Example:
        >>> split_output("<think>hmm</think> [1]", native=True)
        Split(reasoning='hmm', answer='[1]', closed=True)
        >>> split_output(" [1]", native=True, reasoning_field="hmm")
        Split(reasoning='hmm', answer='[1]', closed=True)
        >>> split_output("hmm, still", native=True, started_open=True)
        Split(reasoning='hmm, still', answer='', closed=False)
        >>> split_output(" 4", native=True, continued=True, reasoning_field="so")
        Split(reasoning='', answer='so</think> 4', closed=True)
        >>> split_output(" [1] ", native=False)
        Split(reasoning='', answer=' [1] ', closed=True)
    """
    field = reasoning_field or ""
    if continued:
        if field.strip():
            return Split(reasoning="", answer=field + (THINK_CLOSE + text if text.strip() else ""))
        return Split(reasoning="", answer=text)
    if not native:
        return Split(reasoning=field.strip(), answer=text)
    inline = split_reasoning(text, started_open=started_open)
    parts = [p for p in (field.strip(), inline.reasoning) if p]
    return Split(reasoning="\n".join(parts), answer=inline.answer, closed=inline.closed)


def merge_reasoning(content: str, reasoning_field: str | None) -> Split:
    """Combine a response's separate reasoning field with inline ``<think>`` content.

    Servers with a reasoning parser return the thought in ``reasoning_content``/``reasoning``
    and the answer in ``content``; others leave ``<think>`` inline. Both end up in one Split
    (:func:`split_output` of a native reasoning model's output).

    Example:
        >>> merge_reasoning("<think>b</think> [2]", "a")
        Split(reasoning='a\\nb', answer='[2]', closed=True)
    """
    return split_output(content, native=True, reasoning_field=reasoning_field)


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
           "split_output", "split_reasoning"]
