"""``rag``: the reference LaMP retrieval-augmented prompt, answered in one call.

The k retrieved profile items are rendered as the task's shots (:mod:`r2p.methods.shots`)
within a token budget, put before the input, and sent as one user message (optionally after a
short system prompt). The answer is normalized for the task (:mod:`r2p.methods.answers`).

Example:
    >>> from r2p.backends.fake import FakeBackend
    >>> from r2p.tasks import get_task
    >>> from r2p.types import Sample
    >>> s = Sample("q1", "What is the score? review: fine", [])
    >>> RAGMethod().predict(s, get_task("LaMP_3"), [], FakeBackend(["4"])).answer
    '4'
"""

from __future__ import annotations

from typing import Any

from r2p.backends.base import Backend
from r2p.errors import ConfigError
from r2p.methods.answers import Answer, normalize
from r2p.methods.common import CallLog
from r2p.methods.shots import DEFAULT_MAX_LENGTH, ApproxCounter, TokenCounter, build_prompt
from r2p.reasoning import merge_reasoning
from r2p.tasks import Task
from r2p.types import Message, Prediction, Retrieved, Sample

DEFAULT_ANSWER_TOKENS: dict[str, int] = {"classification": 16, "rating": 8, "generation": 64}
"""Answer budget per task kind when ``max_tokens`` is not given (labels and digits are short;
a headline, title or tweet fits in 64 tokens)."""


def _check_positive(name: str, value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or value < 1):
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


class RAGMethod:
    """The reference LaMP RAG prompt, one generation call.

    Args:
        max_prompt_tokens: token budget of the prompt (input plus shots), as the reference
            code's ``max_length`` (default 512).
        max_tokens: answer budget; default by task kind (:data:`DEFAULT_ANSWER_TOKENS`).
        temperature: sampling temperature (default 0: greedy, reproducible).
        seed: sampling seed passed to the backend.
        system: an optional system prompt (default none: the reference prompt alone).
        counter: token counter for the budget (default :class:`~r2p.methods.shots.ApproxCounter`).

    Attributes:
        name: ``"rag"``.
    """

    name = "rag"

    def __init__(
        self,
        *,
        max_prompt_tokens: int = DEFAULT_MAX_LENGTH,
        max_tokens: int | None = None,
        temperature: float = 0.0,
        seed: int | None = None,
        system: str | None = None,
        counter: TokenCounter | None = None,
    ) -> None:
        _check_positive("max_prompt_tokens", max_prompt_tokens)
        _check_positive("max_tokens", max_tokens)
        if not 0.0 <= float(temperature) <= 2.0:
            raise ConfigError(f"temperature must be in [0, 2], got {temperature!r}")
        self.max_prompt_tokens = max_prompt_tokens
        self.max_tokens = max_tokens
        self.temperature = float(temperature)
        self.seed = seed
        self.system = system
        self.counter: TokenCounter = counter or ApproxCounter()

    def options(self) -> dict[str, Any]:
        """The resolved settings (defaults included), for run configs and cache keys."""
        opts = {k: v for k, v in vars(self).items() if k != "counter"}
        opts["counter"] = type(self.counter).__name__
        return opts

    # -- pieces shared with subclasses (direct, think) ------------------------------------

    def used_items(self, retrieved: list[Retrieved]) -> list[Retrieved]:
        """The retrieved items this method puts in the prompt (all of them for rag)."""
        return list(retrieved)

    def prompt(self, sample: Sample, task: Task, retrieved: list[Retrieved]) -> str:
        """The user prompt: the reference LaMP prompt with ``retrieved`` as shots."""
        return build_prompt(task, sample.input, [r.item for r in retrieved],
                            max_length=self.max_prompt_tokens, counter=self.counter)

    def messages(self, prompt: str) -> list[Message]:
        """The chat messages: an optional system prompt, then one user message."""
        msgs: list[Message] = []
        if self.system:
            msgs.append({"role": "system", "content": self.system})
        msgs.append({"role": "user", "content": prompt})
        return msgs

    def answer_tokens(self, task: Task) -> int:
        """The answer budget for ``task``."""
        return self.max_tokens or DEFAULT_ANSWER_TOKENS[task.kind]

    def settings(self) -> dict[str, Any]:
        """Sampling settings sent with every call."""
        return {"temperature": self.temperature, "seed": self.seed}

    @staticmethod
    def finish(
        log: CallLog,
        sample: Sample,
        task: Task,
        name: str,
        raw: str,
        retrieved: list[Retrieved],
        *,
        reasoning: str = "",
        format_ok: bool | None = None,
    ) -> Prediction:
        """Normalize ``raw``, record the format check and the decision, build the Prediction.

        ``format_ok`` overrides the normalizer's verdict when the caller knows the output was
        repaired (e.g. a thought that had to be closed for it).
        """
        ans: Answer = normalize(task, raw, task_input=sample.input)
        ok = ans.format_ok if format_ok is None else (format_ok and ans.format_ok)
        log.event("check", name="answer_format", ok=ans.format_ok,
                  detail=("exact" if ans.format_ok else
                          f"normalized {raw.strip()[:80]!r} -> {ans.text!r}" if ans.valid else
                          f"no valid answer in {raw.strip()[:80]!r}"),
                  stage=None)
        log.event("decision", how="single", chosen=0, answer=ans.text, detail="")
        return log.prediction(
            sample.id, answer=ans.text, raw_output=raw, reasoning=reasoning, format_ok=ok,
            retrieved_ids=[r.id for r in retrieved], method=name,
        )

    # -- the Method protocol ------------------------------------------------------------------

    def predict(
        self, sample: Sample, task: Task, retrieved: list[Retrieved], backend: Backend
    ) -> Prediction:
        """Answer ``sample`` in one call with the reference prompt.

        Raises:
            BackendError: the backend failed (the runner records it per sample).
        """
        used = self.used_items(retrieved)
        log = CallLog()
        prompt = self.prompt(sample, task, used)
        c = log.generate(backend, self.messages(prompt), max_tokens=self.answer_tokens(task),
                         **self.settings())
        log.event("segment", stage=None, part="answer", text=c.text,
                  tokens=c.usage.completion_tokens, finish_reason=c.finish_reason)
        # A reasoning model may think even here: keep its thought, score only the answer.
        split = merge_reasoning(c.text, c.reasoning)
        return self.finish(log, sample, task, self.name, split.answer, used,
                           reasoning=split.reasoning)


__all__ = ["DEFAULT_ANSWER_TOKENS", "RAGMethod"]
