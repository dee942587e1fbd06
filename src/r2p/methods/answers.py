"""Answer extraction: one normalizer per task kind, and the ``format_ok`` measure.

``format_ok`` says whether the raw answer already met the task's format *before* any repair
(the paper's format-misalignment measure): for labels, the stripped answer is exactly a label;
for ratings, exactly one digit 1-5; for generated text, one non-empty line with no preamble
("Here is...", "Paraphrased tweet:") and no wrapping quotes.

Reasoning is always stripped first, through :func:`r2p.reasoning.split_reasoning`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from r2p.errors import ConfigError
from r2p.reasoning import split_reasoning
from r2p.tasks import Task

_ANSWER_IS = re.compile(
    r"^(?:so,?\s*)?(?:the\s+)?(?:final\s+)?(?:answer|category|tag|label|score|rating|output|"
    r"reference)\s*(?:is|:|=)\s*",
    re.IGNORECASE,
)
_PREAMBLE = re.compile(
    r"^(?:sure[,!.]?\s*)?(?:here(?:'s| is| are)\b[^:\n]*:|"
    r"(?:(?:the|my)\s+)?(?:paraphrased?|rewritten|new|final|generated|suggested)?\s*"
    r"(?:tweet|headline|title|subject|answer|response|output|paraphrase)\s*(?:is\s*)?:)\s*",
    re.IGNORECASE,
)
_THINK_TAG_LINE = re.compile(r"\s*(?:[<\[]\s*/?\s*think\s*[>\]]\s*)+", re.IGNORECASE)
ANSWER_CUES = ("Answer:", "Final answer: ")
"""Prefilled after ``</think>`` when a method asks for the answer, tried in order until the
model writes a valid answer (one more short call per cue, only when needed); shared by
``think`` and R2P so both are asked the same way. ``"Answer:"`` first: it ends where a BPE
tokenizer ends a word, while a trailing space leaves the model a token boundary it rarely saw
(Qwen2.5-0.5B then numbers its answer "1. ..."); ``"Final answer: "`` second: SmolLM2-135M
often stops right after a bare ``"Answer:"``. Measured: docs/r2p.md, "Answer cues"."""
ANSWER_CUE = ANSWER_CUES[0]
"""The first cue (kept for callers that want one)."""


def answer_cues(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """The ``answer_cue`` option as a tuple of cues: a string is one cue (``""``: none), a list
    is tried in order, None is the default :data:`ANSWER_CUES`.

    Raises:
        ConfigError: not a string or a non-empty list of strings.

    Example:
        >>> answer_cues("Rating:"), answer_cues(["A:", "B: "]), answer_cues(None)[0]
        (('Rating:',), ('A:', 'B: '), 'Answer:')
    """
    if value is None:
        return ANSWER_CUES
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and value and all(isinstance(c, str) for c in value):
        return tuple(value)
    raise ConfigError(f"answer_cue must be a string or a non-empty list of strings, got "
                      f"{value!r}")

_LETTER = re.compile(r"[^\W\d_]")
_QUOTES = "\"'“”‘’`*"
_EMPHASIS = re.compile(r"(\*{1,2}|_{2})([^*_\n]+?)\1")
_BULLET = re.compile(r"^(?:[-*•>#]+\s+|\d+[.)]\s+)")


def _unmark(s: str) -> str:
    """Drop markdown emphasis (``**x**`` -> ``x``) and a leading bullet or heading mark."""
    return _BULLET.sub("", _EMPHASIS.sub(r"\2", s.strip())).strip()


@dataclass(frozen=True)
class Answer:
    """A normalized answer: ``text`` is what is scored; ``format_ok`` whether the raw complied;
    ``valid`` whether normalization found a valid answer at all (a label, a digit, a line)."""

    text: str
    format_ok: bool
    valid: bool


def _strip_quotes(s: str) -> str:
    """Remove wrapping quotes; a lone unbalanced quote at either end is dropped too, while
    quotes inside the text (``"Hi" she said``) are kept."""
    s = s.strip()
    while len(s) >= 2 and s[0] in _QUOTES and s[-1] in _QUOTES:
        s = s[1:-1].strip()
    if s and s[0] in _QUOTES and s.count(s[0]) % 2 == 1:
        s = s[1:].strip()
    if s and s[-1] in _QUOTES and s.count(s[-1]) % 2 == 1:
        s = s[:-1].strip()
    return s


def _label_key(s: str) -> str:
    return re.sub(r"[\s\"'“”‘’`*.()\[\]]+", " ", s.lower()).strip()


def _mention(label: str) -> re.Pattern[str]:
    """A label mentioned as a whole word (``action`` not inside ``transaction``)."""
    return re.compile(r"(?<![\w-])" + re.escape(label.lower()) + r"(?![\w-])")


_OPTION = re.compile(r'\[(\d)\]:\s*"(.*?)"', re.DOTALL)


def _option_mentioned(labels: tuple[str, ...], raw: str, task_input: str) -> str | None:
    """The label whose quoted option text (LaMP-1's ``[1]: "title"``) the answer quotes or
    starts: the option with the longest prefix (12+ characters) found in the answer."""
    low = " ".join(raw.lower().split())
    best, best_len = None, 11
    for num, title in _OPTION.findall(task_input):
        label = f"[{num}]"
        if label not in labels:
            continue
        t = " ".join(title.lower().split())
        n = len(t)
        while n > best_len and t[:n] not in low:
            n = (n * 3) // 4 if n > 48 else n - 1
        if n > best_len:
            best, best_len = label, n
    return best


def normalize_label(task: Task, raw: str, task_input: str | None = None) -> Answer:
    """Match ``raw`` to one of ``task.labels``, tolerant of case, brackets, quotes and
    "The answer is ..."; otherwise the earliest label mentioned (as a whole word) wins.

    For LaMP-1 (labels ``[1]``/``[2]``) a bracketed ``[n]`` anywhere wins over a bare digit.
    When ``task_input`` lists quoted options (``[1]: "title"``), an answer that quotes one
    of them instead of its number maps to that option's label.
    ``format_ok`` only when the stripped raw answer is exactly a label (the official scorer
    matches exactly and case-sensitively).
    """
    labels = task.labels or ()
    text = raw.strip()
    if text in labels:
        return Answer(text, True, True)
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    cand = _ANSWER_IS.sub("", _strip_quotes(_unmark(first))).rstrip(".")
    keys = {_label_key(lb): lb for lb in labels}
    for c in (cand, _strip_quotes(cand)):
        if _label_key(c) in keys:
            return Answer(keys[_label_key(c)], False, True)
    if labels and all(re.fullmatch(r"\[\d\]", lb) for lb in labels):
        digits = "".join(lb[1:-1] for lb in labels)
        for pattern in (rf"\[\s*([{digits}])\s*\]", rf"(?<![\d.])([{digits}])(?![\d])"):
            m = re.search(pattern, text)
            if m:
                return Answer(f"[{m.group(1)}]", False, True)
        option = _option_mentioned(labels, text, task_input) if task_input else None
        if option is not None:
            return Answer(option, False, True)
        return Answer(first, False, False)
    low = text.lower()
    best: tuple[int, int, str] | None = None
    for lb in labels:
        m = _mention(lb).search(low)
        if m is not None:
            key = (m.start(), -len(lb), lb)
            if best is None or key < best:
                best = key
    if best is not None:
        return Answer(best[2], False, True)
    return Answer(first, False, False)


_SCALE = re.compile(
    r"(?:(?:on\s+)?a\s+scale\s+(?:of|from)\s+)?\b1\s*(?:-|–|to|and|through)\s*5\b"
    r"|\bscale\s+of\s+5\b|(?:/|\bout\s+of\s+)5(?:\.0)?\b",
    re.IGNORECASE,
)
_RATING_DIGIT = re.compile(r"(?<![\d.])([1-5])(?:\.0+)?(?![\d]|\.\d)")
"""A rating digit 1-5, also written "4.0"; not part of a longer number."""
_WORD_DIGITS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5"}


def normalize_rating(task: Task, raw: str) -> Answer:
    """The first valid rating 1-5 in ``raw``; format_ok when ``raw`` is exactly that digit.

    Mentions of the scale itself ("on a scale of 1 to 5", "out of 5", "/5") are ignored, so
    "On a scale of 1 to 5 I'd give it 4" gives ``4``; "4.0" gives ``4``; spelled-out numbers
    ("four stars") are used when no digit is present.
    """
    text = raw.strip()
    if text in (task.labels or ()):
        return Answer(text, True, True)
    scrubbed = _SCALE.sub(" ", text)
    m = _RATING_DIGIT.search(scrubbed)
    if m is None:
        m = re.search(r"(?<![\d.])([1-5])(?![\d])", scrubbed)
    if m:
        return Answer(m.group(1), False, True)
    w = re.search(r"\b(one|two|three|four|five)\b", scrubbed, re.IGNORECASE)
    if w:
        return Answer(_WORD_DIGITS[w.group(1).lower()], False, True)
    return Answer(text.splitlines()[0].strip() if text else "", False, False)


def normalize_text(task: Task, raw: str) -> Answer:
    """First non-empty line without preamble, markdown emphasis or wrapping quotes.

    "Here is the paraphrased tweet:" alone on a line is skipped in favour of the next line.
    ``format_ok`` when the raw answer was exactly one clean line. An answer without a single
    letter (``"."``, ``"1."``) is not valid.
    """
    lines = [ln.strip() for ln in raw.strip().splitlines() if ln.strip()]
    n_raw = len(lines)
    # a line that is only a (mis)spelt think tag ("<think>", "[/think]") is not an answer
    lines = [ln for ln in lines if not _THINK_TAG_LINE.fullmatch(ln)]
    if not lines:
        return Answer("", False, False)
    first = lines[0]
    cleaned = _PREAMBLE.sub("", _unmark(first).lstrip(",;: ")).strip()
    if not cleaned and len(lines) > 1:  # "Here is the tweet:" then the tweet on the next line
        cleaned = _PREAMBLE.sub("", _unmark(lines[1]).lstrip(",;: ")).strip()
    cleaned = _strip_quotes(cleaned)
    ok = n_raw == 1 and cleaned == first
    # a text answer has at least one letter: "." or "1." left by a cut is no answer
    return Answer(cleaned, ok, bool(_LETTER.search(cleaned)))


_PIECES = re.compile(r"(?<=[.!?])\s+|\n+")


def _labels_in(task: Task, text: str) -> set[str]:
    """The distinct labels (ratings) ``text`` mentions; the rating scale itself is not one."""
    labels = task.labels or ()
    if task.kind == "rating":
        scrubbed = _SCALE.sub(" ", text)
        found = set(_RATING_DIGIT.findall(scrubbed))
        found |= {_WORD_DIGITS[w.lower()] for w in
                  re.findall(r"\b(one|two|three|four|five)\b", scrubbed, re.IGNORECASE)}
        return found
    if labels and all(re.fullmatch(r"\[\d\]", lb) for lb in labels):
        digits = "".join(lb[1:-1] for lb in labels)
        return {f"[{d}]" for d in re.findall(rf"(?<![\d.])\[?\s*([{digits}])\s*\]?(?![\d])",
                                             text)}
    low = text.lower()
    return {lb for lb in labels if _mention(lb).search(low)}


def stated_choice(task: Task, text: str) -> Answer | None:
    """The one label or rating a passage of reasoning settles on, or None.

    The passage is read a sentence (or line) at a time. A sentence naming two or more labels
    restates the format or weighs options ("[1] or [2]", "a 4 rather than a 5") and says
    nothing about the choice; among the sentences naming exactly one, the last one that
    introduces an answer ("The rating is 4.", "Final answer: [2]") wins, else the first one.
    ``format_ok`` is False: the answer was not given where it should have been.

    Example:
        >>> from r2p.tasks import get_task
        >>> t = get_task("LaMP_3")
        >>> stated_choice(t, "The answer must be one digit, 1, 2, 3, 4 or 5. I pick 4.").text
        '4'
        >>> stated_choice(t, "It must be a single digit from 1 to 5.") is None
        True
    """
    first: Answer | None = None
    introduced: Answer | None = None
    for piece in _PIECES.split(text):
        found = _labels_in(task, piece)
        if len(found) != 1:
            continue
        a = Answer(found.pop(), False, True)
        first = first or a
        if _ANSWER_IS.match(_unmark(piece).lstrip(",;: ")) or introduces_answer(piece) \
                or re.search(r"\b(?:answer|rating|label|category|choose|pick|select)\b",
                             piece, re.IGNORECASE):
            introduced = a
    return introduced or first


def introduces_answer(line: str) -> bool:
    """Whether ``line`` opens with an answer preamble ("Final answer:", "Here is the tweet:").

    Example:
        >>> introduces_answer("**Final answer:** sunny day"), introduces_answer("sunny day")
        (True, False)
    """
    return bool(_PREAMBLE.match(_unmark(line).lstrip(",;: ")))


def normalize(task: Task, output: str, *, started_open: bool = False,
              task_input: str | None = None) -> Answer:
    """Normalize a model output for ``task``: strip reasoning, then the task kind's rule.

    Args:
        task: the task.
        output: raw model output (may hold ``<think>...</think>``).
        started_open: the output starts inside an open think block.
        task_input: the sample's input, when known: lets an answer that names an option by its
            text (LaMP-1's quoted reference titles) map to the option's label.

    Example:
        >>> from r2p.tasks import get_task
        >>> normalize(get_task("LaMP_3"), "<think>ok</think>The score is 4.").text
        '4'
    """
    answer = split_reasoning(output, started_open=started_open).answer
    if task.kind == "classification":
        return normalize_label(task, answer, task_input)
    if task.kind == "rating":
        return normalize_rating(task, answer)
    return normalize_text(task, answer)


__all__ = [
    "ANSWER_CUE", "ANSWER_CUES", "Answer", "answer_cues", "introduces_answer", "normalize", "normalize_label", "normalize_rating",
    "normalize_text", "stated_choice"]
