"""Methods side by side on the embedded model: quality, format, tokens, interventions, speed.

Prints one JSON object. Usage::

    python benchmarks/methods.py                                # demo data, 2 queries per task
    python benchmarks/methods.py --n 5 --tasks LaMP_3,LaMP_7 --methods think,hrt_rpi,r2p
    python benchmarks/methods.py --data ../shared/data --model path/to/model.gguf

For each method (direct, rag, think, hrt, hrt_rpi, r2p by default) and task, on the first
``--n`` queries of the split: the official metrics, the ``format_ok`` rate, generated tokens,
interventions and wall seconds per query, and prompt tokens evaluated vs served from the prompt
cache. ``cache`` sums the R2P methods' prompts: ``evaluated_share`` is the share of their prompt
tokens the engine actually evaluated (not from cache) — what makes RPI's continuations cheap.

Thought budgets are kept small by default (``--thought-tokens``) so the run fits a laptop; the
same budget is given to ``think`` and to R2P's thoughts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from r2p.backends.llamacpp import LlamaCppBackend
from r2p.data import demo_dir, load_split
from r2p.methods.registry import get_method
from r2p.metrics import score
from r2p.retrieval import get_retriever
from r2p.types import Prediction

R2P_METHODS = ("hrt", "hrt_rpi", "r2p", "r2p_sim")


def method_options(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """The options each method is built with for this benchmark."""
    if name == "think":
        return {"max_thought_tokens": args.thought_tokens}
    if name in R2P_METHODS:
        opts: dict[str, Any] = {"max_thought_tokens": args.thought_tokens,
                                "segment_tokens": args.segment_tokens}
        if name.startswith("r2p"):
            opts["n_candidates"] = args.candidates
        return opts
    return {}


def run_one(name: str, task_name: str, args: argparse.Namespace,
            backend: LlamaCppBackend) -> dict[str, Any]:
    """Run ``name`` on the first ``args.n`` queries of ``task_name``; return its figures."""
    ds = load_split(task_name, Path(args.data), args.split)
    task = ds.task
    samples = ds.samples[: args.n]
    method = get_method(name, **method_options(name, args))
    retriever = get_retriever("bm25")
    k = 0 if name == "direct" else args.k
    preds: list[Prediction] = []
    t0 = time.perf_counter()
    for s in samples:
        retrieved = retriever.retrieve(task.query(s.input), s.profile, k, task) if k else []
        preds.append(method.predict(s, task, retrieved, backend))
    wall = time.perf_counter() - t0
    n = len(preds)
    golds = {s.id: s.output or "" for s in samples}
    metrics = score(task, golds, {p.id: p.answer for p in preds})
    prompt = sum(p.usage.prompt_tokens for p in preds)
    cached = sum(p.usage.cached_tokens for p in preds)
    return {
        "method": name, "task": task_name, "n": n,
        **{k_: round(v, 4) for k_, v in metrics.items()},
        "format_ok": round(sum(p.format_ok for p in preds) / n, 4),
        "gen_tokens_per_query": round(sum(p.usage.completion_tokens for p in preds) / n, 1),
        "interventions_per_query": round(sum(p.interventions for p in preds) / n, 2),
        "calls_per_query": round(sum(p.n_calls for p in preds) / n, 2),
        "seconds_per_query": round(wall / n, 2),
        "prompt_tokens": prompt, "cached_tokens": cached,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run every method on every task, print the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(demo_dir()), help="data dir (default: the demo set)")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--tasks", default="LaMP_1,LaMP_2N,LaMP_3,LaMP_7")
    ap.add_argument("--methods", default="direct,rag,think,hrt,hrt_rpi,r2p")
    ap.add_argument("--n", type=int, default=2, help="queries per task")
    ap.add_argument("--k", type=int, default=2, help="retrieved profile items")
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--thought-tokens", type=int, default=96)
    ap.add_argument("--segment-tokens", type=int, default=32)
    ap.add_argument("--candidates", type=int, default=2)
    args = ap.parse_args(argv)
    backend = LlamaCppBackend(args.model, threads=args.threads, parallel=1, n_ctx=4096)
    rows: list[dict[str, Any]] = []
    try:
        for name in args.methods.split(","):
            for task_name in args.tasks.split(","):
                rows.append(run_one(name, task_name, args, backend))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        identity = backend.identity()
    finally:
        backend.close()
    r2p_rows = [r for r in rows if r["method"] in R2P_METHODS]
    prompt = sum(r["prompt_tokens"] for r in r2p_rows)
    cached = sum(r["cached_tokens"] for r in r2p_rows)
    out = {
        "benchmark": "methods",
        "model": identity,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_1m": round(os.getloadavg()[0], 2)},
        "settings": {k: v for k, v in vars(args).items()},
        "results": rows,
        "cache": {"r2p_prompt_tokens": prompt, "r2p_cached_tokens": cached,
                  "evaluated_share": round((prompt - cached) / prompt, 4) if prompt else None},
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
