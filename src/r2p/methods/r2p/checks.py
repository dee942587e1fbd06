"""RPI's checks: pure functions over the thought as it is generated, and over answers.

* :class:`PromptRuns` / ``copy``: the thought copies the prompt verbatim (a profile item, the
  template's own instructions, the request) for :attr:`R2PConfig.copy_words` words or more.
  Small models fill a "synthesis" with the items pasted back; that is paid for and is no
  analysis, so the thought is cut where the copy starts, as soon as it is seen.
* ``loop`` (repeated sentences, hesitation runs, repeated phrases), via
  :func:`~r2p.methods.r2p.monitor.loop_spans`.
* ``stage_order``: a stage marker inside a stage (the next one ends the stage normally; an
  earlier or a repeated one is a violation).
* ``grounding``: once stage 2 is over it must draw on the retrieved items
  (:func:`~r2p.methods.r2p.monitor.profile_grounding`).
* :func:`echoes_scaffold` / :func:`strip_scaffold`: an answer that parrots the method's own
  text (a correction, the format hint) is no answer.

:class:`StageWatch` runs the in-stage checks on every streamed chunk; the first failure stops
the stream. Everything here is a function of text: no model, no backend.

Example:
    >>> runs = PromptRuns(["[P1] nope the only bit i supplied was the tea"], 5)
    >>> runs.find("This user is terse. [P1] nope the only bit i supplied")
    (21, 'p1 nope the only bit')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from r2p.methods.r2p import corrections
from r2p.methods.r2p.corrections import Correction
from r2p.methods.r2p.monitor import Check, loop_spans, marker_positions, profile_grounding

ECHO_WORDS = 5
"""An answer sharing a run of this many words with the method's own text echoes it."""
_WORDS_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?", re.IGNORECASE)
_CITATION_RE = re.compile(r"\[P\d+\]")
_CONTRACTIONS = (("n't", " not"), ("'m", " am"), ("'re", " are"), ("'ve", " have"),
                 ("'ll", " will"), ("'d", " would"))


def _expand(text: str) -> str:
    low = text.lower().replace("\u2019", "'")
    for short, full in _CONTRACTIONS:  # "I'm going in circles" repeats "I am going in circles"
        low = low.replace(short, full)
    return low


def _word_runs(text: str, n: int = ECHO_WORDS) -> set[tuple[str, ...]]:
    words = _WORDS_RE.findall(_expand(text))
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def echoes_scaffold(answer: str, scaffold: Sequence[str]) -> bool:
    """Whether ``answer`` repeats the method's own text: a run of :data:`ECHO_WORDS` words
    from one of ``scaffold`` (injected corrections, the format hint), or the template's profile
    citations (``[P1]``: an answer never cites the numbered items; one that does is a copied
    item or a note about it).

    Example:
        >>> echoes_scaffold("I have not used the user's profile yet.",
        ...                 ["Wait, I have not used the user's profile yet."])
        True
        >>> echoes_scaffold("peach cobbler is the best pie", ["the tweet on a single line"])
        False
        >>> echoes_scaffold("[P4] @JenJan why do you always have stalkers", [])
        True
        >>> echoes_scaffold("I'm going in circles.", ["I am going in circles. I have my answer."])
        True
    """
    if _CITATION_RE.search(answer):
        return True
    runs = _word_runs(answer)
    return any(runs & _word_runs(t) for t in scaffold if t)


def strip_scaffold(text: str, scaffold: Sequence[str]) -> str:
    """``text`` without the method's own sentences: each scaffold text, and each of its
    sentences, removed wherever it occurs (the model may have copied it)."""
    pieces: list[str] = []
    for t in scaffold:
        pieces.append(t.strip())
        pieces.extend(p.strip() for p in re.split(r"(?<=[.!?])\s+|\n+", t))
    for piece in sorted({p for p in pieces if len(p.split()) >= 3}, key=len, reverse=True):
        text = text.replace(piece, " ")
    return text


def sentence_start(text: str, offset: int) -> int:
    """The start of the sentence or line holding ``offset`` (0 when it is the first).

    >>> sentence_start("One. Two three", 9)
    5
    """
    head = text[:offset]
    ends = [head.rfind(p) + len(p) for p in (". ", "! ", "? ", "\n") if p in head]
    return max(ends, default=0)


class PromptRuns:
    """Every run of ``n`` words of the prompt's texts, to find a thought copying them.

    Words are lower-cased letters and digits (``[P1]`` is the word ``p1``), contractions
    expanded, so a copy is found whatever its punctuation or case.
    """

    def __init__(self, texts: Sequence[str], n: int) -> None:
        self.n = n
        self.runs: set[tuple[str, ...]] = set()
        for t in texts:
            self.runs |= _word_runs(t, n)

    def find(self, text: str) -> tuple[int, str] | None:
        """``(char offset where the first copied run starts, the run)`` or None."""
        words = list(_WORDS_RE.finditer(text))
        keys = [_expand(w.group(0)) for w in words]
        # an expanded contraction is two words: compare on the expanded word list
        flat: list[tuple[str, int]] = []
        for w, key in zip(words, keys):
            flat.extend((part, w.start()) for part in key.split())
        for i in range(len(flat) - self.n + 1):
            gram = tuple(p for p, _ in flat[i:i + self.n])
            if gram in self.runs:
                return flat[i][1], " ".join(gram)
        return None


@dataclass
class Violation:
    """A failed in-stage check: the check, the correction to inject, and the cut (a char
    offset in the stage's text, where the clean part ends)."""

    check: Check
    correction: Correction
    cut: int


@dataclass
class StageWatch:
    """Runs the in-stage checks on the text of one stage as it streams in.

    Call it with the stage's text so far; it returns True when the stream should stop: a check
    failed (:attr:`violation`) or the model started the next stage itself (:attr:`moved_on`,
    the offset of that marker).

    Args:
        stage: the stage being written (2 or 3; 0 for a thought without the template).
        runs: the prompt's word runs (the copy check), or None to skip it.
        k: number of retrieved items (corrections cite them).
        injected: corrections already in the stage: blanked out (same length, so offsets
            hold) before the loop check, so that two corrections are not a repetition.
    """

    stage: int
    runs: PromptRuns | None
    k: int
    injected: Sequence[str] = ()
    violation: Violation | None = None
    moved_on: int | None = None
    checked: set[str] = field(default_factory=set)

    def __call__(self, text: str) -> bool:
        self.violation, self.moved_on = None, None
        if self._markers(text):
            return True
        self.violation = self._copy(text) or self._loop(text)
        return self.violation is not None

    def _markers(self, text: str) -> bool:
        for s, start, _end in marker_positions(text):
            if self.stage and s == self.stage + 1:
                self.moved_on = start
                return True
            if self.stage:
                cut = sentence_start(text, start)
                self.violation = Violation(
                    Check("stage_order", False, f"Stage {s} started inside Stage {self.stage}",
                          self.stage, cut), corrections.for_stage_order(self.stage), cut)
                return True
        return False

    def _copy(self, text: str) -> Violation | None:
        if self.runs is None:
            return None
        self.checked.add("copy")
        hit = self.runs.find(text)
        if hit is None:
            return None
        cut = sentence_start(text, hit[0])
        return Violation(Check("copy", False, f"copies the prompt: {hit[1]!r}",
                               self.stage or None, cut), corrections.for_copy(self.k, self.stage),
                         cut)

    def _loop(self, text: str) -> Violation | None:
        self.checked.add("loop")
        for inj in self.injected:
            text = text.replace(inj, " " * len(inj))
        found = loop_spans(text)
        if not found:
            return None
        cut, what = found[0]
        return Violation(Check("loop", False, what, self.stage or None, cut),
                         corrections.for_loop(self.stage), cut)


def grounding_check(stage_text: str, retrieved_texts: Sequence[str], threshold: float,
                    injected: Sequence[str] = (), stage: int | None = 2) -> Check:
    """Stage 2's profile grounding against ``threshold``, not counting injected corrections
    (a correction that names [P1] is not the model using the profile).

    >>> grounding_check("[P1] and [P2] show short replies.", ["a", "b"], 0.25).ok
    True
    """
    text = stage_text
    for inj in injected:
        text = text.replace(inj, " ")
    g = profile_grounding(text, list(retrieved_texts))
    ok = g >= threshold
    return Check("grounding", ok, f"profile grounding {g:.2f} (threshold {threshold})", stage,
                 None if ok else len(stage_text))


def stage_order_of(thought: str) -> Check:
    """A finished thought's stage markers in order 1, 2, 3, each once."""
    stages = [s for s, _, _ in marker_positions(thought)]
    ok = stages == [1, 2, 3]
    return Check("stage_order", ok, f"stages {stages}", None, None if ok else len(thought))


__all__ = [
    "ECHO_WORDS",
    "PromptRuns",
    "StageWatch",
    "Violation",
    "echoes_scaffold",
    "grounding_check",
    "sentence_start",
    "stage_order_of",
    "strip_scaffold",
]
