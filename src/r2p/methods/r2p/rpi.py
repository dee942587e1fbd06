"""RPI, reasoning process intervention: generate the thought stage by stage, watch it as it
streams, cut and correct, then ask for the answer.

Two generation strategies share one answer step (:class:`AnswerStep`):

* :class:`StagedThought`, inside the thought (local instruct models with ``<think>``
  prefilled, and engines that continue a native reasoning model's own thought): stage 1 is
  stated from the task registry and prefilled; stage 2 (the profile synthesis) and, for labels
  and ratings, stage 3 are generated within their token budgets
  (:meth:`~r2p.methods.r2p.config.R2PConfig.budgets`). With RPI each stage is *streamed* and
  :class:`~r2p.methods.r2p.checks.StageWatch` checks every chunk (copy, loop, stage order):
  the first failure stops the engine at once and the stage ends where it was clean. With
  ``max_interventions`` > 0 (0 by default: measured, no correction paid), the thought is
  instead cut back to the last clean sentence, a
  :class:`~r2p.methods.r2p.corrections.Correction` is injected and the model goes on from it
  (the prefill is byte-identical up to the cut, so the engine's prompt cache serves it), until
  the cap. When stage 2 ends, its grounding in the retrieved items is checked. Without RPI
  the same stages are generated in one plain call each (the ``hrt`` ablation).
* :class:`FollowUpThought`, a native reasoning model that cannot be continued inside its
  thought (chat APIs without raw completions): the finished thought is checked and, with
  ``max_interventions`` > 0, a violation is answered by one more user turn carrying the
  correction.

Every call, check and intervention goes into the prediction's trace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from r2p.backends.base import Backend
from r2p.methods.answers import Answer, normalize
from r2p.methods.common import CallLog
from r2p.methods.r2p import corrections
from r2p.methods.r2p.checks import (
    PromptRuns,
    StageWatch,
    echoes_scaffold,
    grounding_check,
    stage_order_of,
    strip_scaffold,
)
from r2p.methods.r2p.config import Budgets, R2PConfig
from r2p.methods.r2p.corrections import Correction
from r2p.methods.r2p.monitor import (
    STAGE_MARKERS,
    Check,
    find_loops,
    marker_positions,
    profile_grounding,
    split_stages,
)
from r2p.methods.r2p.synthesis import Synthesis
from r2p.reasoning import merge_reasoning, split_reasoning
from r2p.tasks import Task
from r2p.types import Choice, Completion, Message

THINK = "<think>\n"
PARAGRAPH = "\n\n"
STAGE_STOPS = [PARAGRAPH, "</think>"]
"""A stage ends at a paragraph break or where the model closes the thought."""
ANSWER_STOPS = [PARAGRAPH, *STAGE_MARKERS]
"""An answer is one line; a model that starts a stage marker there is not answering."""
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


@dataclass
class Context:
    """What every step of one prediction's thoughts shares."""

    backend: Backend
    messages: list[Message]
    task: Task
    task_input: str
    retrieved_texts: list[str]
    cfg: R2PConfig
    budgets: Budgets
    log: CallLog
    runs: PromptRuns | None = None

    @property
    def max_interventions(self) -> int:
        """RPI's cap of corrections per thought."""
        return self.cfg.max_interventions

    @property
    def logprobs(self) -> bool:
        """Whether to ask for token log-probabilities (label and rating answers only)."""
        return (self.task.kind != "generation" and self.cfg.top_logprobs > 0
                and self.backend.logprobs)


@dataclass
class ThoughtResult:
    """The outcome of one thought and its answer.

    Attributes:
        thought: the final thought text (without ``<think>`` tags).
        raw_answer: the text the model wrote after the thought.
        answer: the normalized answer (``answer.format_ok`` is the raw compliance).
        interventions: corrections injected for this thought.
        support: profile grounding of stage 2 (of the whole thought without HRT).
        closed_by: ``"model"``, ``"cap"`` (interventions used up) or ``"budget"``.
        injected: the method's own texts in the thought (corrections, format hint).
        choice: the answer call's first choice (its ``top_logprobs`` when asked for).
        answer_prefill: the prefill the answer was asked after (SRM samples more from it).
    """

    thought: str
    raw_answer: str
    answer: Answer
    interventions: int = 0
    support: float = 0.0
    closed_by: str = "model"
    injected: list[str] = field(default_factory=list)
    choice: Choice | None = None
    answer_prefill: str | None = None


class _Steps:
    """Shared bookkeeping of one thought: trace events and interventions."""

    def __init__(self, ctx: Context, tag: Mapping[str, Any] | None, seed: int,
                 temperature: float) -> None:
        self.ctx = ctx
        self.tag = dict(tag or {})
        self.seed = seed
        self.temperature = temperature
        self.interventions = 0
        self.injected: list[str] = []
        self.closed_by = "model"

    def event(self, type_: str, **fields: Any) -> None:
        self.ctx.log.event(type_, **fields, **self.tag)

    def record(self, check: Check) -> None:
        self.event("check", **{k: v for k, v in check.event().items() if k != "type"})

    def can_intervene(self) -> bool:
        return self.ctx.cfg.rpi and self.interventions < self.ctx.max_interventions

    def intervene(self, correction: Correction, position: int) -> None:
        self.interventions += 1
        self.ctx.log.interventions += 1
        if correction.text:
            self.injected.append(correction.text)
        self.event("intervention", reason=correction.reason, position=position,
                   text=correction.text, then=correction.then)

    def settings(self, max_tokens: int, stop: list[str] | None) -> dict[str, Any]:
        out: dict[str, Any] = {"max_tokens": max_tokens, "temperature": self.temperature,
                               "seed": self.seed}
        if stop:
            out["stop"] = stop
        return out

    def segment(self, c: Completion, stage: int | None, text: str | None = None,
                **extra: Any) -> None:
        self.event("segment", stage=stage, text=c.text if text is None else text,
                   tokens=c.usage.completion_tokens, finish_reason=c.finish_reason, **extra)

    def scaffold(self) -> list[str]:
        """The method's own text in this thought: corrections and the format hint."""
        return [*self.injected, self.ctx.task.format_hint]


def _join(kept: str, text: str) -> str:
    if not text:
        return kept
    if kept and not kept[-1].isspace() and not text[0].isspace():
        kept += " "
    return kept + text


def _last_sentence_end(text: str) -> int:
    """Where the last complete sentence of ``text`` ends (``len(text)`` if none does)."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    return ends[-1] if ends else len(text)


def read_answer(task: Task, task_input: str, text: str,
                scaffold: list[str]) -> tuple[str, Answer, bool, bool]:
    """Read the text written after a thought: ``(raw, answer, echoed, cleaned)``.

    A text answer that repeats the method's own text (``scaffold``) is no answer; what is
    left once those sentences are removed may be one, then not in the format (``cleaned``).
    """
    raw = split_reasoning(text).answer if "</think>" in text.lower() else text.strip()
    marks = marker_positions(raw)
    if marks:  # the model went on with the template instead of answering
        raw = raw[: marks[0][1]].strip()
    ans = normalize(task, raw, task_input=task_input)
    if not (task.kind == "generation" and ans.valid and echoes_scaffold(ans.text, scaffold)):
        return raw, ans, False, False
    rest = normalize(task, strip_scaffold(raw, scaffold), task_input=task_input)
    if rest.valid and not echoes_scaffold(rest.text, scaffold):
        return raw, Answer(rest.text, False, True), True, True
    return raw, Answer(ans.text, False, False), True, False


class AnswerStep:
    """Ask for the answer after a closed thought; one format correction with RPI.

    The cues (``cfg.answer_cue``) are prefilled after ``</think>`` in order while the model
    writes no valid answer. An answer that parrots the method's own text is no answer (what is
    left once those sentences are removed may be one, not in the format). With RPI, an answer
    off the format gets one correction in the thought and is asked again; a retry that comes
    back worse never replaces a valid answer.
    """

    def __init__(self, steps: _Steps) -> None:
        self.steps = steps
        self.ctx = steps.ctx

    def read(self, text: str) -> tuple[str, Answer, bool, bool]:
        """``(raw, answer, echoed, cleaned)`` for the text written after the thought."""
        return read_answer(self.ctx.task, self.ctx.task_input, text, self.steps.scaffold())

    def _ask(self, thought: str) -> tuple[str, Answer, Choice | None, str, str]:
        """Try the cues in order; ``(raw, answer, choice, prefill, note)``."""
        cues = self.ctx.cfg.answer_cue or ("",)
        got: tuple[str, Answer, Choice | None, str, str] | None = None
        for i, cue in enumerate(cues):
            prefill = THINK + thought.rstrip() + "\n</think>\n\n" + cue
            settings = self.steps.settings(self.ctx.budgets.answer, ANSWER_STOPS)
            if self.ctx.logprobs:
                settings["top_logprobs"] = self.ctx.cfg.top_logprobs
            c = self.ctx.log.generate(self.ctx.backend, self.ctx.messages, prefill=prefill,
                                      **settings)
            self.steps.segment(c, None, part="answer")
            raw, ans, echoed, cleaned = self.read(c.text)
            note = (" (the method's own text removed)" if cleaned else
                    " (it repeats the method's own text)" if echoed else "")
            got = (raw, ans, c.choices[0] if c.choices else None, prefill, note)
            if ans.valid or i + 1 == len(cues):
                break
            self.steps.record(Check("answer_present", False, f"no answer after the cue "
                                    f"{cue!r} ({raw[:40]!r}); asking after {cues[i + 1]!r}"))
        assert got is not None
        return got

    def run(self, thought: str) -> tuple[str, str, Answer, Choice | None, str]:
        """``(final thought, raw answer, answer, choice, answer prefill)``."""
        raw, ans, choice, prefill, note = self._ask(thought)
        ok = ans.format_ok
        self.steps.record(Check("answer_format", ok, f"answer {raw[:60]!r} "
                                f"{'fits' if ok else 'does not fit'}: "
                                f"{self.ctx.task.format_hint}{note}", None,
                                None if ok else len(thought)))
        # text: a small model parrots a format correction as its answer (measured), and SRM's
        # other candidates are the better remedy; labels and ratings get one correction
        if ok or not self.steps.can_intervene() or self.ctx.task.kind == "generation":
            return thought, raw, ans, choice, prefill
        fix = corrections.for_format(self.ctx.task.format_hint)
        self.steps.intervene(fix, len(thought.rstrip()))
        retried = _join(thought.rstrip(), fix.text)
        raw2, ans2, choice2, prefill2, note2 = self._ask(retried)
        self.steps.record(Check("answer_format", ans2.format_ok, f"answer {raw2[:60]!r} after "
                                f"the correction{note2}", None, None))
        if ans.valid and (not ans2.valid or (ans.format_ok and not ans2.format_ok)):
            return retried, raw, ans, choice, prefill  # the retry made it worse
        return retried, raw2, ans2, choice2, prefill2


class StagedThought:
    """The in-thought strategy (see the module docstring).

    Args:
        ctx: the prediction's shared context.
        start: the thought's first text (after ``<think>\\n``): stage 1 stated and the stage 2
            marker with HRT (:func:`~r2p.methods.r2p.hrt.thought_prefill`), "" without.
        tag: fields added to every trace event (e.g. ``{"candidate": 1}``).
        seed: the sampling seed.
        temperature: the thought's sampling temperature.
        synthesis: the user's stage 2 written earlier (``synthesis="user"``): prefilled after
            ``start`` instead of generated; ``support`` is then its grounding.
    """

    def __init__(self, ctx: Context, start: str, *, tag: Mapping[str, Any] | None = None,
                 seed: int = 0, temperature: float = 0.0,
                 synthesis: Synthesis | None = None) -> None:
        self.ctx = ctx
        self.start = start
        self.steps = _Steps(ctx, tag, seed, temperature)
        self.synthesis = synthesis
        if synthesis is not None:  # its corrections are the method's text, never an answer
            self.steps.injected.extend(synthesis.injected)

    def synthesize(self) -> tuple[str, float, list[str]]:
        """Stage 2 alone, checked and corrected as in :meth:`run`: ``(its text, grounding,
        the corrections injected in it)`` (the user's synthesis,
        :mod:`~r2p.methods.r2p.synthesis`)."""
        thought, _ = self._stage(self.start, 2, self.ctx.budgets.synthesis)
        text = thought[len(self.start):].strip()
        grounded = text
        for inj in self.steps.injected:
            grounded = grounded.replace(inj, " ")
        return (text, profile_grounding(grounded, self.ctx.retrieved_texts),
                list(self.steps.injected))

    def run(self) -> ThoughtResult:
        """Generate the thought stage by stage, then its answer."""
        b, cfg = self.ctx.budgets, self.ctx.cfg
        thought = self.start
        if not cfg.hrt:
            thought, _ = self._stage(thought, 0, b.synthesis + b.response)
        else:
            if self.synthesis is not None:
                thought, closed = _join(thought, self.synthesis.text), False
            else:
                thought, closed = self._stage(thought, 2, b.synthesis)
            if not closed:
                thought = thought.rstrip() + PARAGRAPH + STAGE_MARKERS[2]
                if b.response > 0:
                    thought, _ = self._stage(thought, 3, b.response)
        thought, raw, ans, choice, prefill = AnswerStep(self.steps).run(thought)
        hrt = cfg.hrt
        grounded = split_stages(thought).get(2, "") if hrt else thought
        for inj in self.steps.injected:
            grounded = grounded.replace(inj, " ")
        support = (self.synthesis.support if self.synthesis is not None
                   else profile_grounding(grounded, self.ctx.retrieved_texts))
        return ThoughtResult(thought.strip(), raw, ans, self.steps.interventions, support,
                             self.steps.closed_by, self.steps.scaffold(), choice, prefill)

    # -- one stage ---------------------------------------------------------------------------
    def _call(self, thought: str, left: int, watch: StageWatch | None,
              prior: str) -> Completion:
        settings = self.steps.settings(left, STAGE_STOPS)
        log, backend, messages = self.ctx.log, self.ctx.backend, self.ctx.messages
        if watch is None:
            return log.generate(backend, messages, prefill=THINK + thought, **settings)
        return log.stream(backend, messages, prefill=THINK + thought,
                          watch=lambda text: watch(prior + text), **settings)

    def _stage(self, thought: str, stage: int, budget: int) -> tuple[str, bool]:
        """Generate one stage after ``thought``; ``(thought, the thought was closed)``."""
        head, used = thought, 0
        stage_text = ""
        self._fired: set[str] = set()
        for _ in range(self.ctx.max_interventions + 2):
            left = budget - used
            if left <= 0:
                break
            watch = (StageWatch(stage, self.ctx.runs, len(self.ctx.retrieved_texts),
                                tuple(self.steps.injected)) if self.ctx.cfg.rpi else None)
            c = self._call(_join(head, stage_text) if stage_text else head, left, watch,
                           stage_text)
            used += c.usage.completion_tokens
            self.steps.segment(c, stage or None)
            full = stage_text + c.text
            if watch is not None and watch.moved_on is not None:
                return _join(head, full[: watch.moved_on].rstrip()), False
            if watch is not None and watch.violation is not None:
                stage_text, then = self._correct(full, watch, stage)
                if then == "continue":
                    continue
                return _join(head, stage_text), then == "close"
            stage_text = full
            if c.finish_reason == "length" or used >= budget:
                stage_text = self._budget_cut(stage_text, stage, budget)
                break
            fix = self._grounding(stage_text, stage)
            if fix is None:
                break
            stage_text = _join(stage_text.rstrip(), fix.text)
        return _join(head, stage_text.rstrip()) if stage_text else head, False

    def _correct(self, full: str, watch: StageWatch, stage: int) -> tuple[str, str]:
        """Apply the watch's violation: ``(stage text, what comes next)``."""
        v = watch.violation
        assert v is not None
        self.steps.record(v.check)
        clean = full[: v.cut].rstrip()
        # a check that fails again after its own correction will not be talked out of it: the
        # stage ends where it was clean (a second correction rarely differs, and costs a call)
        again = v.check.name in self._fired
        self._fired.add(v.check.name)
        if again or not self.steps.can_intervene():
            why = ("failed again after its correction" if again else
                   f"{self.ctx.max_interventions} interventions used")
            self.steps.record(Check("intervention_cap", False, f"{v.check.name} {why}: the "
                                    f"stage ends here", stage or None, v.cut))
            self.steps.closed_by = "cap"
            return clean, "next_stage" if stage == 2 else "close"
        self.steps.intervene(v.correction, v.cut)
        return _join(clean, v.correction.text), v.correction.then

    def _budget_cut(self, stage_text: str, stage: int, budget: int) -> str:
        """The stage used its budget: keep it up to its last complete sentence."""
        kept = stage_text[: _last_sentence_end(stage_text)]
        self.steps.record(Check("stage_budget", False, f"Stage {stage} reached its budget of "
                                f"{budget} tokens; kept up to its last full sentence",
                                stage or None, len(kept)))
        if stage != 2:
            self.steps.closed_by = "budget"
        return kept

    def _grounding(self, stage_text: str, stage: int) -> Correction | None:
        """Stage 2's (or a plain thought's) grounding; the correction when it fails."""
        k = len(self.ctx.retrieved_texts)
        if stage not in (0, 2) or not k:
            return None
        check = grounding_check(stage_text, self.ctx.retrieved_texts,
                                self.ctx.cfg.grounding_threshold, self.steps.injected,
                                stage or None)
        self.steps.record(check)
        if check.ok or not self.steps.can_intervene():
            return None
        fix = corrections.for_grounding(k)
        self.steps.intervene(fix, len(stage_text))
        return fix


class FollowUpThought:
    """A native reasoning model that cannot be continued inside its thought: check the
    finished thought, and correct by a follow-up user turn (see the module docstring)."""

    def __init__(self, ctx: Context, *, tag: Mapping[str, Any] | None = None, seed: int = 0,
                 temperature: float = 0.0) -> None:
        self.ctx = ctx
        self.steps = _Steps(ctx, tag, seed, temperature)

    def _problem(self, thought: str, ans: Answer) -> Check | None:
        checks = [stage_order_of(thought)] if self.ctx.cfg.hrt else []
        if self.ctx.retrieved_texts:
            stage2 = split_stages(thought).get(2, "") if self.ctx.cfg.hrt else thought
            checks.append(grounding_check(stage2, self.ctx.retrieved_texts,
                                          self.ctx.cfg.grounding_threshold))
        loops = find_loops(thought)
        checks.append(Check("loop", not loops, "; ".join(loops)[:200] or "no loops"))
        checks.append(Check("answer_format", ans.format_ok, f"answer {ans.text[:60]!r}"))
        for c in checks:
            self.steps.record(c)
        return next((c for c in checks if not c.ok), None)

    def run(self) -> ThoughtResult:
        """Generate, check, and correct by follow-up turns up to the intervention cap."""
        b = self.ctx.budgets
        messages = list(self.ctx.messages)
        reader = AnswerStep(self.steps)
        while True:
            c = self.ctx.log.generate(self.ctx.backend, messages, **self.steps.settings(
                b.synthesis + b.response + 512 + b.answer, None))
            sp = merge_reasoning(c.text, c.reasoning)
            thought, (raw, ans, _e, _c) = sp.reasoning, reader.read(sp.answer)
            self.steps.segment(c, None, text=thought)
            bad = self._problem(thought, ans)
            if bad is None or not self.steps.can_intervene():
                break
            note = (f"Please think again following the three stages ({bad.name}: {bad.detail}),"
                    f" then answer with {self.ctx.task.format_hint}.")
            self.steps.intervene(Correction(bad.name, note, "close"), len(thought))
            messages = [*messages, {"role": "assistant", "content": raw or "(no answer)"},
                        {"role": "user", "content": note}]
        support = profile_grounding(split_stages(thought).get(2, "") or thought,
                                    self.ctx.retrieved_texts)
        return ThoughtResult(thought.strip(), raw, ans, self.steps.interventions, support,
                             "model", self.steps.scaffold(), c.choices[0], None)


__all__ = ["ANSWER_STOPS", "STAGE_STOPS", "THINK", "AnswerStep", "Context", "FollowUpThought",
           "StagedThought", "ThoughtResult", "read_answer"]
