"""``r2p run``: one configuration over a data split, resumable, with a progress bar.

Options come in layers: defaults < ``--config FILE`` (YAML or TOML) < command-line options.
Everything is validated before a model loads; a run whose samples partly failed exits 1 (the
failures are recorded and retried by the next run of the same command).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from r2p.errors import ConfigError


def parse_options(pairs: list[str] | None, flag: str) -> dict[str, Any]:
    """``["n_candidates=3", "selection=llm"]`` -> ``{"n_candidates": 3, "selection": "llm"}``.

    Values are parsed as YAML scalars/lists (``3`` is an int, ``true`` a bool, ``[a, b]`` a list).
    """
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} expects KEY=VALUE, got {pair!r}")
        try:
            out[key.strip()] = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            out[key.strip()] = value
    return out


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """The options shared by ``r2p run`` (and reused by other commands). Defaults are None so
    that only options given on the command line override the config file."""
    p.add_argument("--config", metavar="FILE", help="YAML or TOML file with any of these options")
    p.add_argument("--task", help="task name, e.g. LaMP_7")
    p.add_argument("--data", metavar="DIR", help="data directory (DIR/<task>/<split>_questions.json)")
    p.add_argument("--split", help="data split (default dev)")
    p.add_argument("--time-based", action="store_const", const=True, dest="time_based",
                   help="use the time-based split layout")
    p.add_argument("--method", help="direct, rag, think, hrt, hrt_rpi, r2p, r2p_llm (default r2p)")
    p.add_argument("-m", "--method-option", action="append", metavar="KEY=VALUE",
                   dest="method_option", help="method option, repeatable (e.g. n_candidates=2)")
    p.add_argument("--retriever", help="bm25, recency, random, dense, none, ranking (default bm25)")
    p.add_argument("-r", "--retriever-option", action="append", metavar="KEY=VALUE",
                   dest="retriever_option", help="retriever option, repeatable (e.g. path=ranks.json)")
    p.add_argument("--k", type=int, help="profile items in the prompt (default 4; 0 = no profile)")
    p.add_argument("--backend", help="llamacpp, openai, hf, fake (default llamacpp)")
    p.add_argument("--model", help="model name, alias or path (default smollm2)")
    p.add_argument("-b", "--backend-option", action="append", metavar="KEY=VALUE",
                   dest="backend_option", help="backend option, repeatable (e.g. threads=2)")
    p.add_argument("--base-url", action="append", metavar="URL", dest="base_url",
                   help="OpenAI-compatible server URL; repeat to spread requests over servers")
    p.add_argument("--seed", type=int, help="seed (default 0)")
    p.add_argument("--limit", type=int, help="only the first N samples")
    p.add_argument("-c", "--concurrency", type=int, help="samples in flight at once (default 1)")
    p.add_argument("--out", metavar="RUN_DIR", help="run directory (default runs/run)")
    p.add_argument("--store", metavar="PATH",
                   help="record store (default RUN_DIR/../.r2p-store.sqlite)")


def cli_layer(args: argparse.Namespace) -> dict[str, Any]:
    """The config layer given on the command line (unset options are None)."""
    backend_options = parse_options(args.backend_option, "--backend-option")
    if args.base_url:
        backend_options["base_url"] = args.base_url[0] if len(args.base_url) == 1 else args.base_url
    return {
        "task": args.task, "data": args.data, "split": args.split, "time_based": args.time_based,
        "method": args.method, "method_options": parse_options(args.method_option, "--method-option"),
        "retriever": args.retriever,
        "retriever_options": parse_options(args.retriever_option, "--retriever-option"),
        "k": args.k, "backend": args.backend, "model": args.model,
        "backend_options": backend_options, "seed": args.seed, "limit": args.limit,
        "concurrency": args.concurrency, "out": args.out, "store": args.store,
    }


def add_parser(subparsers: Any) -> None:
    """Register ``r2p run``."""
    p = subparsers.add_parser(
        "run", help="run one configuration over a data split (resumable)",
        description="Run one method over a data split; re-running resumes from the record store.",
    )
    add_run_arguments(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a run of a different configuration in --out (by default it "
                        "is refused; the same configuration resumes)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Execute ``r2p run``; returns 0 when every sample succeeded, 1 when some failed."""
    from r2p.runner.config import build_config, read_config_file
    from r2p.runner.experiment import check_ready, run_experiment
    from r2p.runner.resources import Resources

    file_layer = read_config_file(args.config) if args.config else {}
    source = f"config {args.config}" if args.config else "options"
    cfg = build_config(file_layer, cli_layer(args), source=source)
    res = Resources()
    try:
        check_ready(cfg, res, overwrite=args.overwrite)
        result = run_experiment(cfg, resources=res, progress=not args.no_progress,
                                overwrite=args.overwrite)
    finally:
        res.close()
    m = result.metrics
    shown = ", ".join(f"{k}={m[k]:.4g}" for k in m if k not in ("n", "n_failed", "n_total")
                      and isinstance(m[k], float))
    print(f"{result.out}: {m['n']}/{result.n_total} scored ({result.n_cached} from the store), "
          f"{result.n_failed} failed; {shown}")
    if m.get("n_truncated"):
        print(f"r2p: {m['n_truncated']} sample(s) truncated: the model spent a call's whole "
              "max_tokens inside its thought and gave no answer text (kept and scored; "
              "marked 'truncated' in records.jsonl)", file=sys.stderr)
    if not result.ok:
        print(f"r2p: {result.n_failed} sample(s) failed (recorded; predictions.json and "
              f"metrics.json cover the {m['n']} that succeeded); re-run the same command to "
              "retry them", file=sys.stderr)
        return 1
    return 0
