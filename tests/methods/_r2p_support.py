"""Helpers shared by the method tests: a scripted stand-in for a model that follows R2P's
staged thought, keyed on where each request's prefill stops."""

from __future__ import annotations

from collections.abc import Callable

from r2p.methods.r2p import STAGE_MARKERS
from r2p.types import Message

S1, S2, S3 = STAGE_MARKERS


def staged_model(stage2: str | list[str], stage3: str = " So it fits.",
                 answer: str | list[str] = " 4", unthought: str = " 4",
                 log: list[str] | None = None, reference: str | None = None) -> Callable[[list[Message], str | None], str]:
    """A FakeBackend script answering R2P's calls by the end of their prefill: the stage 2
    replies in order (one per call that continues stage 2), ``stage3`` after the stage 3
    marker, ``answer`` (in order, the last one repeated) after the thought's answer cue and
    ``unthought`` after an empty thought, ``reference`` (default: ``unthought``) to the reference
    LaMP prompt (a call without prefill). ``log`` collects which part each call asked for."""
    parts = {"stage2": list(stage2) if isinstance(stage2, list) else [stage2],
             "answer": list(answer) if isinstance(answer, list) else [answer]}

    def take(key: str) -> str:
        queue = parts[key]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def reply(_messages: list[Message], prefill: str | None) -> str:
        p = prefill or ""
        if prefill is None:
            part, text = "reference", unthought if reference is None else reference
        elif p.startswith("<think>\n</think>"):
            part, text = "unthought", unthought
        elif "</think>" in p:
            part, text = "answer", take("answer")
        elif p.rstrip().endswith(S3) or S3 in p:
            part, text = "stage3", stage3
        else:
            part, text = "stage2", take("stage2")
        if log is not None:
            log.append(part)
        return text

    return reply


__all__ = ["S1", "S2", "S3", "staged_model"]
