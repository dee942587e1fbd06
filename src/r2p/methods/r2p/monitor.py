"""RPI's monitor: pure checks over a (partial) thought written with the HRT template.

Everything here is a pure function of text, so the report's analysis can run the same checks on
any recorded thought (``think`` baselines included) without a model.

* :data:`STAGE_MARKERS` the fixed, visible stage markers the HRT template asks for.
* :func:`stage_coverage` the stage numbers whose markers appear, in text order.
* :func:`split_stages` the text of each stage.
* :func:`find_loops` / :func:`loop_spans` repeated sentences, runs of hesitation words and
  repeated word n-grams.
* :func:`profile_grounding` how well a thought is supported by the retrieved profile items
  (cites ``[Pi]`` or overlaps their content words), in [0, 1].
* :func:`approx_tokens` a tokenizer-free token estimate used for stage budgets.

Thresholds are module constants, documented in docs/r2p.md; none is tuned to one data set.

Example:
    >>> stage_coverage("Stage 1 - Task requirements: x\\nStage 2 - User profile: y")
    [1, 2]
    >>> find_loops("Wait. Wait. Wait. Wait.")
    ['hesitation run: 4 sentences start with Wait/Hmm/Alternatively']
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

STAGE_MARKERS: tuple[str, str, str] = (
    "Stage 1 - Task requirements:",
    "Stage 2 - User profile:",
    "Stage 3 - Response:",
)
"""The three visible markers of the HRT thought, in order."""

STAGE_NAMES: tuple[str, str, str] = ("task requirements", "user profile", "response")

# A marker is recognised tolerantly (models write "**Stage 2:**", "Stage 2 — User profile"),
# but only at the start of a line, so a mention of "stage 2" inside a sentence does not count.
_MARKER_RE = re.compile(r"(?im)^[ \t#*>\-]*stage[ \t]*([1-3])\b[^\n]*?(?::|$)")
_CITE_RE = re.compile(r"\[\s*P\s*(\d{1,3})\s*\]", re.IGNORECASE)
_SENT_RE = re.compile(r"[^.!?\n]+[.!?]*")
_WORD_RE = re.compile(r"[A-Za-z0-9']+")
_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_HESITATION_RE = re.compile(
    r"^(?:but\s+)?(?:wait|hmm+|alternatively|actually|oh|no wait|let me re-?check|"
    r"let me reconsider|on second thought)\b", re.IGNORECASE)

MIN_SENTENCE_WORDS = 5
"""A sentence shorter than this never counts as a repetition (``"Yes."`` may recur)."""
MAX_HESITATIONS = 3
"""More hesitation-led sentences than this in one text is a loop."""
NGRAM = 8
"""Word n-gram length for the run-on repetition check (no sentence breaks)."""
NGRAM_REPEATS = 3
"""An ``NGRAM``-word sequence seen this many times is a loop."""
OVERLAP_CAP = 12
"""Per-item overlap is shared content words over min(item content words, this)."""

_STOPWORDS = frozenset(
    ["a", "an", "the", "and", "or", "but", "if", "then", "so", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that", "these", "those", "i", "me", "my", "we", "our", "you", "your", "he", "she", "they", "them", "his", "her", "their", "not", "no", "yes", "do", "does", "did", "done", "have", "has", "had", "will", "would", "can", "could", "should", "may", "might", "must", "just", "also", "very", "more", "most", "less", "than", "too", "about", "into", "over", "under", "out", "up", "down", "there", "here", "what", "which", "who", "whom", "how", "why", "when", "where", "all", "any", "some", "each", "both", "such", "only", "own", "same", "other", "one", "two", "three", "let", "lets", "let's", "user", "user's", "users", "profile", "item", "items", "stage", "task", "answer", "response", "input", "think", "thought", "step", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"])


@dataclass(frozen=True)
class Check:
    """One monitor verdict.

    Attributes:
        name: ``stage_order``, ``stage_budget``, ``loop``, ``grounding``, ``answer_format``...
        ok: whether the thought passes.
        detail: a short human-readable explanation.
        stage: the stage it concerns (1-3) or None.
        cut: char offset in the thought of the last clean boundary before the problem (where
            RPI cuts back to), or None when ``ok``.
    """

    name: str
    ok: bool
    detail: str = ""
    stage: int | None = None
    cut: int | None = None

    def event(self) -> dict[str, object]:
        """The trace event for this check (schema: :class:`r2p.trace.Check`)."""
        return {"type": "check", "name": self.name, "ok": self.ok, "detail": self.detail,
                "stage": self.stage}


def approx_tokens(text: str) -> int:
    """Tokenizer-free estimate: words and punctuation marks count one each.

    Close to a BPE count for English prose; used only for stage budgets.

    >>> approx_tokens("Hello, world!")
    4
    """
    return len(_TOKEN_RE.findall(text))


def marker_positions(thought: str) -> list[tuple[int, int, int]]:
    """Every stage marker in ``thought`` as ``(stage, start, end)`` char offsets, in order."""
    return [(int(m.group(1)), m.start(), m.end()) for m in _MARKER_RE.finditer(thought)]


def stage_coverage(thought: str) -> list[int]:
    """The stage numbers whose markers appear in ``thought``, every occurrence, in text order.

    A well-formed HRT thought gives ``[1, 2, 3]``; ``set(...)`` of it is the stages covered.

    >>> stage_coverage("Stage 1 - Task requirements: a\\nStage 3 - Response: b")
    [1, 3]
    """
    return [s for s, _, _ in marker_positions(thought)]


def split_stages(thought: str) -> dict[int, str]:
    """The text of each stage (after its marker, up to the next marker); text before the first
    marker goes to key 0. A stage written twice keeps its two texts joined."""
    out: dict[int, str] = {}
    pos = marker_positions(thought)
    if not pos:
        return {0: thought} if thought.strip() else {}
    if thought[: pos[0][1]].strip():
        out[0] = thought[: pos[0][1]]
    for i, (stage, _start, end) in enumerate(pos):
        stop = pos[i + 1][1] if i + 1 < len(pos) else len(thought)
        out[stage] = out.get(stage, "") + thought[end:stop]
    return out


def current_stage(thought: str) -> int:
    """The stage the thought is in now (the last marker seen), 0 before any marker."""
    cov = stage_coverage(thought)
    return cov[-1] if cov else 0


def _norm_sentence(s: str) -> str:
    return " ".join(_WORD_RE.findall(s.lower()))


def loop_spans(text: str) -> list[tuple[int, str]]:
    """Loops in ``text`` as ``(cut, description)``: ``cut`` is the char offset where the loop
    starts repeating (the clean boundary to cut back to). Sorted by ``cut``.

    Three kinds: a sentence of >= :data:`MIN_SENTENCE_WORDS` words seen twice (cut before the
    second copy); more than :data:`MAX_HESITATIONS` sentences opening with Wait/Hmm/
    Alternatively/Actually (cut before the one past the limit); a :data:`NGRAM`-word sequence
    seen :data:`NGRAM_REPEATS` times (cut before the second copy).
    """
    found: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    hesitations: list[int] = []
    counts: Counter[str] = Counter()
    for m in _SENT_RE.finditer(text):
        raw = m.group(0)
        start = m.start() + (len(raw) - len(raw.lstrip()))
        key = _norm_sentence(raw)
        if _HESITATION_RE.match(raw.strip()):
            hesitations.append(start)
        if len(key.split()) < MIN_SENTENCE_WORDS:
            continue
        counts[key] += 1
        if key in seen and counts[key] == 2:
            found.append((start, f"repeated sentence: {raw.strip()[:80]!r}"))
        seen.setdefault(key, start)
    if len(hesitations) > MAX_HESITATIONS:
        found.append((hesitations[MAX_HESITATIONS],
                      (f"hesitation run: {len(hesitations)} sentences start with "
                      f"Wait/Hmm/Alternatively")))
    words = list(_WORD_RE.finditer(text.lower()))
    if len(words) >= NGRAM * NGRAM_REPEATS:
        first: dict[tuple[str, ...], int] = {}
        ngram_counts: Counter[tuple[str, ...]] = Counter()
        for i in range(len(words) - NGRAM + 1):
            gram = tuple(w.group(0) for w in words[i: i + NGRAM])
            ngram_counts[gram] += 1
            if gram not in first:
                first[gram] = i
            elif ngram_counts[gram] == NGRAM_REPEATS:
                # cut before the second copy: the first copy is the last clean text
                second = next(j for j in range(first[gram] + 1, i + 1)
                              if tuple(w.group(0) for w in words[j: j + NGRAM]) == gram)
                found.append((words[second].start(),
                              f"repeated phrase x{NGRAM_REPEATS}: {' '.join(gram)!r}"))
                break
    return sorted(found)


def find_loops(text: str) -> list[str]:
    """Descriptions of every loop in ``text`` (repeated sentences, hesitation runs, repeated
    phrases); ``[]`` for a clean text.

    >>> find_loops("The user likes comedy films a lot. The user likes comedy films a lot.")
    ["repeated sentence: 'The user likes comedy films a lot.'"]
    """
    return [d for _, d in loop_spans(text)]


def content_words(text: str) -> set[str]:
    """Lower-cased words of 3+ characters that are not stop words."""
    return {w for w in _WORD_RE.findall(text.lower()) if len(w) >= 3 and w not in _STOPWORDS}


def cited_items(thought: str, k: int) -> list[int]:
    """Distinct valid profile citations ``[P1]..[Pk]`` in ``thought`` (1-based, sorted)."""
    return sorted({int(m.group(1)) for m in _CITE_RE.finditer(thought)
                   if 1 <= int(m.group(1)) <= k})


def profile_grounding(thought: str, retrieved_texts: list[str]) -> float:
    """How well ``thought`` is supported by the retrieved profile items, in [0, 1].

    The larger of two scores: citations (distinct valid ``[Pi]`` cited over min(2, k): citing
    two items, or the only one, scores 1) and lexical overlap (for the best item, its content
    words found in the thought over min(its content words, :data:`OVERLAP_CAP`)). With no
    retrieved items there is nothing to ground in and the score is 0.

    >>> profile_grounding("As [P1] shows, they love jazz.", ["jazz records", "cats"])
    0.5
    >>> profile_grounding("[P1] and [P2] show they love jazz.", ["jazz records", "cats"])
    1.0
    >>> profile_grounding("No idea.", ["jazz records"])
    0.0
    """
    k = len(retrieved_texts)
    if k == 0:
        return 0.0
    cite = len(cited_items(thought, k)) / min(2, k)
    words = content_words(thought)
    overlap = 0.0
    for text in retrieved_texts:
        item = content_words(text)
        if item:
            overlap = max(overlap, len(words & item) / min(len(item), OVERLAP_CAP))
    return round(min(1.0, max(cite, overlap)), 4)


__all__ = [
    "MAX_HESITATIONS",
    "MIN_SENTENCE_WORDS",
    "NGRAM",
    "NGRAM_REPEATS",
    "OVERLAP_CAP",
    "STAGE_MARKERS",
    "STAGE_NAMES",
    "Check",
    "approx_tokens",
    "cited_items",
    "content_words",
    "current_stage",
    "find_loops",
    "loop_spans",
    "marker_positions",
    "profile_grounding",
    "split_stages",
    "stage_coverage",
]
