"""Backend speed: single-stream and concurrent tokens/s, and prompt-cache reuse on continuation.

Prints one JSON object. Usage::

    python benchmarks/backend.py                      # embedded llama.cpp, SmolLM2
    python benchmarks/backend.py --model path/to.gguf --threads 2 --parallel 4 --repeats 3

Measures (medians over ``--repeats``):

* ``single``: generated tokens/s of one request, and prompt tokens/s of a cold ~500-token prompt.
* ``concurrent``: aggregate generated tokens/s with 1, 2 and 4 requests in flight (distinct
  prompts, so the prompt cache does not help); ``speedup_4`` = 4-way over 1-way.
* ``continuation``: seconds of a 20-token continuation after a ~500-token prefix whose prefill
  was extended by an injected correction, warm (the prefix was just generated, so it is cached)
  versus cold (a fresh prefix of the same shape); ``warm_over_cold`` (target < 0.2).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from typing import Any

from r2p.backends.llamacpp import LlamaCppBackend
from r2p.types import Message

FILLER = ("The user has written many reviews about books, films and restaurants; they prefer "
          "short sentences, concrete details and a friendly tone. ")


def long_messages(n_words: int = 380) -> list[Message]:
    """A ~500-token user message that no earlier request shares (a nonce comes first)."""
    words = (FILLER * (n_words // len(FILLER.split()) + 1)).split()[:n_words]
    return [{"role": "user",
             "content": f"[{uuid.uuid4().hex}] " + " ".join(words)
             + "\nSummarize what you know about this user."}]


def story(i: int) -> list[Message]:
    return [{"role": "user", "content": f"[{uuid.uuid4().hex[:8]}] Write a long story about "
             f"a traveller number {i} who visits many cities. Describe every city."}]


def concurrent_rate(lm: LlamaCppBackend, k: int, tokens: int) -> float:
    """Aggregate generated tokens/s with ``k`` requests in flight."""
    done: list[int] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        c = lm.generate(story(i), max_tokens=tokens)
        with lock:
            done.append(c.usage.completion_tokens)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(k)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - t0)


def continuation(lm: LlamaCppBackend, warm: bool) -> tuple[float, int, int]:
    """Seconds, prompt tokens and cached tokens of a 20-token continuation."""
    msgs = long_messages()
    first = "<think>\nStage 1: the user likes concrete details"
    if warm:  # generate the thought first, as R2P does, so the prefix is in the cache
        c = lm.generate(msgs, prefill=first, max_tokens=20)
        first += c.text
    prefill = first + "\nWait, that drifts from the template. Stage 2:"
    c = lm.generate(msgs, prefill=prefill, max_tokens=20)
    return c.seconds, c.usage.prompt_tokens, c.usage.cached_tokens


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=64, help="tokens per generation")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    lm = LlamaCppBackend(args.model, threads=args.threads, parallel=args.parallel)
    load_s = time.perf_counter() - t0
    lm.generate(story(0), max_tokens=8)  # warm-up

    gen_rates, prompt_rates = [], []
    for _ in range(args.repeats):
        c = lm.generate(story(1), max_tokens=args.tokens)
        gen_rates.append(c.raw["timings"]["predicted_per_second"] if c.raw else 0.0)
        p = lm.generate(long_messages(), max_tokens=1)
        t = p.raw["timings"] if p.raw else {}
        prompt_rates.append(t.get("prompt_per_second", 0.0))

    conc: dict[str, float] = {}
    for k in (1, 2, 4):
        conc[str(k)] = statistics.median(concurrent_rate(lm, k, args.tokens)
                                         for _ in range(args.repeats))

    cold, warm = [], []
    cold_tokens = warm_cached = warm_prompt = 0
    for _ in range(args.repeats):
        s, n, _c = continuation(lm, warm=False)
        cold.append(s)
        cold_tokens = n
        s, warm_prompt, warm_cached = continuation(lm, warm=True)
        warm.append(s)
    cold_s, warm_s = statistics.median(cold), statistics.median(warm)

    result: dict[str, Any] = {
        "backend": lm.identity(),
        "threads": lm.threads, "parallel": lm.parallel, "n_ctx_per_slot": lm.n_ctx,
        "load_seconds": round(load_s, 3),
        "single": {"generated_tok_s": round(statistics.median(gen_rates), 1),
                   "prompt_tok_s": round(statistics.median(prompt_rates), 1)},
        "concurrent": {"aggregate_tok_s": {k: round(v, 1) for k, v in conc.items()},
                       "speedup_2": round(conc["2"] / conc["1"], 2),
                       "speedup_4": round(conc["4"] / conc["1"], 2),
                       "target_speedup_4": 1.25},
        "continuation": {"prefix_tokens": cold_tokens, "new_tokens": 20,
                         "cold_s": round(cold_s, 3), "warm_s": round(warm_s, 3),
                         "warm_prompt_tokens": warm_prompt, "warm_cached_tokens": warm_cached,
                         "warm_over_cold": round(warm_s / cold_s, 3),
                         "target_warm_over_cold": 0.2},
        "repeats": args.repeats,
        "machine": {"cpus": os.cpu_count(), "loadavg_1m": round(os.getloadavg()[0], 2),
                    "python": platform.python_version()},
    }
    lm.close()
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
