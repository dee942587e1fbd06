"""Chat completions: an OpenAI request read as (method, task, user, input, options), answered
by the method registry over the user's retrieved profile items.

* ``model`` is a method name (``r2p``, ``rag``, ``direct``... as ``GET /v1/models`` lists);
  ``r2p-serve`` means the server's default method.
* The user is ``user`` or ``metadata.user_id``; without one the request is answered from an
  empty profile. ``metadata.task`` names a LaMP task (the last user message is then the task
  input, worded as in its data); by default the generic personalized-response family answers
  the conversation's last user message (system messages first).
* ``max_tokens`` (or ``max_completion_tokens``) is the answer budget, ``temperature`` and
  ``seed`` are passed to the method.

Example:
    >>> from r2p.serve.config import ServeConfig
    >>> from r2p.serve.schemas import ChatRequest
    >>> req = ChatRequest(model="rag", user="ann", max_tokens=32,
    ...                   messages=[{"role": "user", "content": "Plan my Sunday."}])
    >>> job = resolve(req, ServeConfig())
    >>> job.method, job.task.name, job.user, job.options
    ('rag', 'generic', 'ann', {'max_tokens': 32})
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from r2p.backends.base import Backend
from r2p.errors import ConfigError
from r2p.methods.registry import METHODS, SPECS, get_method
from r2p.serve.config import ServeConfig
from r2p.serve.errors import ApiError
from r2p.serve.schemas import ChatCompletion, ChatRequest
from r2p.tasks import GENERIC, Task, get_task
from r2p.types import Prediction, ProfileItem, Retrieved, Sample

DEFAULT_MODEL = "r2p-serve"
"""The ``model`` that means "the server's default method"."""


@dataclass
class Job:
    """One resolved request."""

    method: str
    task: Task
    user: str | None
    input: str
    k: int
    options: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))


def _is_r2p(method: str) -> bool:
    return str(SPECS[method].target).endswith(":R2PMethod")


def resolve(req: ChatRequest, cfg: ServeConfig) -> Job:
    """Read ``req``.

    Raises:
        ApiError: unknown model (404), unknown task, bad metadata, no user message, an input
            over the limit, a token budget over the limit (400).
    """
    method = cfg.method if req.model == DEFAULT_MODEL else req.model
    if method not in METHODS:
        raise ApiError(404, f"unknown model {req.model!r}; choose from: "
                       f"{', '.join([DEFAULT_MODEL, *METHODS])}", code="model_not_found",
                       param="model")
    meta = req.metadata or {}
    user = req.user if req.user is not None else meta.get("user_id")
    if user is not None and not user:
        raise ApiError(400, "user is empty", param="user", code="invalid_request")
    try:
        task = get_task(meta["task"]) if meta.get("task") else GENERIC
    except ConfigError as exc:
        raise ApiError(400, str(exc), param="metadata.task", code="invalid_request") from None
    k = _k(meta, cfg)
    return Job(method, task, user, _input(req, cfg, task), k, _options(req, cfg, method, task))


def _k(meta: dict[str, str], cfg: ServeConfig) -> int:
    """``metadata.k``, or the server's k."""
    if "k" not in meta:
        return cfg.k
    try:
        k = int(meta["k"])
    except ValueError:
        k = -1
    if not 0 <= k <= 64:
        raise ApiError(400, f"metadata.k must be an integer from 0 to 64, got "
                       f"{meta['k'][:20]!r}", param="metadata.k", code="invalid_request")
    return k


def _input(req: ChatRequest, cfg: ServeConfig, task: Task) -> str:
    """The last user message (for the generic family, after the system messages)."""
    texts = [m.text() for m in req.messages]
    if sum(len(t) for t in texts) > cfg.max_input_chars:
        raise ApiError(400, f"the messages exceed {cfg.max_input_chars} characters",
                       param="messages", code="context_length_exceeded")
    users = [t for m, t in zip(req.messages, texts) if m.role == "user"]
    if not users or not users[-1].strip():
        raise ApiError(400, "the last user message is missing or empty", param="messages",
                       code="invalid_request")
    if task is not GENERIC:
        return users[-1]
    system = [t for m, t in zip(req.messages, texts)
              if m.role in ("system", "developer") and t.strip()]
    return "\n\n".join([*system, users[-1]])


def _options(req: ChatRequest, cfg: ServeConfig, method: str, task: Task) -> dict[str, Any]:
    """The method's options: the server's (for its default method), the request's token
    budget, temperature and seed, and the server's synthesis mode for R2P methods."""
    budget = req.max_completion_tokens or req.max_tokens
    if budget is not None and budget > cfg.max_tokens_limit:
        raise ApiError(400, f"max_tokens is at most {cfg.max_tokens_limit}, got {budget}",
                       param="max_tokens", code="invalid_request")
    if budget is None and task is GENERIC:
        budget = cfg.max_tokens
    r2p = _is_r2p(method)
    opts: dict[str, Any] = dict(cfg.method_options) if method == cfg.method else {}
    if budget is not None:
        opts["answer_tokens" if r2p else "max_tokens"] = budget
    if r2p and "synthesis" not in opts and opts.get("hrt", SPECS[method].preset.get("hrt", True)):
        opts["synthesis"] = cfg.synthesis
    if req.temperature is not None:
        opts["temperature"] = req.temperature
    if req.seed is not None:
        opts["seed"] = req.seed
    return opts


def predict(job: Job, profile: list[ProfileItem], backend: Backend, retriever: Any) -> Prediction:
    """Retrieve the job's k items from ``profile`` and run its method (blocking).

    Raises:
        R2PError: a bad option, a profile that does not fit the task, a backend failure.
    """
    method = get_method(job.method, **job.options)
    retrieved: list[Retrieved] = []
    if job.method != "direct" and job.k and profile:
        retrieved = list(retriever.retrieve(job.task.query(job.input), profile, job.k,
                                            job.task))
    sample = Sample(id=job.id, input=job.input, profile=profile, user_id=job.user)
    return method.predict(sample, job.task, retrieved, backend)


def answer_text(job: Job, pred: Prediction) -> str:
    """The answer to send: the normalized answer for a LaMP task; for the generic family the
    whole answer the model wrote (normalization keeps its first line only)."""
    if job.task is GENERIC and pred.raw_output.strip():
        from r2p.reasoning import split_reasoning

        return split_reasoning(pred.raw_output).answer.strip() or pred.answer
    return pred.answer


def reasoning_tokens(pred: Prediction) -> int:
    """Tokens generated inside thoughts (R2P's stages, think's thought)."""
    return sum(int(ev.get("tokens") or 0) for ev in pred.trace
               if ev.get("type") == "segment"
               and (ev.get("stage") is not None or ev.get("part") == "thought"))


def finish_reason(pred: Prediction) -> str:
    """``"length"`` when the last answer segment ran out of tokens, else ``"stop"``."""
    answers = [ev for ev in pred.trace if ev.get("type") == "segment"
               and ev.get("stage") is None and ev.get("part") != "thought"]
    return "length" if answers and answers[-1].get("finish_reason") == "length" else "stop"


def usage(pred: Prediction) -> dict[str, Any]:
    """OpenAI's usage object for ``pred``."""
    u = pred.usage
    return {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
            "total_tokens": u.prompt_tokens + u.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": u.cached_tokens},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens(pred)}}


def r2p_info(job: Job, pred: Prediction) -> dict[str, Any]:
    """The ``r2p`` part of a completion: task, method, retrieved ids, interventions."""
    return {"task": job.task.name, "method": pred.method or job.method, "user": job.user,
            "retrieved_ids": list(pred.retrieved_ids),
            "interventions": [{k: v for k, v in ev.items() if k != "type"}
                              for ev in pred.trace if ev.get("type") == "intervention"],
            "format_ok": pred.format_ok, "calls": pred.n_calls}


def completion(job: Job, pred: Prediction, model: str) -> ChatCompletion:
    """The ``chat.completion`` object answering ``job``."""
    return ChatCompletion.model_validate({
        "id": job.id, "created": job.created, "model": model,
        "choices": [{"index": 0, "finish_reason": finish_reason(pred),
                     "message": {"role": "assistant", "content": answer_text(job, pred),
                                 "reasoning_content": pred.reasoning or None}}],
        "usage": usage(pred), "r2p": r2p_info(job, pred)})


__all__ = ["DEFAULT_MODEL", "Job", "answer_text", "completion", "finish_reason", "predict",
           "r2p_info", "reasoning_tokens", "resolve", "usage"]
