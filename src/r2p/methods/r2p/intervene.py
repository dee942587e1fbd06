"""RPI, reasoning process intervention: generate the thought in segments, check, cut, inject.

The thought is generated a segment at a time (up to a paragraph break ``"\\n\\n"`` or a token
stride). After each segment the monitor checks the thought so far:

1. ``stage_order``: stage markers arrive in order, none skipped or repeated, all three before
   the thought closes (HRT only);
2. ``grounding``: once stage 2 is over, it is grounded in the retrieved items
   (:func:`~r2p.methods.r2p.monitor.profile_grounding` >= the threshold);
3. ``loop``: no stage repeats sentences or phrases or piles up "Wait"/"Hmm";
4. ``stage_budget``: no stage runs past its token budget;
5. ``answer_format``: when the thought closes, the answer after it fits the task's format.

On a violation the thought is cut back to the last clean boundary, a short first-person
correction naming the problem and the next step is injected, and generation continues with the
prefill ``"<think>\\n" + thought``, byte-identical to the previous prefill up to the cut so the
engine's prompt cache serves it. Past ``max_interventions`` (or ``max_thought_tokens``) the thought
is closed and the answer asked for in the required format. Every segment, check and
intervention goes into the trace.

With a native reasoning model nothing can be prefilled into its thought: the checks run on the
finished thought and a violation is answered by one more user turn carrying the correction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from r2p.backends.base import Backend
from r2p.methods.answers import ANSWER_CUE, ANSWER_CUES, Answer, normalize
from r2p.methods.common import CallLog
from r2p.methods.r2p.monitor import (
    STAGE_MARKERS,
    Check,
    approx_tokens,
    current_stage,
    loop_spans,
    marker_positions,
    profile_grounding,
    split_stages,
)
from r2p.reasoning import merge_reasoning, split_reasoning
from r2p.tasks import Task
from r2p.types import Message

THINK = "<think>\n"
_CLOSE_RE = re.compile(r"</think>", re.IGNORECASE)
PARAGRAPH = "\n\n"
MAX_SEGMENTS = 64
"""Hard stop on the number of thought segments (a guard against degenerate engines)."""
CLOSING = "Time to give the answer: {format_hint}."
"""The line that closes a thought past the intervention cap or the thought budget."""
ECHO_WORDS = 5
"""An answer sharing a run of this many words with the method's own text echoes it."""
_WORDS_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CITATION_RE = re.compile(r"\[P\d+\]")


_CONTRACTIONS = (("n't", " not"), ("'m", " am"), ("'re", " are"), ("'ve", " have"),
                 ("'ll", " will"), ("'d", " would"))


def _word_runs(text: str, n: int = ECHO_WORDS) -> set[tuple[str, ...]]:
    low = text.lower().replace("\u2019", "'")
    for short, full in _CONTRACTIONS:  # "I'm going in circles" repeats "I am going in circles"
        low = low.replace(short, full)
    words = _WORDS_RE.findall(low)
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def echoes_scaffold(answer: str, scaffold: list[str] | tuple[str, ...]) -> bool:
    """Whether ``answer`` repeats the method's own text: a run of :data:`ECHO_WORDS` words
    from one of ``scaffold`` (injected corrections, the closing line, the format hint), or the
    template's profile citations (``[P1]``: an answer never cites the numbered items; one that
    does is a copied item or a note about it).

    A small model often parrots a correction ("Let me look at [P1] and [P2]...") or the format
    ("The paraphrased tweet on a single line...") as its answer; that is not an answer.

    Example:
        >>> echoes_scaffold("I have not used the user's profile yet.",
        ...                 ["Wait, I have not used the user's profile yet."])
        True
        >>> echoes_scaffold("peach cobbler is the best pie", ["the tweet on a single line"])
        False
        >>> echoes_scaffold("[P4] @JenJan why do you always have stalkers", [])
        True
        >>> echoes_scaffold("I'm going in circles.", ["I am going in circles. I have my answer now."])
        True
    """
    if _CITATION_RE.search(answer):  # the template's [P1] notation: a copied item or a note
        return True
    runs = _word_runs(answer)
    return any(runs & _word_runs(t) for t in scaffold if t)


def strip_scaffold(text: str, scaffold: list[str] | tuple[str, ...]) -> str:
    """``text`` without the method's own sentences: each scaffold text, and each of its
    sentences, removed wherever it occurs (the model may have copied it)."""
    pieces: list[str] = []
    for t in scaffold:
        pieces.append(t.strip())
        pieces.extend(p.strip() for p in re.split(r"(?<=[.!?])\s+|\n+", t))
    for piece in sorted({p for p in pieces if len(p.split()) >= 3}, key=len, reverse=True):
        text = text.replace(piece, " ")
    return text


@dataclass(frozen=True)
class RPIConfig:
    """Settings of one thought's generation.

    Attributes:
        hrt: the thought follows the three-stage template (stage checks apply).
        rpi: run the monitor and intervene; False generates the thought in one call.
        max_interventions: cap on injected corrections.
        stage_budgets: approximate token budget of stages 1, 2, 3.
        max_thought_tokens: approximate token budget of the whole thought.
        segment_tokens: token stride of one segment.
        answer_tokens: max tokens of the answer after the thought.
        grounding_threshold: minimum profile grounding of stage 2.
        temperature: sampling temperature.
        seed: sampling seed (None: engine default).
        native: the backend thinks natively (no ``<think>`` prefill possible).
        answer_cues: prefilled after ``</think>`` when the answer is asked for, tried in
            order while the model writes no valid answer.
    """

    hrt: bool = True
    rpi: bool = True
    max_interventions: int = 3
    stage_budgets: tuple[int, int, int] = (120, 200, 160)
    max_thought_tokens: int = 600
    segment_tokens: int = 96
    answer_tokens: int = 64
    grounding_threshold: float = 0.25
    temperature: float = 0.0
    seed: int | None = None
    native: bool = False
    answer_cues: tuple[str, ...] = ANSWER_CUES


@dataclass
class ThoughtResult:
    """The outcome of one HRT(+RPI) generation.

    Attributes:
        thought: the final thought text (without ``<think>`` tags).
        raw_answer: the text the model wrote after the thought.
        answer: the normalized answer (``answer.format_ok`` is the raw compliance).
        interventions: corrections injected for this thought.
        support: profile grounding of stage 2 (of the whole thought without HRT).
        closed_by: ``"model"``, ``"cap"``, ``"budget"`` or ``"length"``.
    """

    thought: str
    raw_answer: str
    answer: Answer
    interventions: int = 0
    support: float = 0.0
    closed_by: str = "model"
    checks: list[Check] = field(default_factory=list)
    injected: list[str] = field(default_factory=list)


def _grounding_text(thought: str, hrt: bool) -> str:
    return split_stages(thought).get(2, "") if hrt else thought


def support_of(thought: str, retrieved_texts: list[str], hrt: bool = True,
               injected: tuple[str, ...] | list[str] = ()) -> float:
    """Profile grounding of a finished thought (stage 2 with HRT, else the whole thought),
    not counting the ``injected`` corrections."""
    text = _grounding_text(thought, hrt)
    if hrt and not text.strip():
        text = thought
    for inj in injected:
        text = text.replace(inj, " ")
    return profile_grounding(text, retrieved_texts)


def _marker(stage: int) -> str:
    return PARAGRAPH + STAGE_MARKERS[stage - 1] + " "


def _boundary(text: str, end: int, start: int) -> int:
    """The last sentence or line end in ``text[start:end]`` (``end`` itself if none)."""
    window = text[start:end]
    best = max(window.rfind(". "), window.rfind(".\n"), window.rfind("\n"))
    return start + best + 1 if best > 0 else end


def _offset_of_token(text: str, start: int, n: int) -> int:
    """Char offset in ``text`` after the ``n``-th approximate token counted from ``start``."""
    for count, m in enumerate(re.finditer(r"\w+|[^\w\s]", text[start:]), 1):
        if count >= n:
            return start + m.end()
    return len(text)


def _cite_hint(k: int) -> str:
    return " and ".join(f"[P{i}]" for i in range(1, min(k, 2) + 1))


def check_thought(thought: str, *, closing: bool, retrieved_texts: list[str],
                  cfg: RPIConfig, injected: tuple[str, ...] = ()
                  ) -> tuple[list[Check], Check | None, str]:
    """Run the monitor over a (partial) thought.

    Args:
        thought: the thought so far.
        closing: the model has just closed the thought (or stopped).
        retrieved_texts: texts of the retrieved items (grounding).
        cfg: thresholds and budgets.
        injected: corrections injected so far; removed before measuring grounding (so that a
            correction that names [P1] does not itself count as using the profile) and before
            looking for loops (so that two corrections are not a "Wait" run).

    Returns:
        ``(checks, violation, correction)``: every check run; the first failing one (None when
        clean); the correction to inject for it ("" when clean). A correction ending in
        ``"</think>"`` closes the thought.
    """
    checks: list[Check] = []
    marks = marker_positions(thought)
    stage = current_stage(thought)
    k = len(retrieved_texts)
    if cfg.hrt:
        expected = 1
        bad: Check | None = None
        fix = ""
        for s, start, _end in marks:
            if s == expected:
                expected += 1
                continue
            if s > expected:
                bad = Check("stage_order", False, f"Stage {s} started before Stage {expected}",
                            s, start)
                fix = (f"Wait, I skipped Stage {expected}. Let me do it first."
                       + _marker(expected))
            else:
                bad = Check("stage_order", False, f"Stage {s} repeated after Stage {expected - 1}",
                            s, start)
                fix = ("I have already done that stage." + _marker(expected) if expected <= 3
                       else "I have done all three stages. Time to answer.\n</think>")
            break
        if bad is None and closing and expected <= 3:
            bad = Check("stage_order", False, f"thought closed before Stage {expected}",
                        expected, len(thought))
            fix = f"Wait, I have not done Stage {expected} yet." + _marker(expected)
        checks.append(bad or Check("stage_order", True, f"stages {[m[0] for m in marks]}",
                                   stage or None))
        if bad is not None:
            return checks, bad, fix
    # grounding: once stage 2 is over (stage 3 started, or the thought closes)
    stage2_over = (stage >= 3 or closing) if cfg.hrt else closing
    if k and stage2_over:
        gtext = _grounding_text(thought, cfg.hrt)
        for inj in injected:
            gtext = gtext.replace(inj, " ")
        g = profile_grounding(gtext, retrieved_texts)
        ok = g >= cfg.grounding_threshold
        cut = next((st for s, st, _ in marks if s == 3), len(thought)) if cfg.hrt else len(thought)
        c = Check("grounding", ok, f"profile grounding {g:.2f} (threshold "
                  f"{cfg.grounding_threshold})", 2 if cfg.hrt else None, None if ok else cut)
        checks.append(c)
        if not ok:
            return checks, c, (f"Wait, I have not used the user's profile yet. Let me look at "
                               f"{_cite_hint(k)}. [P1] shows that this user")
    # loops, per stage (restating the format in stage 3 is not a loop); the corrections are
    # blanked out first (same length, so offsets hold): their "Wait, ..." is not the model's
    masked = thought
    for inj in injected:
        sentence = inj.split(PARAGRAPH)[0]
        if sentence:
            masked = masked.replace(sentence, " " * len(sentence))
    spans = [(s, st, en) for s, st, en in marks] or [(0, 0, 0)]
    for i, (s, _st, en) in enumerate(spans):
        stop = spans[i + 1][1] if i + 1 < len(spans) else len(thought)
        found = loop_spans(masked[en:stop])
        if found:
            cut, what = found[0]
            c = Check("loop", False, what, s or None, en + cut)
            checks.append(c)
            if cfg.hrt and 1 <= s < 3:  # move on to the next stage itself, not just say so
                return checks, c, "I am going in circles." + _marker(s + 1)
            if cfg.hrt and s == 3:  # the first statement of the draft is kept: answer with it
                return checks, c, "I am going in circles. I have my answer now.\n</think>"
            return checks, c, "I am going in circles. Let me move on to the next step."
    checks.append(Check("loop", True, "no loops", stage or None))
    # budget of the current stage
    if cfg.hrt and stage:
        start = marks[-1][2]
        used = approx_tokens(thought[start:])
        budget = cfg.stage_budgets[stage - 1]
        if used > budget:
            cut = _boundary(thought, _offset_of_token(thought, start, budget), start)
            c = Check("stage_budget", False, f"Stage {stage} used ~{used} tokens (budget "
                      f"{budget})", stage, cut)
            checks.append(c)
            if stage < 3:
                fix = "That is enough for this stage." + _marker(stage + 1)
            else:
                fix = "I have my answer now.\n</think>"
            return checks, c, fix
        checks.append(Check("stage_budget", True, f"Stage {stage} ~{used}/{budget} tokens",
                            stage))
    return checks, None, ""


def _join(thought: str, cut: int, correction: str) -> str:
    kept = thought[:cut]
    if kept and not kept[-1].isspace() and not correction[:1].isspace():
        kept += " "
    return kept + correction


class ThoughtRunner:
    """Runs one HRT(+RPI) thought and its answer, logging every call and event in ``log``.

    Args:
        backend: the engine.
        messages: the HRT prompt.
        task: the task (answer format).
        retrieved_texts: texts of the retrieved items (grounding).
        cfg: the settings.
        log: the prediction's call log.
        tag: fields added to every trace event (e.g. ``{"candidate": 0}``).
        start: the thought's first text (after ``<think>\\n``), e.g. the first stage marker.
    """

    def __init__(self, backend: Backend, messages: list[Message], task: Task,
                 retrieved_texts: list[str], cfg: RPIConfig, log: CallLog,
                 tag: Mapping[str, Any] | None = None, start: str = "") -> None:
        self.backend, self.messages, self.task = backend, messages, task
        self.texts, self.cfg, self.log = retrieved_texts, cfg, log
        self.tag = dict(tag or {})
        self.start = start
        self.interventions = 0
        self.checks: list[Check] = []
        self.injected: list[str] = []
        self._thought = start

    # -- small helpers -------------------------------------------------------------------
    def _gen(self, prefill: str | None, max_tokens: int, stop: list[str] | None,
             messages: list[Message] | None = None) -> Any:
        settings: dict[str, Any] = {"max_tokens": max_tokens, "temperature": self.cfg.temperature}
        if stop:
            settings["stop"] = stop
        if self.cfg.seed is not None:
            settings["seed"] = self.cfg.seed
        return self.log.generate(self.backend, messages or self.messages, prefill=prefill,
                                 **settings)

    def scaffold(self) -> list[str]:
        """The method's own text in this thought: corrections, closing line, format hint."""
        return [*self.injected, CLOSING.format(format_hint=self.task.format_hint),
                self.task.format_hint]

    def _event(self, type_: str, **fields: Any) -> None:
        self.log.event(type_, **fields, **self.tag)

    def _record(self, checks: list[Check]) -> None:
        self.checks.extend(checks)
        for c in checks:
            self._event("check", **{k: v for k, v in c.event().items() if k != "type"})

    def _intervene(self, reason: str, position: int, text: str) -> None:
        self.interventions += 1
        self.injected.append(text)
        self.log.interventions += 1
        self._event("intervention", reason=reason, position=position, text=text)

    def _segment(self, text: str, completion: Any, stage: int | None) -> None:
        self._event("segment", stage=stage, text=text,
                    tokens=completion.usage.completion_tokens,
                    finish_reason=completion.finish_reason)

    # -- the answer after a closed thought -------------------------------------------------
    def _answer(self, thought: str, after: str | None) -> tuple[str, Answer]:
        """Get (or complete) the answer after ``</think>``, intervening on its format."""
        retried = False
        cues = self.cfg.answer_cues or ("",)
        cue_i = 0
        best: tuple[str, Answer] | None = None  # the first valid answer, kept if a retry fails
        while True:
            asked = after is None or not after.strip()
            if asked:
                # the cue after the closed thought: without it a small instruct model often
                # writes "</think>" or "<think>" again instead of the answer
                prefill = THINK + thought.rstrip() + "\n</think>\n\n" + cues[cue_i]
                # a model that starts a stage marker here is not answering: stop it early
                c = self._gen(prefill, self.cfg.answer_tokens, list(STAGE_MARKERS))
                self._segment(c.text, c, None)
                after = c.text
            assert after is not None
            raw = split_reasoning(after).answer if "</think>" in after.lower() else after.strip()
            marks = marker_positions(raw)
            if marks:  # the model went on with the template instead of answering
                raw = raw[: marks[0][1]].strip()
            ans = normalize(self.task, raw)
            echo = (self.task.kind == "generation" and ans.valid
                    and echoes_scaffold(ans.text, self.scaffold()))
            cleaned = False
            if echo:  # a parroted correction or format line is no answer; what is left once
                # the method's own sentences are removed may be one (not in the format, though)
                rest = normalize(self.task, strip_scaffold(raw, self.scaffold()))
                if rest.valid and not echoes_scaffold(rest.text, self.scaffold()):
                    ans, cleaned = Answer(rest.text, False, True), True
                else:
                    ans = Answer(ans.text, False, False)
            if ans.valid and (best is None or (ans.format_ok and not best[1].format_ok)):
                best = (raw, ans)
            if asked and not ans.valid and best is None and cue_i + 1 < len(cues):
                self._record([Check("answer_present", False, f"no answer after the cue "
                                    f"{cues[cue_i]!r} ({raw[:40]!r}); asking after "
                                    f"{cues[cue_i + 1]!r}", None, None)])
                cue_i += 1
                after = None
                continue
            ok = ans.format_ok
            check = Check("answer_format", ok, f"answer {raw[:60]!r} "
                          f"{'fits' if ok else 'does not fit'}: {self.task.format_hint}"
                          + (" (the method's own text removed)" if cleaned else
                             " (it repeats the method's own text)" if echo else ""), None,
                          None if ok else len(thought))
            self._record([check])
            if (ok or not self.cfg.rpi or retried
                    or self.interventions >= self.cfg.max_interventions):
                if not ans.valid and best is not None:  # a retry made it worse: keep the valid
                    return best
                return raw, ans
            retried = True  # one format correction per thought: a second rarely differs
            fix = (f"Wait, my answer must be {self.task.format_hint}. "
                   f"Let me state it exactly that way.")
            self._intervene("answer_format", len(thought.rstrip()), fix)
            thought = _join(thought.rstrip(), len(thought.rstrip()), fix)
            self._thought = thought
            after = None

    # -- the thought ---------------------------------------------------------------------
    def run(self) -> ThoughtResult:
        """Generate the thought and its answer."""
        if self.cfg.native:
            return self._run_native()
        if not self.cfg.rpi:
            return self._run_single()
        cfg = self.cfg
        thought = self.start
        closed_by = "model"
        after: str | None = None
        for _ in range(MAX_SEGMENTS):
            left = cfg.max_thought_tokens - approx_tokens(thought)
            if left <= 0 or left < cfg.segment_tokens // 4:  # too little left for a segment
                self._record([Check("thought_budget", False, f"thought reached "
                                    f"~{cfg.max_thought_tokens} tokens: closing it", None,
                                    len(thought))])
                closed_by = "budget"
                break
            c = self._gen(THINK + thought, min(cfg.segment_tokens, left), [PARAGRAPH])
            text = c.text
            m = _CLOSE_RE.search(text)
            seg = text[: m.start()] if m else text
            # an answer cut by the token stride is asked for again after the closed thought
            after = text[m.end():] if m and c.finish_reason != "length" else None
            ended = m is not None or (c.finish_reason != "length" and not text.strip())
            self._segment(text, c, current_stage(thought + seg) or None)
            candidate = thought + seg
            if not ended and c.finish_reason != "length":
                candidate += PARAGRAPH  # the stop string the engine swallowed
            checks, bad, fix = check_thought(candidate, closing=ended, retrieved_texts=self.texts,
                                             cfg=cfg, injected=tuple(self.injected))
            self._record(checks)
            if bad is None:
                thought = candidate
                if ended:
                    break
                continue
            cut = bad.cut if bad.cut is not None else len(candidate)
            if self.interventions >= cfg.max_interventions:
                self._record([Check("intervention_cap", False, f"{cfg.max_interventions} "
                                    f"interventions used: closing the thought", bad.stage, cut)])
                thought = candidate[:cut]
                closed_by, after = "cap", None
                break
            closes = fix.endswith("</think>")
            fix_text = fix[: -len("</think>")].rstrip() if closes else fix
            self._intervene(bad.name, cut, fix_text)
            thought = _join(candidate, cut, fix_text)
            after = None
            if closes:
                break
        else:
            closed_by = "budget"
        if closed_by in ("cap", "budget"):
            thought = (thought.rstrip() + "\n" + CLOSING.format(format_hint=self.task.format_hint))
        self._thought = thought
        raw, ans = self._answer(thought, after)
        thought = self._thought
        return ThoughtResult(thought.strip(), raw, ans, self.interventions,
                             support_of(thought, self.texts, self.cfg.hrt, self.injected), closed_by,
                             self.checks, self.scaffold())

    def _run_single(self) -> ThoughtResult:
        """HRT without RPI: one call for the thought (and usually the answer)."""
        cfg = self.cfg
        c = self._gen(THINK + self.start, cfg.max_thought_tokens + cfg.answer_tokens, None)
        text = c.text
        m = _CLOSE_RE.search(text)
        thought = self.start + (text[: m.start()] if m else text)
        after = text[m.end():] if m else None
        self._segment(text, c, current_stage(thought) or None)
        closed_by = "model" if m else "length"
        checks, _bad, _fix = check_thought(thought, closing=True, retrieved_texts=self.texts,
                                           cfg=cfg)
        self._record(checks)  # recorded for analysis; nothing is acted on without RPI
        self._thought = thought
        raw, ans = self._answer(thought, after)
        return ThoughtResult(thought.strip(), raw, ans, 0,
                             support_of(thought, self.texts, cfg.hrt), closed_by, self.checks,
                             self.scaffold())

    def _run_native(self) -> ThoughtResult:
        """A native reasoning model: check the finished thought, correct by a follow-up turn."""
        cfg = self.cfg
        messages = list(self.messages)
        budget = cfg.max_thought_tokens + cfg.answer_tokens
        while True:
            c = self._gen(None, budget, None, messages)
            sp = merge_reasoning(c.text, c.reasoning)
            thought, raw = sp.reasoning, sp.answer
            self._segment(thought, c, current_stage(thought) or None)
            checks, bad, fix = check_thought(thought, closing=True, retrieved_texts=self.texts,
                                             cfg=cfg)
            ans = normalize(self.task, raw)
            fmt = Check("answer_format", ans.format_ok, f"answer {raw[:60]!r}", None,
                        None if ans.format_ok else len(thought))
            checks.append(fmt)
            self._record(checks)
            if bad is None and fmt.ok:
                break
            if not cfg.rpi or self.interventions >= cfg.max_interventions:
                break
            bad = bad or fmt
            fix = fix.replace("</think>", "").strip() or (
                f"My answer must be {self.task.format_hint}.")
            note = (f"{fix} Please think again following the three stages, then answer with "
                    f"{self.task.format_hint}.")
            self._intervene(bad.name, bad.cut if bad.cut is not None else len(thought), note)
            messages = [*messages, {"role": "assistant", "content": raw or "(no answer)"},
                        {"role": "user", "content": note}]
        return ThoughtResult(thought.strip(), raw, ans, self.interventions,
                             support_of(thought, self.texts, cfg.hrt, self.injected), "model",
                             self.checks, self.scaffold())


def run_thought(backend: Backend, messages: list[Message], task: Task,
                retrieved_texts: list[str], cfg: RPIConfig, log: CallLog, *,
                tag: Mapping[str, Any] | None = None, start: str = "") -> ThoughtResult:
    """Generate one thought (segments, checks, interventions) and its answer.

    See :class:`ThoughtRunner` for the arguments.
    """
    return ThoughtRunner(backend, messages, task, retrieved_texts, cfg, log, tag, start).run()


__all__ = [
    "ANSWER_CUE",
    "ANSWER_CUES",
    "MAX_SEGMENTS",
    "RPIConfig",
    "ThoughtResult",
    "ThoughtRunner",
    "check_thought",
    "echoes_scaffold",
    "run_thought",
    "strip_scaffold",
    "support_of",
]
