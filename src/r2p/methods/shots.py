"""The reference LaMP RAG prompt: retrieved profile items rendered as the task's "shots".

This module reproduces the prompt construction of the LaMP reference code
(``LaMP/prompts/prompts.py``), task by task, including its token budget:

* the prompt gets ``max_length`` tokens (reference default 512); the input keeps
  ``min(len(input), 0.6 * max_length)`` of them and the shots share the rest;
* that share is split evenly across the k items (minus 2 tokens per ``", and "`` joiner, one
  for the final ``"."`` and the fixed tail such as ``"Following the given patterns"``);
* each item's text is truncated to its share (minus its fixed wrapper); the tokens an item
  does not use carry over to the next item.

Shots are joined with ``", and "`` and put before the input; LaMP-1 instead inserts its quoted
profile titles after the first ``"title"`` of the input, as the reference does. The reference's
odd spacing (a space after each closing quote) is kept on purpose, so that prompts match.
The generic personalized-response family (free-form requests, no LaMP reference) lists the
items, each cut to :data:`GENERIC_ITEM_WORDS` words, before the request.

Token counting is pluggable (:class:`TokenCounter`). The default :class:`ApproxCounter` is a
fast, dependency-free approximation of a BPE tokenizer (see its docstring); the prompt is
always logged exactly, so the approximation changes which characters are kept, never what is
recorded.

Example:
    >>> from r2p.tasks import get_task
    >>> items = [{"id": "1", "text": "great card", "score": "5"}]
    >>> build_prompt(get_task("LaMP_3"), "What is the score? review: nice", items)
    '5 is the score for "great card" . What is the score? review: nice'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from r2p.tasks import Task
from r2p.types import ProfileItem

DEFAULT_MAX_LENGTH = 512
"""The reference code's prompt budget in tokens (``max_length`` of its prompt generator)."""

INPUT_SHARE = 0.6
"""The largest share of the budget the task input may keep (the reference's ``factor``)."""


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens and truncates text to a token budget."""

    def count(self, text: str) -> int:
        """Number of tokens in ``text``."""
        ...

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of ``text`` with at most ``max_tokens`` tokens."""
        ...


_PIECE = re.compile(r"[^\W\d_]+|\d|[^\w\s]|_", re.UNICODE)


class ApproxCounter:
    """A fast approximation of a BPE tokenizer's count, with no model and no dependency.

    Text is cut into pieces: runs of letters, single digits, single punctuation marks. A run of
    letters costs ``1 + (len - 1) // chars_per_token`` tokens (common short words are one
    token, long rare words several), each digit and punctuation mark one token
    (``chars_per_token=6`` by default; its ratio to a real tokenizer is in docs/methods.md).

    Example:
        >>> ApproxCounter().count("The score is 5.")
        5
        >>> ApproxCounter().truncate("one two three", 2)
        'one two'
    """

    def __init__(self, chars_per_token: int = 6) -> None:
        if chars_per_token < 1:
            raise ValueError("chars_per_token must be >= 1")
        self.chars_per_token = chars_per_token

    def _cost(self, piece: str) -> int:
        if piece[0].isalpha():
            return 1 + (len(piece) - 1) // self.chars_per_token
        return 1

    def count(self, text: str) -> int:
        """Approximate number of tokens in ``text``."""
        return sum(self._cost(m.group()) for m in _PIECE.finditer(text))

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of ``text`` (cut at a piece boundary) within ``max_tokens``."""
        if max_tokens <= 0:
            return ""
        used, end = 0, 0
        for m in _PIECE.finditer(text):
            cost = self._cost(m.group())
            if used + cost > max_tokens:
                return text[:end]
            used += cost
            end = m.end()
        return text


@dataclass(frozen=True)
class _Shot:
    """How one task renders a profile item: the text to truncate and its wrapper."""

    text_field: str
    render: Callable[[ProfileItem, str], str]


def _q(s: object) -> str:
    return str(s)


# Each renderer takes (item, truncated text) and returns the shot, exactly as the reference.
_SHOTS: dict[str, _Shot] = {
    "LaMP_2N": _Shot("text", lambda p, t: f'the category for the article: "{t}" is '
                                          f'"{_q(p["category"])}" '),
    "LaMP_2": _Shot("description", lambda p, t: f'the tag for the movie: "{t}" is '
                                                f'"{_q(p["tag"])}" '),
    "LaMP_3": _Shot("text", lambda p, t: f'{_q(p["score"])} is the score for "{t}" '),
    "LaMP_4": _Shot("text", lambda p, t: f'"{_q(p["title"])}" is the title for "{t}" '),
    "LaMP_5": _Shot("abstract", lambda p, t: f'"{_q(p["title"])}" is a title for "{t}" '),
    "LaMP_6": _Shot("text", lambda p, t: f'"{_q(p["title"])}" is the title for "{t}" '),
    "LaMP_7": _Shot("text", lambda p, t: f'"{t}" '),
}

# Fixed text after the shots (and counted against the budget), per task.
_TAILS: dict[str, str] = {
    "LaMP_5": "Following the given patterns",
    "LaMP_7": "are written by a person. Following the given patterns",
}


def _budget(task: Task, inp: str, k: int, max_length: int, counter: TokenCounter) -> int:
    """Tokens available to each of the k shots, before their wrappers."""
    prompt_len = max_length - min(counter.count(inp), int(INPUT_SHARE * max_length))
    tail = _TAILS.get(task.name)
    # The reference budgets LaMP-7 against "are written by user. ...", a few tokens shorter
    # than the text it then writes; we budget against the text actually written.
    fixed = (counter.count(tail) if tail else 0) + (0 if task.name == "LaMP_1" else 1)
    return (prompt_len - fixed - 2 * (k - 1)) // k


def _lamp1(inp: str, items: Sequence[ProfileItem], per: int, counter: TokenCounter) -> str:
    saved, quoted = 0, []
    for p in items:
        title = counter.truncate(str(p.get("title", "")), per + saved - 2)
        saved += per - counter.count(title) - 2
        quoted.append(f'"{title}"')
    i = inp.find("title")
    if i < 0:
        return inp
    return inp[: i + 5] + ", and " + ", and ".join(quoted) + inp[i + 5:]


def render_shots(
    task: Task,
    items: Sequence[ProfileItem],
    per_item: int,
    counter: TokenCounter,
) -> list[str]:
    """Render ``items`` as the task's shots, each truncated to its share of ``per_item``.

    Tokens an item does not use carry over to the next one, as in the reference code.
    Not defined for LaMP-1 (its titles go inside the input; see :func:`build_prompt`).
    """
    shot = _SHOTS[task.name]
    saved, out = 0, []
    for p in items:
        needed = counter.count(shot.render(p, " "))
        text = counter.truncate(str(p.get(shot.text_field, "")), per_item + saved - needed)
        saved += per_item - counter.count(text) - needed
        out.append(shot.render(p, text))
    return out


GENERIC_ITEM_WORDS = 48
"""Each retrieved item is cut to this many words in the generic family's prompt."""


def generic_prompt(task: Task, inp: str, items: Sequence[ProfileItem]) -> str:
    """The generic family's prompt: the items as a list, then the request.

    Example:
        >>> from r2p.tasks import GENERIC
        >>> print(generic_prompt(GENERIC, "Plan my Sunday.", [{"id": "1", "text": "I climb."}]))
        Items from this user's history:
        - I climb.
        <BLANKLINE>
        Plan my Sunday.
    """
    lines = []
    for item in items:
        words = task.index_text(item).split()
        cut = " ".join(words[:GENERIC_ITEM_WORDS]) + (" ..." if len(words) >
                                                       GENERIC_ITEM_WORDS else "")
        lines.append(f"- {cut}")
    return "Items from this user's history:\n" + "\n".join(lines) + f"\n\n{inp}"


def build_prompt(
    task: Task,
    inp: str,
    items: Sequence[ProfileItem],
    *,
    max_length: int = DEFAULT_MAX_LENGTH,
    counter: TokenCounter | None = None,
) -> str:
    """The reference LaMP prompt for ``inp`` with the retrieved profile ``items``.

    Args:
        task: the task (its name picks the shot format).
        inp: the task input, as in the data.
        items: retrieved profile items in rank order; empty gives the input unchanged (k = 0).
        max_length: the token budget of the whole prompt (reference default 512).
        counter: token counter; default :class:`ApproxCounter`.

    Returns:
        The prompt text. Items whose share is used up by their wrapper keep an empty text.
    """
    if not items:
        return inp
    if task.family == "generic":
        return generic_prompt(task, inp, items)
    counter = counter or ApproxCounter()
    per = _budget(task, inp, len(items), max_length, counter)
    if task.name == "LaMP_1":
        return _lamp1(inp, items, per, counter)
    shots = ", and ".join(render_shots(task, items, per, counter))
    tail = _TAILS.get(task.name)
    if task.name == "LaMP_7":
        return f"{shots} {tail} {inp}"
    if tail:
        return f"{shots}. {tail} {inp}"
    return f"{shots}. {inp}"


__all__ = [
    "DEFAULT_MAX_LENGTH",
    "INPUT_SHARE",
    "ApproxCounter",
    "TokenCounter",
    "GENERIC_ITEM_WORDS",
    "build_prompt",
    "generic_prompt",
    "render_shots",
]
