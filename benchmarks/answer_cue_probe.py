"""Which answer cue works for a model? Re-asks the recorded answer calls of a run with each cue.

Takes ``records.jsonl`` files written by ``r2p run`` / ``r2p sweep`` (methods think, hrt,
hrt_rpi, r2p), finds in every record the last call that asked for the answer after a closed
thought (a prefill containing ``</think>\\n\\n``), replaces what followed ``</think>\\n\\n`` by
each cue, and asks the model again (greedy). Prints JSON: per file and cue, the share of answers
already in the task's format (``format_ok``), the share with a valid answer after normalization
(``valid``) and the mean per-sample score of the task's first metric against the gold.

    .venv/bin/python benchmarks/answer_cue_probe.py runs/study/runs/LaMP_7-hrt-qwen0.5b/records.jsonl \\
        --model ~/.cache/r2p-models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
    .venv/bin/python benchmarks/answer_cue_probe.py RECORDS.jsonl --model smollm2

``FORMAT`` stands for ``Answer (<the task's format hint>): ``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

from r2p.backends.llamacpp import LlamaCppBackend
from r2p.methods.answers import normalize
from r2p.methods.r2p.monitor import STAGE_MARKERS
from r2p.metrics import per_sample
from r2p.tasks import get_task

CUES = ["Answer: ", "Answer:", "Answer:\n", "Final answer: ", "FORMAT"]
CLOSE = "</think>\n\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("records", nargs="+", type=Path)
    ap.add_argument("--model", default="smollm2", help="GGUF path or alias (default smollm2)")
    ap.add_argument("--cues", nargs="*", default=CUES)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    out: dict[str, dict[str, dict[str, float]]] = {}
    with LlamaCppBackend(os.path.expanduser(args.model), threads=args.threads,
                         parallel=1) as lm:
        for path in args.records:
            recs = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
            if not recs:
                continue
            task = get_task(recs[0]["task"])
            rows: dict[str, list[tuple[bool, bool, float]]] = {c: [] for c in args.cues}
            for r in recs:
                asked = [p for p in r.get("prompts", []) if CLOSE in (p.get("prefill") or "")]
                if not asked:
                    continue
                p = asked[-1]
                base = p["prefill"][: p["prefill"].rindex(CLOSE) + len(CLOSE)]
                for cue in args.cues:
                    text = f"Answer ({task.format_hint}): " if cue == "FORMAT" else cue
                    c = lm.generate(p["messages"], prefill=base + text, temperature=0.0,
                                    max_tokens=64 if task.kind == "generation" else 16,
                                    stop=list(STAGE_MARKERS))
                    a = normalize(task, c.text)
                    score = next(iter(per_sample(task, r["gold"], a.text).values()))
                    rows[cue].append((a.format_ok, a.valid, score))
            out[str(path)] = {
                cue: {"n": len(v), "format_ok": round(sum(x[0] for x in v) / len(v), 3),
                      "valid": round(sum(x[1] for x in v) / len(v), 3),
                      "score": round(statistics.mean(x[2] for x in v), 4)}
                for cue, v in rows.items() if v}
    print(json.dumps({"model": args.model, "results": out}, indent=1))


if __name__ == "__main__":
    main()
