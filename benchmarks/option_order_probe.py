"""Position bias on a task whose labels name option positions (LaMP-1): the reference LaMP
prompt's answer distribution with the options in order and reversed, and the accuracy of
reading it in one order against both orders averaged (what R2P's ``option_order`` does after
its thought). Prints one JSON object.

    python benchmarks/option_order_probe.py --data ../shared/data --model PATH.gguf --n 100
"""

from __future__ import annotations

import argparse
import json

from r2p.backends.registry import get_backend
from r2p.data.lamp import load_split
from r2p.methods.r2p.selfref import combine, label_distribution
from r2p.methods.rag import RAGMethod
from r2p.retrieval.base import retrieve_sample
from r2p.retrieval.registry import get_retriever
from r2p.tasks import get_task
from r2p.types import Sample


def _best(dist: dict[str, float] | None, default: str) -> str:
    return max(dist, key=dist.__getitem__) if dist else default


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--task", default="LaMP_1")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--k", type=int, default=4)
    args = ap.parse_args()
    task = get_task(args.task)
    if task.reorder is None or not task.labels:
        ap.error(f"{task.name}'s labels name no option positions")
    samples = list(load_split(task, args.data, args.split).samples)[: args.n]
    retriever, rag = get_retriever("bm25"), RAGMethod()
    back = dict(zip(task.labels, reversed(task.labels)))
    one = both = wins = losses = 0
    first_label = 0
    with get_backend("llamacpp", model=args.model) as lm:
        for s in samples:
            items = rag.used_items(retrieve_sample(retriever, s, args.k, task))
            dists = []
            for text in (s.input, task.reorder(s.input) or s.input):
                msgs = rag.messages(rag.prompt(Sample(s.id, text, s.profile), task, items))
                c = lm.generate(msgs, max_tokens=8, temperature=0.0, top_logprobs=10)
                dists.append(label_distribution(task.labels, c.choices[0].top_logprobs) or {})
            flipped = {back[k]: v for k, v in dists[1].items()}
            a = _best(dists[0], task.labels[0])
            b = _best(combine([dists[0], flipped], [1.0, 1.0]) if flipped else dists[0], a)
            one += a == s.output
            both += b == s.output
            wins += b == s.output and a != s.output
            losses += a == s.output and b != s.output
            first_label += a == task.labels[0]
    n = len(samples)
    print(json.dumps({"task": task.name, "model": args.model, "queries": n, "k": args.k,
                      "accuracy_one_order": round(one / n, 4),
                      "accuracy_both_orders": round(both / n, 4),
                      "won": wins, "lost": losses,
                      "one_order_answers_first_label": round(first_label / n, 4)}))


if __name__ == "__main__":
    main()
