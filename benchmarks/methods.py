"""Methods side by side on the embedded engine: cost (wall time, tokens, calls) and quality.

Prints one JSON object. Usage::

    python benchmarks/methods.py                                   # demo data, 4 queries/task
    python benchmarks/methods.py --data ../shared/data --n 24 --concurrency 4 \\
        --model path/to/model.gguf --methods rag,r2p

Methods are *interleaved*: the queries are taken in batches of ``--concurrency``; each batch is
answered by every method in turn, its queries in flight together (threads over the engine's
parallel slots). Every method therefore runs at the same concurrency and under the same load
of the machine, so the wall-time ratios stay fair on a busy machine, where timing one method's
whole run after another's would not.

Per method and task: the official metrics, ``format_ok``, generated tokens, calls,
interventions and wall seconds per query, and the share of prompt tokens the engine evaluated
(the rest came from its prompt cache). ``ratios`` gives each method's wall seconds and
generated tokens per query over the first method's (``rag`` by default).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from r2p.backends.llamacpp import LlamaCppBackend
from r2p.cli.personalize import parse_options
from r2p.data import demo_dir, load_split
from r2p.errors import R2PError
from r2p.methods.registry import get_method
from r2p.metrics import score
from r2p.retrieval import get_retriever
from r2p.tasks import Task
from r2p.types import Prediction, Retrieved, Sample


def parse_method(spec: str) -> tuple[str, dict[str, Any]]:
    """A method as named on the command line and in reports: ``r2p`` or
    ``r2p[synthesis=user,max_interventions=2]`` (values parsed as JSON when they can be)."""
    name, _, rest = spec.partition("[")
    pairs = [p for p in rest.removesuffix("]").split(",") if p] if rest else []
    return name, parse_options(pairs, f"method {spec!r}")


def split_methods(text: str) -> list[str]:
    """``"rag,r2p[a=1,b=2]"`` -> ``["rag", "r2p[a=1,b=2]"]`` (commas inside brackets kept)."""
    return [m.strip() for m in re.findall(r"[^,\[]+(?:\[[^\]]*\])?", text) if m.strip()]


def _answer(method: Any, task: Task, s: Sample, k: int,
            backend: LlamaCppBackend) -> tuple[Prediction, float]:
    retrieved: list[Retrieved] = (get_retriever("bm25").retrieve(task.query(s.input), s.profile,
                                                                 k, task) if k else [])
    t0 = time.perf_counter()
    pred = method.predict(s, task, retrieved, backend)
    return pred, time.perf_counter() - t0


def run_task(task_name: str, methods: list[str], args: argparse.Namespace,
             backend: LlamaCppBackend) -> list[dict[str, Any]]:
    """Every method on the first ``args.n`` queries of ``task_name``, batch by batch."""
    ds = load_split(task_name, Path(args.data), args.split)
    task, samples = ds.task, ds.samples[: args.n]
    built = {m: get_method(name, **opts) for m in methods for name, opts in [parse_method(m)]}
    preds: dict[str, list[Prediction]] = {m: [] for m in methods}
    seconds: dict[str, float] = dict.fromkeys(methods, 0.0)
    c = max(1, args.concurrency)
    with ThreadPoolExecutor(c) as pool:
        for i in range(0, len(samples), c):
            batch = samples[i:i + c]
            for m in methods:
                k = 0 if parse_method(m)[0] == "direct" else args.k
                for pred, dt in pool.map(lambda s, m=m, k=k: _answer(built[m], task, s, k,
                                                                     backend), batch):
                    preds[m].append(pred)
                    seconds[m] += dt
    golds = {s.id: s.output or "" for s in samples}
    rows = []
    for m in methods:
        ps, n = preds[m], len(preds[m])
        metrics = score(task, golds, {p.id: p.answer for p in ps})
        prompt = sum(p.usage.prompt_tokens for p in ps)
        cached = sum(p.usage.cached_tokens for p in ps)
        rows.append({
            "method": m, "task": task_name, "n": n,
            **{k_: round(v, 4) for k_, v in metrics.items()},
            "format_ok": round(sum(p.format_ok for p in ps) / n, 4),
            "gen_tokens_per_query": round(sum(p.usage.completion_tokens for p in ps) / n, 1),
            "max_gen_tokens": max(p.usage.completion_tokens for p in ps),
            "calls_per_query": round(sum(p.n_calls for p in ps) / n, 2),
            "interventions_per_query": round(sum(p.interventions for p in ps) / n, 2),
            "seconds_per_query": round(seconds[m] / n, 3),
            "evaluated_prompt_share": round((prompt - cached) / prompt, 4) if prompt else None,
        })
    return rows


def ratios(rows: list[dict[str, Any]], base: str) -> list[dict[str, Any]]:
    """Per task and method: wall seconds and generated tokens per query over ``base``'s."""
    out = []
    for r in rows:
        b = next((x for x in rows if x["task"] == r["task"] and x["method"] == base), None)
        if b is None or r["method"] == base:
            continue
        out.append({"task": r["task"], "method": r["method"], "over": base,
                    "seconds": round(r["seconds_per_query"] / b["seconds_per_query"], 2),
                    "gen_tokens": round(r["gen_tokens_per_query"]
                                        / max(b["gen_tokens_per_query"], 1e-9), 1)})
    return out


def add_common_args(ap: argparse.ArgumentParser, *, tasks: str, methods: str,
                    concurrency: int, concurrency_help: str) -> None:
    """The arguments every engine benchmark takes: data, tasks, methods, k, engine."""
    ap.add_argument("--data", default=str(demo_dir()), help="data dir (default: the demo set)")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--tasks", default=tasks)
    ap.add_argument("--methods", default=methods,
                    help="comma-separated, each a name or name[key=value,...] with method "
                    "options (r2p[max_interventions=2]); the first is the base of the ratios")
    ap.add_argument("--k", type=int, default=4, help="retrieved profile items")
    ap.add_argument("--concurrency", type=int, default=concurrency, help=concurrency_help)
    ap.add_argument("--model", default="smollm2", help="smollm2 or a GGUF file")
    ap.add_argument("--threads", type=int, default=None)


def checked_methods(spec: str) -> list[str]:
    """``--methods`` split, each built once: an unknown method or option fails before any
    model loads."""
    methods = split_methods(spec)
    try:
        for m in methods:
            name, opts = parse_method(m)
            get_method(name, **opts)
    except R2PError as exc:
        raise SystemExit(f"{Path(sys.argv[0]).name}: {exc}") from None
    return methods


def open_engine(args: argparse.Namespace) -> LlamaCppBackend:
    """The embedded engine with a slot per query in flight."""
    return LlamaCppBackend(args.model, threads=args.threads,
                           parallel=max(1, args.concurrency), n_ctx=4096)


def run_tasks(args: argparse.Namespace,
              per_task: Callable[[str, LlamaCppBackend], list[dict[str, Any]]]
              ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``per_task(task, engine)`` for every task of ``--tasks`` on one engine
    (:func:`open_engine`), each task's rows on stderr as it ends: ``(rows, engine identity)``."""
    backend = open_engine(args)
    rows: list[dict[str, Any]] = []
    try:
        for task_name in args.tasks.split(","):
            got = per_task(task_name, backend)
            rows.extend(got)
            print(json.dumps(got), file=sys.stderr, flush=True)
        return rows, backend.identity()
    finally:
        backend.close()


def report(benchmark: str, identity: dict[str, Any], args: argparse.Namespace,
           rows: list[dict[str, Any]], ratio_rows: list[dict[str, Any]]) -> str:
    """The JSON a benchmark prints: the model, the machine, the settings and the results."""
    return json.dumps({
        "benchmark": benchmark,
        "model": {k: v for k, v in identity.items() if k != "path"},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_1m": round(os.getloadavg()[0], 2)},
        "settings": vars(args),
        "results": rows,
        "ratios": ratio_rows,
    }, indent=2)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the methods on every task, print the JSON."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_common_args(ap, tasks="LaMP_1,LaMP_2N,LaMP_3,LaMP_7",
                    methods="rag,think,hrt,hrt_rpi,r2p", concurrency=1,
                    concurrency_help="queries in flight")
    ap.add_argument("--n", type=int, default=4, help="queries per task")
    args = ap.parse_args(argv)
    methods = checked_methods(args.methods)
    rows, identity = run_tasks(args, lambda task, be: run_task(task, methods, args, be))
    print(report("methods", identity, args, rows, ratios(rows, methods[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
