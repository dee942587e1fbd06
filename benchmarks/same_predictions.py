"""Byte-identical predictions before and after a change: the proof a refactor changed nothing.

Checks out two revisions into temporary git worktrees, BASE (``--base REV``, default
``main~N`` with ``--back N``, N = 1) and this checkout's HEAD, runs the same small sweep in
each with that worktree's own code (``PYTHONPATH=<worktree>/src``, this Python), and compares
every run's ``predictions.json`` byte for byte. Prints one JSON object; exits 1 when any run
differs or exists on one side only, 2 when a sweep cannot run.

The sweep: every task of the shipped demo subset (LaMP_1, LaMP_2N, LaMP_3, LaMP_7; the data is
HEAD's ``src/r2p/demo_data`` for both sides, or ``--data``) x the methods direct, rag, think, hrt,
hrt_rpi and r2p (BM25, k = 4, seed 0, temperature 0, one sample in flight) x two engines: the
``fake`` backend (scripted replies: a staged thought and a well-formed answer per task) and the
embedded llama.cpp default model ``smollm2`` (greedy), on the first ``--limit`` queries of each
task. Usage::

    python benchmarks/same_predictions.py                          # main~1 against HEAD
    python benchmarks/same_predictions.py --base 04c1d3e --limit 3
    python benchmarks/same_predictions.py --engines fake --limit 10  # seconds, no model

Commit what is to be compared: uncommitted changes are not part of HEAD.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TASKS = ("LaMP_1", "LaMP_2N", "LaMP_3", "LaMP_7")
METHODS = ("direct", "rag", "think", "hrt", "hrt_rpi", "r2p")
ENGINES = ("fake", "smollm2")

_THOUGHT = ("Stage 1 - Task: answer as this user would.\n"
            "Stage 2 - Profile: [P1] shows what the user usually writes.\n"
            "Stage 3 - Answer: the one that fits the profile.</think>")
#: The fake engine's script: the first key found in a prompt picks the reply (one per task).
FAKE_REPLIES = {
    "which reference is related": _THOUGHT + "[1]",
    "Which category does this article relate to": _THOUGHT + "politics",
    "What is the score of the following review": _THOUGHT + "5",
    "": _THOUGHT + "Grabbing a bite before the finale of The Hills!",
}

_MAIN = "import sys; from r2p.cli.main import main; sys.exit(main(sys.argv[1:]))"


def _git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"same_predictions: git {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


def sweep_doc(data: Path, out: Path, tasks: list[str], methods: list[str],
              engines: list[str], limit: int) -> dict[str, Any]:
    """The sweep file (as a dict) both sides run."""
    models = {
        "fake": {"name": "fake", "backend": "fake", "model": "fake-model",
                 "backend_options": {"replies": FAKE_REPLIES}},
        "smollm2": {"name": "smollm2", "backend": "llamacpp", "model": "smollm2"},
    }
    return {
        "out": str(out),
        "base": {"data": str(data), "split": "dev", "retriever": "bm25", "k": 4, "seed": 0,
                 "concurrency": 1, "limit": limit, "method_options": {"temperature": 0.0}},
        "grid": {"task": tasks, "method": methods, "model": [models[e] for e in engines]},
    }


def run_side(python: str, tree: Path, doc: dict[str, Any], work: Path) -> float:
    """Run the sweep with ``tree``'s code; returns its wall seconds.

    Raises:
        SystemExit: the worktree's code is not the one imported, or the sweep could not run
            (exit status 2 or more; 1 only means some samples failed, which are compared too).
    """
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    where = subprocess.run([python, "-c", "import r2p; print(r2p.__file__)"], env=env,
                           cwd=tree, capture_output=True, text=True).stdout.strip()
    if not Path(where).resolve().is_relative_to((tree / "src").resolve()):
        raise SystemExit(f"same_predictions: {tree} imports r2p from {where!r}, not its own src")
    work.mkdir(parents=True, exist_ok=True)
    sweep_file = work / "sweep.yaml"
    sweep_file.write_text(json.dumps(doc, indent=1), "utf-8")  # JSON is YAML
    log = work / "sweep.log"
    t0 = time.perf_counter()
    with log.open("w", encoding="utf-8") as f:
        rc = subprocess.run([python, "-c", _MAIN, "sweep", str(sweep_file), "--no-progress"],
                            env=env, cwd=tree, stdout=f, stderr=subprocess.STDOUT).returncode
    if rc > 1:
        tail = log.read_text("utf-8", errors="replace")[-2000:]
        raise SystemExit(f"same_predictions: the sweep in {tree} exited {rc}:\n{tail}")
    return time.perf_counter() - t0


def compare(base_runs: Path, head_runs: Path) -> dict[str, Any]:
    """Every run's predictions.json on both sides, byte for byte."""
    def found(root: Path) -> dict[str, Path]:
        return {p.parent.name: p for p in sorted(root.glob("*/predictions.json"))}

    base, head = found(base_runs), found(head_runs)
    both = sorted(set(base) & set(head))
    differing = [n for n in both if base[n].read_bytes() != head[n].read_bytes()]
    return {
        "runs_compared": len(both),
        "identical": len(both) - len(differing),
        "differing": differing,
        "only_base": sorted(set(base) - set(head)),
        "only_head": sorted(set(head) - set(base)),
    }


def _csv(text: str, valid: tuple[str, ...], what: str) -> list[str]:
    items = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in items if x not in valid]
    if bad or not items:
        raise SystemExit(f"same_predictions: unknown {what} {', '.join(bad) or '(none)'}; "
                         f"choose from: {', '.join(valid)}")
    return items


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base", help="the revision to compare against (default main~N)")
    p.add_argument("--back", type=int, default=1, metavar="N",
                   help="with no --base: compare against main~N (default 1)")
    p.add_argument("--limit", type=int, default=2, help="queries per task (default 2)")
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--engines", default=",".join(ENGINES), help="fake, smollm2 or both")
    p.add_argument("--data", type=Path, help="data folder (default: HEAD's demo subset)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    args = p.parse_args(argv)
    tasks = _csv(args.tasks, TASKS, "task")
    methods = _csv(args.methods, METHODS, "method")
    engines = _csv(args.engines, ENGINES, "engine")
    repo = Path(_git(Path(__file__).resolve().parent, "rev-parse", "--show-toplevel"))
    base_rev = args.base or f"main~{args.back}"
    commits = {"base": _git(repo, "rev-parse", "--verify", f"{base_rev}^{{commit}}"),
               "head": _git(repo, "rev-parse", "--verify", "HEAD^{commit}")}
    tmp = Path(tempfile.mkdtemp(prefix="r2p-same-predictions-"))
    trees: dict[str, Path] = {}
    seconds: dict[str, float] = {}
    try:
        for side, sha in commits.items():
            trees[side] = tmp / side / "tree"
            _git(repo, "worktree", "add", "--detach", "--quiet", str(trees[side]), sha)
        data = (args.data or trees["head"] / "src" / "r2p" / "demo_data").resolve()
        for side, tree in trees.items():
            doc = sweep_doc(data, tmp / side / "sweep", tasks, methods, engines, args.limit)
            seconds[side] = round(run_side(sys.executable, tree, doc, tmp / side), 1)
        result = compare(tmp / "base" / "sweep" / "runs", tmp / "head" / "sweep" / "runs")
    finally:
        for tree in trees.values():
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(tree)],
                           capture_output=True)
        subprocess.run(["git", "-C", str(repo), "worktree", "prune"], capture_output=True)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    same = not (result["differing"] or result["only_base"] or result["only_head"])
    summary = {
        "base": {"rev": base_rev, "commit": commits["base"]},
        "head": {"commit": commits["head"]},
        "tasks": tasks, "methods": methods, "engines": engines, "limit": args.limit,
        **result,
        "same": same and result["runs_compared"] > 0,
        "seconds": seconds,
        **({"kept": str(tmp)} if args.keep else {}),
    }
    print(json.dumps(summary))
    return 0 if summary["same"] else 1


if __name__ == "__main__":
    sys.exit(main())
