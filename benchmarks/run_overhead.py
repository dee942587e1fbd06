"""Framework overhead of ``r2p run``: wall time of a ``rag`` run over the shipped demo subset
against the time the engine itself spent generating (the sum of backend-reported seconds over
every call). Prints JSON.

    python benchmarks/run_overhead.py [--limit 8] [--tasks LaMP_3,LaMP_7] [--model smollm2]

Each task runs in a fresh store (nothing cached), with concurrency 1, so that wall time and engine
time measure the same sequential work. Overhead = (wall - engine) / wall, where wall covers data
loading, retrieval, prompt building, normalization, scoring, store commits and the run-dir
files (model loading is timed separately and excluded).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=8, help="queries per task")
    ap.add_argument("--tasks", default="LaMP_3,LaMP_7")
    ap.add_argument("--model", default="smollm2")
    args = ap.parse_args()

    from r2p.data import demo_dir
    from r2p.runner.config import build_config
    from r2p.runner.experiment import run_experiment
    from r2p.runner.resources import Resources

    res = Resources()
    tmp = Path(tempfile.mkdtemp(prefix="r2p-bench-"))
    rows = []
    try:
        for task in [t.strip() for t in args.tasks.split(",") if t.strip()]:
            cfg = build_config({
                "task": task, "data": demo_dir(), "method": "rag", "retriever": "bm25", "k": 4,
                "backend": "llamacpp", "model": args.model, "limit": args.limit,
                "out": tmp / task, "store": tmp / f"{task}.sqlite",
            })
            t0 = time.perf_counter()
            res.backend(cfg)  # load the model outside the timed part
            load_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            result = run_experiment(cfg, resources=res, progress=False)
            wall = time.perf_counter() - t0
            records = [json.loads(x) for x in (cfg.out / "records.jsonl").read_text().splitlines()]
            engine = sum(r["latency_s"] for r in records)
            rows.append({
                "task": task, "queries": result.n_total, "model_load_s": round(load_s, 3),
                "wall_s": round(wall, 3), "engine_s": round(engine, 3),
                "gen_tokens": sum(r["usage"]["completion_tokens"] for r in records),
                "overhead_s": round(wall - engine, 3),
                "overhead_pct": round(100 * (wall - engine) / wall, 2) if wall else 0.0,
            })
    finally:
        res.close()
    wall = sum(r["wall_s"] for r in rows)
    engine = sum(r["engine_s"] for r in rows)
    print(json.dumps({
        "benchmark": "run_overhead", "method": "rag", "model": args.model, "per_task": rows,
        "wall_s": round(wall, 3), "engine_s": round(engine, 3),
        "overhead_pct": round(100 * (wall - engine) / wall, 2) if wall else 0.0,
        "target_pct": 10.0,
    }, indent=2))


if __name__ == "__main__":
    main()
