"""``think``: plain, unguided reasoning (the paper's vanilla-LRM baseline).

The prompt is rag's (the reference LaMP prompt with the retrieved shots). The model thinks
freely in a ``<think>`` block, then answers:

* a backend with ``native_reasoning`` (a reasoning model behind a server) thinks natively: no
  prefill, its thought comes back in ``Completion.reasoning`` or inline;
* any other backend is started inside the thought by prefilling ``"<think>\\n"``.

One call gets ``max_thought_tokens`` plus the answer budget. If the thought does not close by
itself (the budget ran out, or the model stopped inside it), the thought is closed for it and
the answer asked for in a second call that continues
``<think>\\n{thought}\\n</think>\\n\\nAnswer:`` (the same cue R2P uses);
the same happens when the thought closed with no answer after it. Either repair is recorded in
the trace and makes ``format_ok`` false: the raw output did not deliver an answer.

Nothing here steers the thought: the method *measures* the problems the paper names. The trace
holds checks ``thought_closed``, ``thought_budget`` (thought tokens vs. the budget), ``loop``
(repeated sentences, runs of "Wait", via :func:`r2p.methods.r2p.monitor.find_loops`),
``grounding`` (how much the thought uses the retrieved items, via
:func:`r2p.methods.r2p.monitor.profile_grounding`) and ``answer_format``.
"""

from __future__ import annotations

from typing import Any

from r2p.backends.base import Backend
from r2p.errors import ConfigError
from r2p.methods.answers import answer_cues, normalize
from r2p.methods.common import CallLog
from r2p.methods.rag import RAGMethod
from r2p.reasoning import THINK_CLOSE, THINK_OPEN, merge_reasoning, split_reasoning
from r2p.tasks import Task
from r2p.types import Completion, Prediction, Retrieved, Sample

DEFAULT_THOUGHT_TOKENS = 512
"""Default thought budget: generous for a local model (R1-style models may need far more;
raise it with ``max_thought_tokens``)."""


def _thought_tokens(c: Completion, thought: str, closed: bool) -> int:
    """Tokens spent on the thought: all completion tokens when it never closed, otherwise the
    thought's share of the generated characters (usage counts thought and answer together)."""
    total = c.usage.completion_tokens
    if not closed or total == 0:
        return total
    chars = len(c.reasoning) + len(c.text)
    return round(total * len(thought) / chars) if chars else 0


class ThinkMethod(RAGMethod):
    """Rag's prompt, then free reasoning in a ``<think>`` block, then the answer.

    Args:
        max_thought_tokens: thought budget in tokens (default 512).
        answer_cue: text prefilled after ``</think>`` when the answer has to be asked for, or
            a list tried in order while no valid answer comes (default
            ``["Answer:", "Final answer: "]``, the same as R2P's; ``""`` for none).
        **options: as :class:`~r2p.methods.rag.RAGMethod` (``max_tokens`` is the answer
            budget after the thought).

    Attributes:
        name: ``"think"``.
    """

    name = "think"

    def __init__(self, *, max_thought_tokens: int = DEFAULT_THOUGHT_TOKENS,
                 answer_cue: str | list[str] | tuple[str, ...] | None = None,
                 **options: Any) -> None:
        if not isinstance(max_thought_tokens, int) or max_thought_tokens < 1:
            raise ConfigError(
                f"max_thought_tokens must be a positive integer, got {max_thought_tokens!r}")
        cues = answer_cues(answer_cue)
        super().__init__(**options)
        self.max_thought_tokens = max_thought_tokens
        self.answer_cue = list(cues)

    def predict(
        self, sample: Sample, task: Task, retrieved: list[Retrieved], backend: Backend
    ) -> Prediction:
        """Think freely, then answer (see the module docstring).

        Raises:
            BackendError: the backend failed.
        """
        from r2p.methods.r2p.monitor import find_loops, profile_grounding  # R2P's measures

        used = self.used_items(retrieved)
        log = CallLog()
        messages = self.messages(self.prompt(sample, task, used))
        native = backend.native_reasoning
        prefill = None if native else THINK_OPEN + "\n"
        answer_budget = self.answer_tokens(task)
        c = log.generate(backend, messages, prefill=prefill,
                         max_tokens=self.max_thought_tokens + answer_budget, **self.settings())
        if native:
            split = merge_reasoning(c.text, c.reasoning)
            # A reasoning field that ran out of tokens before any answer never closed.
            closed = split.closed and not (c.finish_reason == "length" and not split.answer)
        else:
            split = split_reasoning(c.text, started_open=True)
            closed = split.closed
        thought = split.reasoning
        n_thought = _thought_tokens(c, thought, closed)
        log.event("segment", stage=None, part="thought", text=thought, tokens=n_thought,
                  finish_reason=c.finish_reason if not closed else "stop")
        raw, repaired = split.answer, False
        if closed and raw:
            log.event("segment", stage=None, part="answer", text=raw,
                      tokens=c.usage.completion_tokens - n_thought,
                      finish_reason=c.finish_reason)
        log.event("check", name="thought_closed", ok=closed, stage=None, value=closed,
                  detail=("closed by the model" if closed else
                          f"not closed after {n_thought} tokens ({c.finish_reason}); "
                          "closed for the model and the answer asked for"))
        if not closed or not raw.strip():
            if closed:
                log.event("check", name="answer_present", ok=False, stage=None,
                          detail="the thought closed with no answer; the answer asked for")
            repaired = True
            cues = self.answer_cue or [""]
            for i, cue in enumerate(cues):
                cont = f"{THINK_OPEN}\n{thought}\n{THINK_CLOSE}\n\n{cue}"
                c2 = log.generate(backend, messages, prefill=cont, max_tokens=answer_budget,
                                  **self.settings())
                raw = split_reasoning(c2.text).answer
                log.event("segment", stage=None, part="answer", text=c2.text, forced=True,
                          tokens=c2.usage.completion_tokens, finish_reason=c2.finish_reason)
                if i + 1 == len(cues) or normalize(task, raw, task_input=sample.input).valid:
                    break
                log.event("check", name="answer_present", ok=False, stage=None,
                          detail=f"no answer after the cue {cue!r} ({raw[:40]!r}); asking "
                                 f"after {cues[i + 1]!r}")
        log.event("check", name="thought_budget", ok=n_thought <= self.max_thought_tokens,
                  stage=None, value=n_thought,
                  detail=f"{n_thought} thought tokens (budget {self.max_thought_tokens})")
        loops = find_loops(thought)
        log.event("check", name="loop", ok=not loops, stage=None, value=len(loops),
                  detail="; ".join(loops)[:300] if loops else "no loop")
        if used:
            grounding = profile_grounding(thought, [task.index_text(r.item) for r in used])
            log.event("check", name="grounding", ok=grounding > 0.0, stage=None,
                      value=round(grounding, 3),
                      detail=f"profile grounding {grounding:.2f} over {len(used)} items")
        return self.finish(log, sample, task, self.name, raw, used, reasoning=thought,
                           format_ok=not repaired)


__all__ = ["DEFAULT_THOUGHT_TOKENS", "ThinkMethod"]
