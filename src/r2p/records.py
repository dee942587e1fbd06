"""One line of a run's ``records.jsonl`` as a typed model, and the file's published JSON schema.

The runner (:func:`r2p.runner.experiment.write_run_dir`) builds a :class:`RunRecord` for every
scored sample and writes :meth:`RunRecord.to_json`; the report (:mod:`r2p.report.runs`) reads
each line back through the same model, so a line that breaks the contract fails with the file,
the line and the field. The schema (``docs/schema/records.schema.json``) is generated from the
model and a test keeps the two equal; regenerate it with::

    python -m r2p.records --schema > docs/schema/records.schema.json

Example:
    >>> rec = RunRecord.model_validate({
    ...     "id": "q1", "task": "LaMP_3", "method": "rag", "answer": "4", "gold": "5",
    ...     "scores": {"mae": 1.0}, "format_ok": True, "raw_output": "4", "reasoning": "",
    ...     "retrieved": [{"id": "p1", "score": 2.5, "text": "Great gift"}],
    ...     "retrieved_ids": ["p1"], "prompts": [], "n_calls": 1, "interventions": 0,
    ...     "usage": {"prompt_tokens": 90, "cached_tokens": 0, "completion_tokens": 1},
    ...     "latency_s": 0.2, "wall_s": 0.25, "truncated": False, "error": None,
    ...     "trace": [{"type": "decision", "how": "single", "chosen": 0, "answer": "4",
    ...                "detail": ""}]})
    >>> rec.usage.completion_tokens, rec.trace[0].how
    (1, 'single')
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from r2p.trace import TraceEvent

#: The JSON Schema dialect of the published schema.
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: The fields the run directory adds to a stored record (they come last in a line).
RUN_DIR_FIELDS = ("task", "gold", "scores")


class TokenUsage(BaseModel):
    """Token usage summed over a sample's calls (:class:`r2p.types.Usage`)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    prompt_tokens: int = Field(ge=0)
    cached_tokens: int = Field(ge=0, description="the part of prompt_tokens served from cache")
    completion_tokens: int = Field(ge=0)


class RetrievedItem(BaseModel):
    """A profile item put in the prompt: its id, retrieval score and indexed text."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: str
    score: float
    text: str


class RunRecord(BaseModel):
    """One scored sample of a run (one line of ``records.jsonl``).

    The prediction (:class:`r2p.types.Prediction`: answer, prompts, usage, trace...), what the
    runner adds when it stores it (the retrieved items, ``truncated``, ``wall_s``) and what the
    run directory adds (``task``, ``gold``, ``scores``).

    Attributes:
        id: the sample id.
        task: the task name (``LaMP_7``...).
        method: the method that answered.
        answer: the normalized answer (what is scored).
        gold: the gold output, None when the split has none.
        scores: the task's per-sample metrics (empty without gold).
        format_ok: whether the raw answer met the task's format before any repair.
        raw_output: the model's final raw answer, before normalization.
        reasoning: the thought ("" for methods without one).
        retrieved: the profile items put in the prompt, in rank order.
        retrieved_ids: their ids.
        prompts: every request sent: ``{"messages": [...], "prefill": str|None, ...settings}``.
        usage: tokens summed over the calls.
        n_calls: backend calls.
        interventions: RPI interventions.
        latency_s: seconds spent in backend calls.
        wall_s: seconds for the whole sample (retrieval and method included).
        truncated: a call spent its whole ``max_tokens`` inside the thought.
        trace: the events of :mod:`r2p.trace`, in order.
        error: always None in a scored record (failures are kept out of the file).
    """

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, title="r2p records.jsonl line",
        json_schema_extra={"description": "One scored sample of an r2p run: one line of the "
                           "run directory's records.jsonl (written by r2p run and r2p sweep, "
                           "read by r2p report)."})

    id: str
    task: str
    method: str
    answer: str
    gold: str | None
    scores: dict[str, float]
    format_ok: bool
    raw_output: str
    reasoning: str
    retrieved: list[RetrievedItem]
    retrieved_ids: list[str]
    prompts: list[dict[str, Any]]
    usage: TokenUsage
    n_calls: int = Field(ge=0)
    interventions: int = Field(ge=0)
    latency_s: float
    wall_s: float
    truncated: bool
    trace: list[TraceEvent]
    error: str | None

    def to_json(self) -> str:
        """The line (without its newline): the stored fields with keys sorted at every level,
        as the record store keeps them (:func:`r2p.runner.store.canonical_json`), then
        ``task``, ``gold`` and ``scores``."""
        d = self.model_dump(exclude_unset=True)
        tail = {k: d.pop(k) for k in RUN_DIR_FIELDS if k in d}
        return json.dumps({**_sorted(d), **tail}, ensure_ascii=False)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def record_schema() -> dict[str, Any]:
    """The JSON schema of one ``records.jsonl`` line, as published."""
    return {"$schema": SCHEMA_DIALECT, **RunRecord.model_json_schema()}


def schema_text() -> str:
    """:func:`record_schema` as the text of ``docs/schema/records.schema.json``."""
    return json.dumps(record_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m r2p.records --schema``: print the JSON schema of ``records.jsonl``."""
    parser = argparse.ArgumentParser(prog="python -m r2p.records",
                                     description="The records.jsonl line model.")
    parser.add_argument("--schema", action="store_true",
                        help="print the JSON schema of one records.jsonl line")
    args = parser.parse_args(argv)
    if not args.schema:
        parser.print_help()
        return 2
    sys.stdout.write(schema_text())
    return 0


__all__ = ["RUN_DIR_FIELDS", "SCHEMA_DIALECT", "RetrievedItem", "RunRecord", "TokenUsage",
           "main", "record_schema", "schema_text"]


if __name__ == "__main__":
    sys.exit(main())
