"""The quality study's table from a sweep directory (no model): per task x method the official
metrics, format_ok, generated tokens, interventions and seconds per query (from metrics.json),
and how often R2P's answer repair fired (from the traces in records.jsonl).

    .venv/bin/python benchmarks/quality_table.py runs/quality

Then r2p against rag and think on the same queries: the first official metric's difference with
its 95 % paired-bootstrap interval (``*`` when it excludes 0) and wins / ties / losses.

Repair columns (R2P variants only): ``repair`` = share of queries whose final answer is a
repair (the chosen candidate carries a failed ``answer_repair`` check); ``prior`` = share of
queries whose final answer is the user's most frequent label (or the first label), the
fallback when the thought states no valid answer at all. Both are also counted as
``format_ok`` False.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

METHOD_ORDER = ["direct", "rag", "think", "hrt", "hrt_rpi", "r2p"]
OFFICIAL = {"classification": ("accuracy", "f1"), "rating": ("MAE", "RMSE"),
            "generation": ("rouge-1", "rouge-L")}


def repair_of(record: dict) -> tuple[bool, bool]:
    """(the final answer is a repair, that repair is the profile prior / first label)."""
    trace = record.get("trace") or []
    decision = next((e for e in trace if e.get("type") == "decision"), {})
    if decision.get("how") == "llm":
        return False, False  # the selection call wrote the final answer itself
    chosen = decision.get("chosen", 0)
    for e in trace:
        if e.get("type") == "check" and e.get("name") == "answer_repair" \
                and e.get("candidate", chosen) == chosen:
            detail = e.get("detail", "")
            return True, ("most frequent label" in detail or "first label" in detail)
    return False, False


def main(sweep: str) -> None:
    rows = []
    for run in sorted((Path(sweep) / "runs").iterdir()):
        cfg = json.loads((run / "config.json").read_text())
        m = json.loads((run / "metrics.json").read_text())
        recs = [json.loads(x) for x in (run / "records.jsonl").read_text().splitlines() if x]
        name = run.name.split("-qwen")[0]
        method = cfg["method"]
        task = name[: -len(method) - 1]
        rep = [repair_of(r) for r in recs]
        n = len(recs) or 1
        keys = next(v for k, v in OFFICIAL.items() if v[0] in m)
        rows.append((task, METHOD_ORDER.index(method) if method in METHOD_ORDER else 99, method,
                     " / ".join(f"{m[k]:.3f}" for k in keys), "/".join(keys), m["format_ok"],
                     m["gen_tokens_per_query"], m["interventions_per_query"],
                     m["seconds_per_query"], sum(a for a, _ in rep) / n,
                     sum(b for _, b in rep) / n, m["n"]))
    rows.sort()
    print("| task | method | metrics | format_ok | gen tok/q | interv./q | s/q | repair | prior | n |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for task, _, method, vals, keys, fo, tok, iv, s, rp, pr, n in rows:
        r2p = method in ("hrt", "hrt_rpi", "r2p")
        print(f"| {task} | {method} | {keys} {vals} | {fo:.2f} | {tok:.0f} | {iv:.2f} | {s:.1f} "
              f"| {f'{rp:.2f}' if r2p else '-'} | {f'{pr:.2f}' if r2p else '-'} | {n} |")


def deltas(sweep: str, method: str = "r2p", baselines: tuple[str, ...] = ("rag", "think")) -> None:
    """``method`` against each baseline on the same queries: the first official metric's
    difference with its 95 % paired-bootstrap interval, and wins / ties / losses."""
    from r2p.report.compare import compare_runs
    from r2p.report.runs import load_runs

    runs = load_runs([Path(sweep)])
    print(f"\n| task | {method} vs | metric | Δ [95% CI] | wins / ties / losses | n |")
    print("|---|---|---|---|---|---|")
    for run in sorted((r for r in runs if r.method == method), key=lambda r: r.name):
        for base_name in baselines:
            base = next((b for b in runs if b.method == base_name
                         and b.name == run.name.replace(f"-{method}-", f"-{base_name}-")), None)
            c = compare_runs(run, base) if base is not None else None
            if c is None:
                continue
            key = next(iter(c.metrics))
            _, _, d = c.metrics[key]
            mark = " *" if d.significant else ""
            task = run.name.split(f"-{method}-")[0]
            print(f"| {task} | {base_name} | {key} | {d.delta:+.3f} [{d.lo:+.3f}, {d.hi:+.3f}]"
                  f"{mark} | {c.wins} / {c.ties} / {c.losses} | {c.n} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/quality")
    deltas(sys.argv[1] if len(sys.argv) > 1 else "runs/quality")
