"""Helpers for the report tests: run directories built by hand in the runner's RUN_DIR contract.

Records are real :class:`r2p.types.Prediction` objects (``to_dict()``) plus the contract fields
``task``, ``gold``, ``scores``, ``retrieved``, ``truncated`` and ``wall_s``: each a valid
:class:`r2p.records.RunRecord`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from r2p.types import Prediction, Usage

HRT_THOUGHT = (
    "Stage 1 - Task requirements: paraphrase the tweet in one line.\n"
    "Stage 2 - User profile: [P1] shows the user writes about coffee and mornings.\n"
    "Stage 3 - Response: a short tweet about coffee mornings."
)
LOOPY_THOUGHT = (
    "Stage 1 - Task requirements: paraphrase it.\n"
    "The user really likes coffee in the morning. Wait. Hmm. Wait. Wait. Actually no.\n"
    "The user really likes coffee in the morning."
)


def record(
    sid: str,
    *,
    task: str = "LaMP_7",
    method: str = "r2p",
    answer: str = "coffee first, then the world",
    gold: str | None = "coffee then world",
    reasoning: str = "",
    format_ok: bool = True,
    retrieved: list[dict[str, Any]] | None = None,
    interventions: int = 0,
    trace: list[dict[str, Any]] | None = None,
    completion_tokens: int = 20,
    scores: dict[str, float] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """One records.jsonl line: ``Prediction(...).to_dict()`` + task, gold, scores, retrieved,
    truncated, wall_s."""
    retrieved = retrieved or []
    pred = Prediction(
        id=sid, answer=answer, raw_output=answer if format_ok else f"Here is it: {answer}",
        reasoning=reasoning, format_ok=format_ok,
        retrieved_ids=[r["id"] for r in retrieved],
        prompts=[{"messages": [{"role": "user", "content": f"Paraphrase the tweet {sid}"}],
                  "prefill": "<think>\n" if reasoning else None, "max_tokens": 64}],
        usage=Usage(prompt_tokens=50, completion_tokens=completion_tokens),
        latency_s=0.5, n_calls=1 + interventions, interventions=interventions,
        trace=trace or [], method=method, error=error,
    )
    d = pred.to_dict()
    d.update(task=task, gold=gold, scores=scores if scores is not None else {"rouge-1": 0.5},
             retrieved=retrieved, truncated=False, wall_s=0.6)
    return d


def write_run(
    root: Path,
    name: str,
    *,
    task: str = "LaMP_7",
    method: str = "rag",
    k: int = 4,
    retriever: str = "bm25",
    model: str = "smollm2",
    metrics: dict[str, Any] | None = None,
    records: list[dict[str, Any]] | None = None,
    method_options: dict[str, Any] | None = None,
) -> Path:
    """Write a run directory (config.json, metrics.json, records.jsonl, predictions.json)."""
    run = root / name
    run.mkdir(parents=True)
    config = {"task": task, "split": "dev", "data": "data", "method": method,
              "method_options": method_options or {},
              "retriever": retriever if k else "none", "k": k,
              "backend": "llamacpp", "model": model, "backend_options": {}, "seed": 0,
              "limit": None, "versions": {"r2p": "0.1.0"}, "model_identity": {"path": model}}
    recs = records or []
    (run / "config.json").write_text(json.dumps(config))
    (run / "metrics.json").write_text(json.dumps(metrics or {}))
    (run / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (run / "predictions.json").write_text(json.dumps(
        {"task": task, "golds": [{"id": r["id"], "output": r["answer"]} for r in recs]}))
    return run


def lamp7_metrics(r1: float, *, format_ok: float = 1.0, tokens: float = 20.0,
                  interventions: float = 0.0, n: int = 2) -> dict[str, Any]:
    """A LaMP_7 metrics.json."""
    return {"rouge-1": r1, "rouge-L": r1 - 0.05, "format_ok": format_ok,
            "gen_tokens_per_query": tokens, "interventions_per_query": interventions,
            "seconds_per_query": 0.5, "n": n, "n_failed": 0}


def r2p_trace() -> list[dict[str, Any]]:
    """A trace with every event type: segments, checks, an intervention, candidates, decision."""
    return [
        {"type": "segment", "stage": 1, "text": "Stage 1 - Task requirements: one line.",
         "tokens": 8, "finish_reason": "stop"},
        {"type": "check", "name": "loop", "ok": False, "detail": "repeated sentence found",
         "stage": 2},
        {"type": "intervention", "reason": "loop in stage 2", "position": 41,
         "text": "INJECTED: Let me look at the profile item [P1] instead.", "then": "continue"},
        {"type": "candidate", "index": 0, "answer": "coffee first", "format_ok": True,
         "support": 0.8, "reasoning": "CANDIDATE-ZERO-REASONING", "interventions": 1,
         "closed_by": "model"},
        {"type": "candidate", "index": 1, "answer": "tea later", "format_ok": False,
         "support": 0.1, "reasoning": "other", "interventions": 0, "closed_by": "model"},
        {"type": "decision", "how": "llm", "chosen": 0, "answer": "coffee first",
         "detail": "best supported by [P1]"},
    ]


RETRIEVED = [{"id": "p1", "score": 3.2, "text": "coffee mornings are the best mornings"},
             {"id": "p2", "score": 1.1, "text": "traffic was terrible today"}]
