"""``r2p personalize``: personalize one input from a profile file and print the answer.

Example::

    r2p personalize --task LaMP_7 --profile tweets.json --method r2p --trace \\
        --input "Paraphrase the following tweet without any explanation before or after it: ..."

``PROFILE.json`` is a list of profile items (``[{"id": "1", "text": "..."}, ...]``) or one LaMP
sample object ``{"id", "input", "profile": [...]}``; for a sample, ``--input`` defaults to its
``input``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from r2p.errors import ConfigError, DataError


def add_parser(subparsers: Any) -> None:
    """Register ``r2p personalize``."""
    from r2p.methods.registry import METHODS

    p = subparsers.add_parser(
        "personalize", help="personalize one input from a profile file",
        description="Retrieve k items from the user's profile, run a method, print the answer "
        "(with --trace: the thought with its stages, checks and interventions; with --json: "
        "the whole prediction).")
    p.add_argument("--task", required=True, help="task name, e.g. LaMP_7")
    p.add_argument("--input", default=None,
                   help="the task input, worded as in the task's data ('-' reads stdin; "
                   "default: the 'input' of a sample object in --profile)")
    p.add_argument("--profile", required=True, type=Path, metavar="PROFILE.json",
                   help="a JSON list of profile items, or a LaMP sample object with 'profile'")
    p.add_argument("--method", default="r2p", choices=METHODS, help="method (default r2p)")
    p.add_argument("--k", type=int, default=4, help="profile items to retrieve (default 4)")
    p.add_argument("--retriever", default="bm25", help="retriever name (default bm25)")
    p.add_argument("--backend", default="llamacpp", help="backend name (default llamacpp)")
    p.add_argument("--model", default=None,
                   help="model: alias or GGUF path (llamacpp), model name (openai, hf)")
    p.add_argument("--base-url", default=None, help="server URL (openai backend)")
    p.add_argument("--backend-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="extra backend option (value parsed as JSON when it can be); repeatable")
    p.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                   help="method option, e.g. --opt max_thought_tokens=256; repeatable")
    p.add_argument("--trace", action="store_true",
                   help="print the thought with its stages, checks and interventions")
    p.add_argument("--json", action="store_true", help="print the whole prediction as JSON")
    p.set_defaults(func=run)


def parse_options(pairs: list[str], flag: str) -> dict[str, Any]:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}`` (values parsed as JSON when they can be).

    Raises:
        ConfigError: an item without ``=``.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} expects KEY=VALUE, got {pair!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def load_profile(path: Path) -> tuple[list[Any], str | None]:
    """Read PROFILE.json: ``(items, sample input or None)``.

    Raises:
        DataError: unreadable file, invalid JSON, or neither a list nor an object with a
            ``profile`` list.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"{path}: cannot read the profile file ({exc.strerror or exc})") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc
    if isinstance(data, list):
        return data, None
    if isinstance(data, dict) and isinstance(data.get("profile"), list):
        inp = data.get("input")
        return data["profile"], inp if isinstance(inp, str) else None
    raise DataError(f"{path}: expected a list of profile items or an object with a "
                    f"'profile' list, got {type(data).__name__}")


def _short(text: str, width: int = 100) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def format_trace(pred: Any) -> str:
    """A readable rendering of a prediction's trace: thought segments (grouped by stage),
    checks, interventions, candidates and the decision, then a usage line."""
    lines: list[str] = []
    stage: Any = "unset"
    for ev in pred.trace:
        kind = ev.get("type")
        if kind == "segment":
            key = (ev.get("stage"), ev.get("part"), ev.get("candidate"))
            if key != stage:
                stage = key
                part = ev.get("part") or ("thought" if ev.get("stage") else "output")
                head = f"Stage {ev['stage']}" if ev.get("stage") else part
                cand = f" (candidate {ev['candidate']})" if "candidate" in ev else ""
                lines.append(f"--- {head}{cand} ---")
            forced = " [forced after closing the thought]" if ev.get("forced") else ""
            text = str(ev.get("text", "")).rstrip()
            lines.append(f"{text}{forced}" if text else "(empty)")
            lines.append(f"    ({ev.get('tokens', '?')} tokens, "
                         f"finish: {ev.get('finish_reason', '?')})")
        elif kind == "check":
            mark = "ok  " if ev.get("ok") else "FAIL"
            where = f" [stage {ev['stage']}]" if ev.get("stage") else ""
            lines.append(f"  check {mark} {ev.get('name')}{where}: {_short(ev.get('detail', ''))}")
        elif kind == "intervention":
            lines.append(f"  >> intervention at char {ev.get('position')}: {ev.get('reason')}")
            lines.append(f"     injected: {_short(ev.get('text', ''))}")
        elif kind == "candidate":
            lines.append(f"  candidate {ev.get('index')}: {_short(ev.get('answer', ''), 60)!r} "
                         f"(format ok: {ev.get('format_ok')}, support: {ev.get('support')})")
        elif kind == "decision":
            detail = f" - {_short(ev['detail'])}" if ev.get("detail") else ""
            lines.append(f"  decision ({ev.get('how')}): candidate {ev.get('chosen')} -> "
                         f"{_short(ev.get('answer', ''), 60)!r}{detail}")
        else:
            lines.append(f"  {kind}: {_short(json.dumps(ev, default=str))}")
    u = pred.usage
    lines.append(
        f"--- {pred.method}: {pred.n_calls} call(s), {u.prompt_tokens} prompt tokens "
        f"({u.cached_tokens} cached), {u.completion_tokens} generated, "
        f"{pred.interventions} intervention(s), {pred.latency_s:.2f} s, "
        f"format ok: {pred.format_ok}, retrieved: {', '.join(pred.retrieved_ids) or 'none'} ---")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Personalize and print the answer (and the trace or JSON when asked)."""
    from r2p.backends.registry import get_backend
    from r2p.methods.personalize import personalize

    items, sample_input = load_profile(args.profile)
    inp = args.input
    if inp == "-":
        inp = sys.stdin.read()
    if inp is None:
        inp = sample_input
    if not inp or not inp.strip():
        raise ConfigError("--input is required (the profile file is not a sample with 'input')")
    backend_opts = parse_options(args.backend_opt, "--backend-opt")
    if args.model is not None:
        backend_opts["model"] = args.model
    if args.base_url is not None:
        backend_opts["base_url"] = args.base_url
    method_opts = parse_options(args.opt, "--opt")
    # Validate everything cheap before loading a model.
    from r2p.methods.personalize import validate_profile
    from r2p.methods.registry import get_method
    from r2p.tasks import get_task

    task = get_task(args.task)
    validate_profile(items, task, source=str(args.profile))
    try:
        method = get_method(args.method, **method_opts)
    except (TypeError, ValueError) as exc:  # a value of the wrong type deep in a constructor
        raise ConfigError(f"invalid --opt for method {args.method!r} {method_opts}: {exc}"
                          ) from None
    from r2p.retrieval import get_retriever

    retriever = get_retriever(args.retriever)
    if args.k < 0:
        raise ConfigError(f"--k must be >= 0, got {args.k}")
    backend = get_backend(args.backend, **backend_opts)
    try:
        pred = personalize(inp, items, task=task, method=method, backend=backend, k=args.k,
                           retriever=retriever)
    finally:
        backend.close()
    if args.json:
        print(json.dumps(pred.to_dict(), ensure_ascii=False, indent=2))
        return 0
    if args.trace:
        print(format_trace(pred))
    print(pred.answer)
    return 0


__all__ = ["add_parser", "format_trace", "load_profile", "parse_options", "run"]
