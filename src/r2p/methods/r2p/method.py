"""R2PMethod: HRT + RPI + SRM, with every ablation as an option.

============  =====  =====  =====  ==========
name          hrt    rpi    srm    selection
============  =====  =====  =====  ==========
``hrt``       yes    no     no     -
``hrt_rpi``   yes    yes    no     -
``r2p``       yes    yes    yes    similarity
``r2p_llm``   yes    yes    yes    llm
============  =====  =====  =====  ==========

Other combinations are named from their parts (``think_rpi``, ``hrt_srm``...).

Example:
    >>> from r2p.backends.fake import FakeBackend
    >>> from r2p.tasks import get_task
    >>> from r2p.types import Sample
    >>> m = R2PMethod(rpi=False, srm=False)
    >>> fb = FakeBackend([" The user is generous.", " A great review.", " 5"])
    >>> m.predict(Sample("q", "review: great", []), get_task("LaMP_3"), [], fb).answer
    '5'
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

from r2p.backends.base import Backend
from r2p.errors import R2PError
from r2p.methods.answers import Answer, introduces_answer, normalize, stated_choice
from r2p.methods.common import CallLog
from r2p.methods.r2p.checks import PromptRuns, echoes_scaffold, strip_scaffold
from r2p.methods.r2p.config import R2PConfig
from r2p.methods.r2p.hrt import hrt_messages, retrieved_texts, select_messages, thought_prefill
from r2p.methods.r2p.monitor import split_stages
from r2p.methods.r2p.rpi import (
    ANSWER_STOPS,
    THINK,
    Context,
    FollowUpThought,
    StagedThought,
    ThoughtResult,
    read_answer,
)
from r2p.methods.r2p.selfref import (
    VOTE_BASE,
    closest,
    combine,
    consensus,
    label_distribution,
    weighted_vote,
)
from r2p.methods.r2p.synthesis import (
    HISTORY_REQUEST,
    SYNTHESES,
    Synthesis,
    as_history,
    history_sample,
    synthesis_key,
)
from r2p.methods.rag import RAGMethod
from r2p.reasoning import merge_reasoning
from r2p.tasks import Task
from r2p.types import Message, Prediction, Retrieved, Sample


class Reordered(NamedTuple):
    """SRM's answer with the options in reverse order, mapped back to the original labels."""

    raw: str
    answer: Answer
    distribution: dict[str, float] | None


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


def _profile_label(task: Task, retrieved: list[Retrieved]) -> tuple[Answer, str]:
    """The label the user's retrieved items carry most often (``task.output_field``), else
    the first label; with how it was found."""
    labels = task.labels or ("",)
    seen = [str(x.item.get(task.output_field, "")) for x in retrieved] \
        if task.output_field else []
    seen = [x for x in seen if x in labels]
    if seen:
        return Answer(Counter(seen).most_common(1)[0][0], False, True), \
            "the user's most frequent label"
    return Answer(labels[0], False, True), "the first label"


class R2PMethod:
    """R2P and its ablations, implementing :class:`r2p.methods.base.Method`.

    Options are those of :class:`~r2p.methods.r2p.config.R2PConfig` (validated there, the one
    home of their defaults):

    * ``hrt``, ``rpi``, ``srm``: the three parts (the ablations switch them off).
    * ``synthesis_tokens``, ``response_tokens``, ``answer_tokens``: budgets of stage 2, of
      stage 3 inside the thought, and of the answer (default per task kind).
    * ``max_interventions``: RPI's corrections per thought (default 0: a failing check only
      cuts the stage where it was clean; measured, no correction paid); ``copy_words``: a verbatim
      run this long copied from the prompt is cut; ``grounding_threshold``: stage 2's minimum
      grounding.
    * ``n_candidates``: SRM's candidates. Text: the answer after the thought, the answer the
      same prompt gets with an empty thought, the reference LaMP prompt's answer
      (``reference_candidate``), and ``n_candidates - 2`` answers sampled at
      ``sample_temperature`` after the thought (one call); then ``selection``:
      ``"similarity"`` (the consensus of the candidates and the request, highest mean
      ROUGE-L) or ``"llm"`` (one more call picks or merges). Labels and ratings: the answer's label
      distribution from the engine's ``top_logprobs``; below ``confidence`` up to
      ``extra_thoughts`` more thoughts are sampled and the distributions mixed (weighted by
      their grounding); engines without log-probabilities vote over sampled answers instead.
    * ``option_order`` (off): labels that name option positions (LaMP-1) are also read with
      the options reversed, and the two distributions averaged.
    * ``synthesis`` (``"query"``): ``"user"`` writes stage 2 once per user and profile
      version, over ``synthesis_items`` items spread over the whole profile, and prefills it
      into every later thought of that user (:mod:`~r2p.methods.r2p.synthesis`).
    * ``temperature`` (the thought; 0 greedy), ``seed``, ``prompt_version``, ``answer_cue``.

    Raises:
        ConfigError: an option is out of range or unknown.
    """

    def __init__(self, **options: Any) -> None:
        self.config = R2PConfig(**options)
        self.name = self._name()

    def _name(self) -> str:
        c = self.config
        if c.hrt and c.rpi and c.srm:
            return "r2p" if c.selection == "similarity" else "r2p_llm"
        parts = ["hrt" if c.hrt else "think"]
        if c.rpi:
            parts.append("rpi")
        if c.srm:
            parts.append("srm" if c.selection == "similarity" else "srm_llm")
        return "_".join(parts)

    def options(self) -> dict[str, Any]:
        """The method's settings, for run configs."""
        return self.config.options()

    def __repr__(self) -> str:
        return f"R2PMethod(name={self.name!r})"

    # -- one thought ---------------------------------------------------------------------------
    def _thought(self, ctx: Context, follow_up: bool, index: int,
                 synthesis: Synthesis | None = None) -> ThoughtResult:
        cfg = ctx.cfg
        tag = {"candidate": index} if cfg.srm and cfg.n_candidates > 1 else {}
        temperature = cfg.temperature if index == 0 else max(cfg.temperature,
                                                              cfg.sample_temperature)
        if follow_up:
            r = FollowUpThought(ctx, tag=tag, seed=cfg.seed + index,
                                temperature=temperature).run()
        else:
            r = StagedThought(ctx, thought_prefill(cfg.hrt, ctx.task), tag=tag,
                              seed=cfg.seed + index, temperature=temperature,
                              synthesis=synthesis).run()
        return r

    @staticmethod
    def _user_synthesis(ctx: Context, sample: Sample, follow_up: bool) -> Synthesis | None:
        """The user's stage 2 (``synthesis="user"``): from :data:`SYNTHESES`, or written now
        over :func:`history_sample` of the profile and kept there (module
        :mod:`~r2p.methods.r2p.synthesis`). None with ``synthesis="query"``, with no profile,
        or where a native thought cannot be continued (each thought then writes its own)."""
        cfg, task, log = ctx.cfg, ctx.task, ctx.log
        if cfg.synthesis != "user":
            return None
        items = history_sample(sample.profile, cfg.synthesis_items)
        if follow_up or not items:
            log.event("check", name="user_synthesis", ok=False, stage=2,
                      detail="not used: " + ("the engine cannot continue inside the native "
                                             "thought" if follow_up else "the profile is empty")
                      + "; the thought writes its own stage 2")
            return None
        hist = [Retrieved(item, 0.0, i) for i, item in enumerate(items)]
        msgs = hrt_messages(task, Sample(sample.id, HISTORY_REQUEST, items), hist,
                            version=cfg.prompt_version)
        options = cfg.options()
        shaping = {k: options[k] for k in (
            "rpi", "temperature", "seed", "copy_words", "grounding_threshold", "prompt_version")}
        shaping.update(budget=ctx.budgets.synthesis, interventions=ctx.max_interventions)
        key = synthesis_key(ctx.backend.identity(), task.name, shaping, msgs)

        def write() -> Synthesis:
            log.event("check", name="user_synthesis", ok=True, stage=2,
                      detail=f"writing the user's synthesis from {len(items)} profile items "
                             f"(key {key[:12]}); later queries of this profile reuse it")
            runs = PromptRuns([msgs[-1]["content"]], cfg.copy_words) if cfg.rpi else None
            sctx = Context(ctx.backend, msgs, task, HISTORY_REQUEST,
                           retrieved_texts(task, hist), cfg, ctx.budgets, log, runs)
            text, support, injected = StagedThought(
                sctx, thought_prefill(True, task), seed=cfg.seed,
                temperature=cfg.temperature).synthesize()
            return Synthesis(as_history(text), support, key, len(items),
                             tuple(as_history(t) for t in injected))

        synthesis, fresh = SYNTHESES.get(key, write)
        if not fresh:
            log.event("check", name="user_synthesis", ok=True, stage=2,
                      detail=f"reused the user's synthesis (key {key[:12]}, from "
                             f"{synthesis.items} profile items): no tokens spent on stage 2")
        if not synthesis.text:
            # kept all the same: at the same seed the same prompt writes it again
            log.event("check", name="user_synthesis", ok=False, stage=2,
                      detail="the user's synthesis is empty (RPI cut it at once): stage 3 "
                             "follows the stated requirements with no profile synthesis")
        return synthesis

    def predict(self, sample: Sample, task: Task, retrieved: list[Retrieved],
                backend: Backend) -> Prediction:
        """Answer ``sample`` with an HRT (+RPI) thought, cross-checked by SRM."""
        cfg = self.config
        log = CallLog()
        # a native reasoning model is steered inside its own thought when the engine can
        # continue a prefill there (llamacpp, hf, openai raw_completions); otherwise RPI checks
        # the finished thought and corrects by a follow-up turn
        native = backend.native_reasoning
        follow_up = native and not backend.thought_prefill
        messages = hrt_messages(task, sample, retrieved, version=cfg.prompt_version,
                                template=None if cfg.hrt else "plain_think")
        runs = PromptRuns([messages[-1]["content"]], cfg.copy_words) if cfg.rpi else None
        ctx = Context(backend, messages, task, sample.input, retrieved_texts(task, retrieved),
                      cfg, cfg.budgets(task.kind), log, runs)
        log.event("check", name="rpi_mode", ok=True, stage=None,
                  detail=("follow-up turns (the engine cannot continue inside the native "
                          "thought)" if follow_up else
                          "inside the native thought" if native else "inside the thought "
                          "(<think> prefilled)"))
        synthesis = self._user_synthesis(ctx, sample, follow_up)
        first = self._thought(ctx, follow_up, 0, synthesis)
        results = [first]
        answer, raw, fmt_ok = first.answer.text, first.raw_answer, first.answer.format_ok
        if cfg.srm and cfg.n_candidates > 1:
            if task.kind == "generation":
                answer, raw, fmt_ok = self._srm_text(sample, task, retrieved, ctx, first)
            else:
                answer, raw, fmt_ok = self._srm_labels(ctx, follow_up, results,
                                                       self._reordered(ctx, sample, retrieved,
                                                                       first), synthesis)
        else:
            self._repair(task, retrieved, first, log, None)
            answer, raw, fmt_ok = first.answer.text, first.raw_answer, first.answer.format_ok
            log.event("decision", how="single", chosen=0, answer=answer, detail="one thought")
        return log.prediction(
            sample.id, answer=answer, raw_output=raw, reasoning=first.thought, format_ok=fmt_ok,
            retrieved_ids=[r.id for r in retrieved], method=self.name)

    # -- SRM -------------------------------------------------------------------------------------
    def _distribution(self, ctx: Context, r: ThoughtResult) -> dict[str, float] | None:
        if not ctx.logprobs or r.choice is None:
            return None
        return label_distribution(ctx.task.labels or (), r.choice.top_logprobs)

    def _reordered(self, ctx: Context, sample: Sample, retrieved: list[Retrieved],
                   first: ThoughtResult) -> Reordered | None:
        """The answer after the same thought when the prompt lists the task's options in
        reverse order (``option_order``; tasks whose labels name option positions, LaMP-1),
        mapped back to the original labels: SRM's check that the choice follows the options'
        content, not their place (small models answer ``[1]`` to nearly every LaMP-1 query).
        Off by default: one more call, and no gain measured on the local models."""
        task, cfg = ctx.task, ctx.cfg
        if not cfg.option_order or task.reorder is None or first.answer_prefill is None:
            return None
        flipped = task.reorder(sample.input)
        if flipped is None:
            return None
        msgs = hrt_messages(task, Sample(sample.id, flipped, sample.profile), retrieved,
                            version=cfg.prompt_version,
                            template=None if cfg.hrt else "plain_think")
        settings: dict[str, Any] = {"max_tokens": ctx.budgets.answer, "stop": ANSWER_STOPS,
                                    "temperature": cfg.temperature, "seed": cfg.seed}
        if ctx.logprobs:
            settings["top_logprobs"] = cfg.top_logprobs
        c = ctx.log.generate(ctx.backend, msgs, prefill=first.answer_prefill, **settings)
        ctx.log.event("segment", stage=None, text=c.text, tokens=c.usage.completion_tokens,
                      finish_reason=c.finish_reason, part="srm_reordered")
        labels = task.labels or ()
        back = dict(zip(labels, reversed(labels)))
        raw, ans, _e, _c = read_answer(task, flipped, c.text, first.injected)
        ans = Answer(back.get(ans.text, ans.text), ans.format_ok, ans.valid)
        dist = (label_distribution(labels, c.choices[0].top_logprobs)
                if ctx.logprobs and c.choices else None)
        return Reordered(raw, ans, {back[k]: v for k, v in dist.items()} if dist else None)

    def _srm_labels(self, ctx: Context, follow_up: bool, results: list[ThoughtResult],
                    reordered: Reordered | None = None,
                    synthesis: Synthesis | None = None) -> tuple[str, str, bool]:
        """Labels and ratings: the answer distribution (averaged over both option orders
        where the labels name positions), more thoughts while it is uncertain."""
        cfg, log = ctx.cfg, ctx.log
        first = results[0]
        dist = self._distribution(ctx, first)
        if dist is None:
            return self._vote_samples(ctx, first, reordered)
        dists, weights = [dist], [VOTE_BASE + first.support]
        mixed = dist
        flipped = reordered.distribution if reordered is not None else None
        if flipped is not None:
            mixed = combine([dist, flipped], [1.0, 1.0])
            same = max(dist, key=dist.__getitem__) == max(flipped, key=flipped.__getitem__)
            log.event("check", name="option_order", ok=same, stage=None,
                      detail=f"options in order {dist}; reversed (mapped back) {flipped}; "
                             f"averaged {mixed}")
            dists[0] = mixed
        while (max(mixed.values()) < cfg.confidence and len(results) <= cfg.extra_thoughts
               and len(results) < cfg.n_candidates):
            r = self._thought(ctx, follow_up, len(results), synthesis)
            results.append(r)
            d = self._distribution(ctx, r)
            if d is not None:
                dists.append(d)
                weights.append(VOTE_BASE + r.support)
                mixed = combine(dists, weights)
        label = max(mixed, key=lambda lab: mixed[lab])
        chosen = next((i for i, r in enumerate(results) if r.answer.text == label), 0)
        for i, r in enumerate(results):
            log.event("candidate", index=i, answer=r.answer.text, format_ok=r.answer.format_ok,
                      support=r.support, reasoning=r.thought, interventions=r.interventions,
                      closed_by=r.closed_by,
                      distribution={k: round(v, 4) for k, v in (
                          dists[i] if i < len(dists) else {}).items()})
        raw = results[chosen].raw_answer
        fmt_ok = results[chosen].answer.format_ok and results[chosen].answer.text == label
        if not fmt_ok and reordered is not None and reordered.answer.text == label:
            raw, fmt_ok = reordered.raw, reordered.answer.format_ok  # written in reverse order
        if not fmt_ok and not first.answer.valid:
            log.event("check", name="answer_repair", ok=False, stage=None,
                      detail=f"no valid answer written; took {label!r} from the answer's "
                             f"token probabilities")
        log.event("decision", how="distribution", chosen=chosen, answer=label,
                  distribution={k: round(v, 4) for k, v in mixed.items()},
                  detail=f"{len(results)} thought(s); label probabilities {mixed}")
        return label, raw, fmt_ok

    @staticmethod
    def _ask(ctx: Context, first: ThoughtResult, part: str, messages: list[Message],
             prefill: str | None, **settings: Any) -> list[tuple[str, Answer]]:
        """One SRM call for more candidates: every choice read as an answer (the method's own
        text is no answer), the call recorded as a segment of ``part``."""
        c = ctx.log.generate(ctx.backend, messages, prefill=prefill,
                             max_tokens=ctx.budgets.answer, **settings)
        ctx.log.event("segment", stage=None, text=" | ".join(ch.text for ch in c.choices),
                      tokens=c.usage.completion_tokens, finish_reason=c.finish_reason,
                      part=part)
        out = []
        for ch in c.choices:
            # without a prefill a reasoning model may think first: only its answer counts
            text = ch.text if prefill is not None else merge_reasoning(ch.text,
                                                                        ch.reasoning).answer
            raw, ans, _e, _c = read_answer(ctx.task, ctx.task_input, text, first.injected)
            out.append((raw, ans))
        return out

    def _samples(self, ctx: Context, first: ThoughtResult, n: int) -> list[tuple[str, Answer]]:
        """``n`` more answers sampled after the first thought, in one call."""
        if first.answer_prefill is None or n < 1:
            return []
        return self._ask(ctx, first, "srm_samples", ctx.messages, first.answer_prefill, n=n,
                         temperature=ctx.cfg.sample_temperature, stop=ANSWER_STOPS,
                         seed=ctx.cfg.seed + 1)

    def _vote_samples(self, ctx: Context, first: ThoughtResult,
                      reordered: Reordered | None = None) -> tuple[str, str, bool]:
        """Labels and ratings without log-probabilities: vote over sampled answers (and the
        answer with the options reversed, mapped back)."""
        self._repair(ctx.task, [], first, ctx.log, 0)
        pool = [(first.raw_answer, first.answer),
                *self._samples(ctx, first, ctx.cfg.n_candidates - 1),
                *([(reordered.raw, reordered.answer)] if reordered is not None else [])]
        answers = [a.text for _, a in pool]
        i, tallies = weighted_vote(answers, [first.support] * len(pool),
                                   [a.valid for _, a in pool])
        self._candidates(ctx, pool, first)
        ctx.log.event("decision", how="vote", chosen=i, answer=answers[i],
                      detail=f"support-weighted tallies {tallies}")
        return answers[i], pool[i][0], pool[i][1].format_ok

    def _unthought(self, ctx: Context, first: ThoughtResult) -> tuple[str, Answer]:
        """The answer to the same prompt with an empty thought: a candidate that the profile
        synthesis did not shape, for SRM to check the others against (prompt from cache)."""
        cue = ctx.cfg.answer_cue[0] if ctx.cfg.answer_cue else ""
        return self._ask(ctx, first, "srm_unthought", ctx.messages, f"{THINK}</think>\n\n{cue}",
                         stop=ANSWER_STOPS, temperature=ctx.cfg.temperature,
                         seed=ctx.cfg.seed)[0]

    def _reference(self, ctx: Context, sample: Sample, retrieved: list[Retrieved],
                   first: ThoughtResult) -> list[tuple[str, Answer]]:
        """The answer of the reference LaMP prompt (rag's, the same retrieved items): a
        candidate shaped by neither the template nor the thought. A small model that cannot
        follow the template still answers this prompt; SRM's consensus then keeps it. Empty
        when ``reference_candidate`` is off or the task has no reference prompt."""
        if not ctx.cfg.reference_candidate:
            return []
        rag = RAGMethod(temperature=ctx.cfg.temperature, seed=ctx.cfg.seed)
        try:
            msgs = rag.messages(rag.prompt(sample, ctx.task, rag.used_items(retrieved)))
        except (KeyError, R2PError):  # a task without a reference shot format
            return []
        return self._ask(ctx, first, "srm_reference", msgs, None,
                         temperature=ctx.cfg.temperature, seed=ctx.cfg.seed)

    @staticmethod
    def _not_copied(ctx: Context, sample: Sample, index: int,
                    cand: tuple[str, Answer]) -> tuple[str, Answer]:
        """A text candidate that is a piece of the prompt itself (a template line, an item)
        and not of the request is no answer (``"The user's past texts:"``): made invalid,
        recorded as a failed ``candidate_copy`` check."""
        raw, ans = cand
        text = " ".join(ans.text.lower().split())
        prompt = " ".join(ctx.messages[-1]["content"].lower().split())
        request = " ".join(ctx.task.query(sample.input).lower().split())
        if not ans.valid or len(text.split()) < 2 or text not in prompt or text in request:
            return cand
        ctx.log.event("check", name="candidate_copy", ok=False, stage=None, candidate=index,
                      detail=f"candidate {ans.text[:60]!r} is a piece of the prompt")
        return raw, Answer(ans.text, False, False)

    @staticmethod
    def _candidates(ctx: Context, pool: list[tuple[str, Answer]], first: ThoughtResult) -> None:
        for i, (_raw, a) in enumerate(pool):
            ctx.log.event("candidate", index=i, answer=a.text, format_ok=a.format_ok,
                          support=first.support, reasoning=first.thought if i == 0 else "",
                          interventions=first.interventions if i == 0 else 0,
                          closed_by=first.closed_by)

    def _srm_text(self, sample: Sample, task: Task, retrieved: list[Retrieved], ctx: Context,
                  first: ThoughtResult) -> tuple[str, str, bool]:
        """Text: the answer after the thought, the answer the same prompt gets without a
        thought, and sampled ones after the thought; the consensus (or the model's pick)."""
        log, cfg = ctx.log, ctx.cfg
        self._repair(task, retrieved, first, log, 0)
        pool = [(first.raw_answer, first.answer), self._unthought(ctx, first),
                *self._reference(ctx, sample, retrieved, first),
                *self._samples(ctx, first, cfg.n_candidates - 2)]
        pool = [self._not_copied(ctx, sample, i, c) for i, c in enumerate(pool)]
        self._candidates(ctx, pool, first)
        valid = [i for i, (_r, a) in enumerate(pool) if a.valid] or [0]
        texts = [pool[i][1].text for i in valid]
        if len(set(texts)) == 1:
            i = valid[0]
            log.event("decision", how="single", chosen=i, answer=texts[0],
                      detail="all valid candidates agree")
            return texts[0], pool[i][0], pool[i][1].format_ok
        if cfg.selection == "llm":
            msgs = select_messages(task, sample, retrieved, texts, version=cfg.prompt_version)
            c = log.generate(ctx.backend, msgs, max_tokens=ctx.budgets.answer, temperature=0.0)
            merged = normalize(task, c.text)
            log.event("segment", stage=None, text=c.text, tokens=c.usage.completion_tokens,
                      finish_reason=c.finish_reason, selection=True)
            if merged.valid:
                j, sim = closest(merged.text, texts)
                how = "picked" if merged.text == texts[j] else "merged"
                log.event("decision", how="llm", chosen=valid[j], answer=merged.text,
                          detail=f"{how}; closest candidate C{j + 1} (ROUGE-L {sim})")
                return merged.text, c.text, merged.format_ok
            log.event("check", name="selection", ok=False, stage=None,
                      detail=f"selection output {c.text[:60]!r} is not a valid answer; "
                             f"falling back to similarity")
        j, means = consensus(texts, [task.query(sample.input)])
        i = valid[j]
        log.event("decision", how="similarity", chosen=i, answer=texts[j],
                  detail=f"mean ROUGE-L to the other candidates and the request {means}")
        return texts[j], pool[i][0], pool[i][1].format_ok

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
        last = split_stages(r.thought).get(3, "") if r.thought else ""
        last = strip_scaffold(last, r.injected)
        how = "stage 3 of the thought"
        if task.kind == "generation":
            fixed = draft_of(task, last, r.injected)
            if fixed is None:
                return  # an empty text answer stays empty (scored as such): no invented text
        else:
            fixed = stated_choice(task, last) if last.strip() else None
        if fixed is None or not fixed.valid:  # labels and ratings only (text always has one)
            fixed, how = _profile_label(task, retrieved)
        r.answer = Answer(fixed.text, False, fixed.valid)
        extra = {"candidate": candidate} if candidate is not None else {}
        log.event("check", name="answer_repair", ok=False, stage=None,
                  detail=f"no valid answer; took {fixed.text!r} from {how}", **extra)


__all__ = ["DRAFT_MIN_WORDS", "R2PMethod", "Reordered", "draft_of"]
