"""R2PMethod: HRT + RPI + SRM, with every ablation as an option.

============  =====  =====  =====  ==========
name          hrt    rpi    srm    selection
============  =====  =====  =====  ==========
``hrt``       yes    no     no     -
``hrt_rpi``   yes    yes    no     -
``r2p``       yes    yes    yes    llm
``r2p_sim``   yes    yes    yes    similarity
============  =====  =====  =====  ==========

Other combinations are named from their parts (``think_rpi``, ``hrt_srm``...).

Example:
    >>> from r2p.backends.fake import FakeBackend
    >>> from r2p.tasks import get_task
    >>> from r2p.types import Sample
    >>> m = R2PMethod(rpi=False, srm=False)
    >>> fb = FakeBackend(["Stage 1 done.\\nStage 2 - User profile: none.\\n"
    ...                   "Stage 3 - Response: 5.</think>5"])
    >>> m.predict(Sample("q", "review: great", []), get_task("LaMP_3"), [], fb).answer
    '5'
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from r2p.backends.base import Backend
from r2p.errors import ConfigError
from r2p.methods.answers import (
    Answer,
    answer_cues,
    introduces_answer,
    normalize,
    stated_choice,
)
from r2p.methods.common import CallLog
from r2p.methods.r2p.hrt import (
    PROMPT_VERSION,
    hrt_messages,
    retrieved_texts,
    select_messages,
    thought_prefill,
)
from r2p.methods.r2p.intervene import (
    RPIConfig,
    ThoughtResult,
    echoes_scaffold,
    run_thought,
    strip_scaffold,
)
from r2p.methods.r2p.monitor import split_stages
from r2p.methods.r2p.selfref import (
    closest,
    most_similar,
    text_decided,
    vote_decided,
    weighted_vote,
)
from r2p.tasks import Task
from r2p.types import Prediction, Retrieved, Sample

SELECTIONS = ("llm", "similarity")
DEFAULT_STAGE_BUDGETS = (120, 200, 160)
ANSWER_TOKENS = {"classification": 16, "rating": 8, "generation": 64}
DRAFT_MIN_WORDS = 3
"""A stage-3 line shorter than this is no text draft (e.g. "17." left by a budget cut)."""


def draft_of(task: Task, stage3: str, scaffold: list[str]) -> Answer | None:
    """The text draft stated in a stage 3 (scaffold already removed), or None.

    The last line introduced as an answer ("Final answer: ...", "Response: ...") wins; else
    the last line of at least :data:`DRAFT_MIN_WORDS` words. Lines that repeat the method's own
    text are skipped, and so are stubs such as a bare list number left by a cut.
    """
    lines = [ln for ln in stage3.splitlines()
             if ln.strip() and not echoes_scaffold(ln, scaffold)]
    introduced: Answer | None = None
    plain: Answer | None = None
    for ln in lines:
        a = normalize(task, ln)
        if not a.valid or len(a.text.split()) < DRAFT_MIN_WORDS:
            continue
        if introduces_answer(ln):
            introduced = a
        plain = a
    return introduced or plain


class R2PMethod:
    """R2P and its ablations, implementing :class:`r2p.methods.base.Method`.

    Args:
        hrt: use the three-stage thought template (else a plain "think, then answer" prompt).
        rpi: generate the thought in segments, monitor and intervene.
        srm: sample ``n_candidates`` thoughts and cross-reference them.
        n_candidates: SRM candidates (>= 1; ignored without SRM).
        max_interventions: RPI's cap per thought (>= 0).
        stage_budgets: approximate token budgets of stages 1-3 (default 120, 200, 160).
        selection: SRM for generated text: ``"llm"`` (one more call picks or merges) or
            ``"similarity"`` (the candidate closest to the others by ROUGE-L).
        temperature: sampling temperature of the candidates; None: 0.7 with SRM, 0 (greedy)
            for a single thought.
        seed: base seed; candidate ``i`` uses ``seed + i``.
        max_thought_tokens: approximate token budget of a whole thought.
        segment_tokens: RPI's token stride per segment.
        answer_tokens: max tokens of the answer (default by task kind: 16, 8, 64).
        grounding_threshold: minimum profile grounding of stage 2.
        prompt_version: version of the prompt files.
        early_stop: SRM stops sampling candidates once the decision is fixed: for labels and
            ratings when no remaining candidate can change the vote's winner (exact), for
            text when a strict majority of the ``n_candidates`` wrote the same answer.
        answer_cue: text prefilled after ``</think>`` when the answer is asked for, or a list
            of them tried in order while the model writes no valid answer (default
            ``["Answer:", "Final answer: "]``; ``""`` for none).

    Raises:
        ConfigError: an option is out of range or unknown.
    """

    def __init__(self, *, hrt: bool = True, rpi: bool = True, srm: bool = True,
                 n_candidates: int = 3, max_interventions: int = 3,
                 stage_budgets: tuple[int, int, int] | list[int] | str | None = None,
                 selection: str = "llm", temperature: float | None = None, seed: int = 0,
                 max_thought_tokens: int = 600, segment_tokens: int = 96,
                 answer_tokens: int | None = None, grounding_threshold: float = 0.25,
                 prompt_version: str = PROMPT_VERSION, early_stop: bool = True,
                 answer_cue: str | list[str] | tuple[str, ...] | None = None,
                 **unknown: Any) -> None:
        if unknown:
            raise ConfigError(f"unknown R2P option(s) {sorted(unknown)}; choose from: "
                              "hrt, rpi, srm, n_candidates, max_interventions, stage_budgets, "
                              "selection, temperature, seed, max_thought_tokens, "
                              "segment_tokens, answer_tokens, grounding_threshold, "
                              "prompt_version, early_stop, answer_cue")
        if selection not in SELECTIONS:
            raise ConfigError(f"unknown selection {selection!r}; choose from: "
                              f"{', '.join(SELECTIONS)}")
        raw_budgets: Any = stage_budgets
        if isinstance(raw_budgets, str):  # "120,200,160" from a command line
            raw_budgets = [b for b in raw_budgets.replace(" ", "").split(",") if b]
        try:
            budgets = (tuple(int(b) for b in raw_budgets) if raw_budgets is not None
                       else DEFAULT_STAGE_BUDGETS)
        except (TypeError, ValueError):
            budgets = ()
        if len(budgets) != 3 or any(b < 1 for b in budgets):
            raise ConfigError(f"stage_budgets must be three positive token counts, got "
                              f"{stage_budgets!r}")
        for opt, val, lo in (("n_candidates", n_candidates, 1),
                             ("max_interventions", max_interventions, 0),
                             ("max_thought_tokens", max_thought_tokens, 1),
                             ("segment_tokens", segment_tokens, 1)):
            if int(val) < lo:
                raise ConfigError(f"R2P option {opt} must be >= {lo}, got {val}")
        if temperature is not None and temperature < 0:
            raise ConfigError(f"R2P option temperature must be >= 0, got {temperature}")
        if not 0.0 <= grounding_threshold <= 1.0:
            raise ConfigError(f"R2P option grounding_threshold must be in [0, 1], got "
                              f"{grounding_threshold}")
        self.hrt, self.rpi, self.srm = hrt, rpi, srm
        self.n_candidates = int(n_candidates) if srm else 1
        self.max_interventions = int(max_interventions)
        self.stage_budgets = (int(budgets[0]), int(budgets[1]), int(budgets[2]))
        self.selection = selection
        self.temperature = (temperature if temperature is not None
                            else (0.7 if self.n_candidates > 1 else 0.0))
        self.seed = seed
        self.max_thought_tokens = int(max_thought_tokens)
        self.segment_tokens = int(segment_tokens)
        self.answer_tokens = answer_tokens
        self.grounding_threshold = grounding_threshold
        self.prompt_version = prompt_version
        if not isinstance(early_stop, bool):
            raise ConfigError(f"R2P option early_stop must be true or false, got {early_stop!r}")
        self.early_stop = early_stop
        self.answer_cues = answer_cues(answer_cue)
        self.name = self._name()

    def _name(self) -> str:
        if self.hrt and self.rpi and self.srm:
            return "r2p" if self.selection == "llm" else "r2p_sim"
        parts = ["hrt" if self.hrt else "think"]
        if self.rpi:
            parts.append("rpi")
        if self.srm:
            parts.append("srm" if self.selection == "llm" else "srm_sim")
        return "_".join(parts)

    def options(self) -> dict[str, Any]:
        """The method's settings, for run configs."""
        return {"hrt": self.hrt, "rpi": self.rpi, "srm": self.srm,
                "n_candidates": self.n_candidates, "max_interventions": self.max_interventions,
                "stage_budgets": list(self.stage_budgets), "selection": self.selection,
                "temperature": self.temperature, "seed": self.seed,
                "max_thought_tokens": self.max_thought_tokens,
                "segment_tokens": self.segment_tokens, "answer_tokens": self.answer_tokens,
                "grounding_threshold": self.grounding_threshold,
                "prompt_version": self.prompt_version, "early_stop": self.early_stop,
                "answer_cue": list(self.answer_cues)}

    def __repr__(self) -> str:
        return f"R2PMethod(name={self.name!r})"

    def _config(self, task: Task, native: bool, seed: int) -> RPIConfig:
        return RPIConfig(
            hrt=self.hrt, rpi=self.rpi, max_interventions=self.max_interventions,
            stage_budgets=self.stage_budgets, max_thought_tokens=self.max_thought_tokens,
            segment_tokens=self.segment_tokens,
            answer_tokens=self.answer_tokens or ANSWER_TOKENS[task.kind],
            grounding_threshold=self.grounding_threshold, temperature=self.temperature,
            seed=seed, native=native, answer_cues=self.answer_cues)

    def predict(self, sample: Sample, task: Task, retrieved: list[Retrieved],
                backend: Backend) -> Prediction:
        """Answer ``sample`` with HRT (+RPI) thoughts, cross-referenced by SRM."""
        log = CallLog()
        # a native reasoning model is steered inside its own thought when the engine can
        # continue a prefill there (llamacpp, hf, openai raw_completions); otherwise RPI checks
        # the finished thought and corrects by a follow-up turn
        native = bool(getattr(backend, "native_reasoning", False))
        follow_up = native and not bool(getattr(backend, "thought_prefill", False))
        messages = hrt_messages(task, sample, retrieved, version=self.prompt_version,
                                template=None if self.hrt else "plain_think")
        texts = retrieved_texts(task, retrieved)
        start = "" if follow_up else thought_prefill(self.hrt)
        log.event("check", name="rpi_mode", ok=True, stage=None,
                  detail=("follow-up turns (the engine cannot continue inside the native "
                          "thought)" if follow_up else
                          "inside the native thought" if native else "inside the thought "
                          "(<think> prefilled)"))
        results: list[ThoughtResult] = []
        n = self.n_candidates
        for i in range(n):
            tag = {"candidate": i} if n > 1 else {}
            r = run_thought(backend, messages, task, texts,
                            self._config(task, follow_up, self.seed + i), log, tag=tag,
                            start=start)
            self._repair(task, retrieved, r, log, i if n > 1 else None)
            results.append(r)
            if self.early_stop and 1 < len(results) < n and self._decided(task, results):
                log.event("check", name="srm_early_stop", ok=True, stage=None,
                          detail=f"decided after {len(results)} of {n} candidates: no "
                                 f"remaining candidate can change the answer")
                break
        for i, r in enumerate(results):
            log.event("candidate", index=i, answer=r.answer.text, format_ok=r.answer.format_ok,
                      support=r.support, reasoning=r.thought, interventions=r.interventions,
                      closed_by=r.closed_by)
        chosen, answer, raw, fmt_ok = self._decide(sample, task, retrieved, backend, results, log)
        best = results[chosen]
        return log.prediction(
            sample.id, answer=answer, raw_output=raw, reasoning=best.thought, format_ok=fmt_ok,
            retrieved_ids=[r.id for r in retrieved], method=self.name)

    @staticmethod
    def _repair(task: Task, retrieved: list[Retrieved], r: ThoughtResult, log: CallLog,
                candidate: int | None) -> None:
        """Make the answer valid when the model never gave one.

        First the answer stated in the thought's stage 3 (for text: its last line); then,
        for labels and ratings, the label the user's retrieved items carry most often
        (``task.output_field``), else the first label. A text answer with no draft in stage 3
        stays empty. ``format_ok`` stays False: this is a repair, recorded as a failed
        ``answer_repair`` check.
        """
        if r.answer.valid:
            return
        # only a stage 3 states an answer; earlier stages restate the format ("1 to 5"). The
        # method's own text (corrections, the closing "Time to give the answer: <format>."
        # line, the format hint, also where the model copied them) is removed first: it names
        # labels and formats, and is no draft of the model's
        last = split_stages(r.thought).get(3, "") if r.thought else ""
        last = strip_scaffold(last, r.injected)
        how = "stage 3 of the thought"
        if task.kind == "generation":
            fixed = draft_of(task, last, r.injected)
            if fixed is None:
                return  # an empty text answer stays empty (scored as such): no invented text
        else:
            # the one label the stage settles on; a sentence restating the format ("a single
            # digit from 1 to 5", "[1] or [2]") names several and is no choice
            fixed = stated_choice(task, last) if last.strip() else None
        if fixed is None or not fixed.valid:  # labels and ratings only (text always has one)
            labels = task.labels or ("",)
            seen = [str(x.item.get(task.output_field, "")) for x in retrieved] \
                if task.output_field else []
            seen = [x for x in seen if x in labels]
            text = Counter(seen).most_common(1)[0][0] if seen else labels[0]
            how = "the user's most frequent label" if seen else "the first label"
            fixed = Answer(text, False, True)
        r.answer = Answer(fixed.text, False, fixed.valid)
        extra = {"candidate": candidate} if candidate is not None else {}
        log.event("check", name="answer_repair", ok=False, stage=None,
                  detail=f"no valid answer; took {fixed.text!r} from {how}", **extra)

    def _decided(self, task: Task, results: list[ThoughtResult]) -> bool:
        """Whether SRM's answer is already fixed (see ``early_stop``)."""
        answers = [r.answer.text for r in results]
        valid = [r.answer.valid for r in results]
        if task.kind in ("classification", "rating"):
            return vote_decided(answers, [r.support for r in results], valid,
                                self.n_candidates - len(results))
        return text_decided(answers, valid, self.n_candidates)

    def _decide(self, sample: Sample, task: Task, retrieved: list[Retrieved],
                backend: Backend, results: list[ThoughtResult],
                log: CallLog) -> tuple[int, str, str, bool]:
        """SRM's decision: ``(chosen index, answer, raw output, format_ok)``."""
        answers = [r.answer.text for r in results]
        if len(results) == 1:
            r = results[0]
            log.event("decision", how="single", chosen=0, answer=r.answer.text,
                      detail="one thought")
            return 0, r.answer.text, r.raw_answer, r.answer.format_ok
        if task.kind in ("classification", "rating"):
            i, tallies = weighted_vote(answers, [r.support for r in results],
                                       [r.answer.valid for r in results])
            # the winning answer's representative: a candidate that gave it in the required
            # format if any, then the best grounded, then the earliest
            same = [j for j, r in enumerate(results)
                    if r.answer.valid and answers[j] == answers[i]] or [i]
            i = max(same, key=lambda j: (results[j].answer.format_ok, results[j].support, -j))
            log.event("decision", how="vote", chosen=i, answer=answers[i],
                      detail=f"support-weighted tallies {tallies}")
            r = results[i]
            return i, r.answer.text, r.raw_answer, r.answer.format_ok
        valid = [i for i, r in enumerate(results) if r.answer.valid] or list(range(len(results)))
        if len({answers[i] for i in valid}) == 1:
            i = valid[0]
            log.event("decision", how="single", chosen=i, answer=answers[i],
                      detail="all valid candidates agree")
            return i, answers[i], results[i].raw_answer, results[i].answer.format_ok
        pool = [answers[i] for i in valid]
        if self.selection == "llm":
            msgs = select_messages(task, sample, retrieved, pool, version=self.prompt_version)
            c = log.generate(backend, msgs, max_tokens=self.answer_tokens
                             or ANSWER_TOKENS[task.kind], temperature=0.0)
            merged = normalize(task, c.text)
            log.event("segment", stage=None, text=c.text, tokens=c.usage.completion_tokens,
                      finish_reason=c.finish_reason, selection=True)
            if merged.valid:
                j, sim = closest(merged.text, pool)
                how = "picked" if merged.text == pool[j] else "merged"
                log.event("decision", how="llm", chosen=valid[j], answer=merged.text,
                          detail=f"{how}; closest candidate C{j + 1} (ROUGE-L {sim})")
                return valid[j], merged.text, c.text, merged.format_ok
            log.event("check", name="selection", ok=False, stage=None,
                      detail=f"selection output {c.text[:60]!r} is not a valid answer; "
                             f"falling back to similarity")
        j, means = most_similar(pool)
        i = valid[j]
        log.event("decision", how="similarity", chosen=i, answer=answers[i],
                  detail=f"mean ROUGE-L to the others {means}")
        return i, answers[i], results[i].raw_answer, results[i].answer.format_ok


__all__ = ["ANSWER_TOKENS", "DEFAULT_STAGE_BUDGETS", "DRAFT_MIN_WORDS", "SELECTIONS", "R2PMethod", "draft_of"]
