"""``r2p generate``: one generation from any backend, for a quick manual check.

Examples::

    r2p generate "Name three colors."
    r2p generate --prefill "1, 2, 3," --max-tokens 12 "Count from 1 to 10."
    r2p generate --stream --system "Be brief." --temperature 0.7 --seed 1 "Tell me a joke."
    r2p generate --backend openai --base-url http://127.0.0.1:8000/v1 --model m "Hi"
    r2p generate --backend fake --opt 'replies=["scripted"]' "anything"

With ``--prefill`` only the continuation is printed. ``--json`` prints the whole completion
(text, reasoning, finish reason, usage, seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from r2p.errors import ConfigError


def add_parser(subparsers: Any) -> None:
    """Register ``r2p generate``."""
    p = subparsers.add_parser(
        "generate", help="generate from any backend (quick manual check)",
        description="Send one chat prompt to a backend and print the reply (only the "
        "continuation when --prefill is given).")
    p.add_argument("prompt", help="the user message ('-' reads stdin)")
    p.add_argument("--backend", default="llamacpp", help="backend name (default llamacpp; "
                   "see `r2p backends`)")
    p.add_argument("--model", default=None,
                   help="model: alias or GGUF path (llamacpp, default smollm2), model name "
                   "(openai, hf)")
    p.add_argument("--base-url", default=None, help="server URL (openai backend)")
    p.add_argument("--opt", "--backend-opt", dest="opt", action="append", default=[],
                   metavar="KEY=VALUE",
                   help="backend option, value parsed as JSON when it can be, e.g. "
                   "--opt threads=2 --opt parallel=1; repeatable")
    p.add_argument("--system", default=None, help="system message")
    p.add_argument("--prefill", default=None,
                   help="start of the assistant reply, which the model continues")
    p.add_argument("--max-tokens", type=int, default=256, help="default 256")
    p.add_argument("--temperature", type=float, default=0.0, help="default 0 (greedy)")
    p.add_argument("--top-p", type=float, default=1.0, help="default 1.0")
    p.add_argument("--stop", action="append", default=None, metavar="TEXT",
                   help="stop string (repeatable)")
    p.add_argument("--seed", type=int, default=None, help="sampling seed")
    p.add_argument("--n", type=int, default=1, help="number of alternatives (not with --stream)")
    p.add_argument("--stream", action="store_true", help="print text as it arrives")
    p.add_argument("--json", action="store_true",
                   help="print the completion as JSON (text, reasoning, usage, seconds)")
    p.set_defaults(func=run)


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``["a=1", "b=x"]`` -> ``{"a": 1, "b": "x"}`` (values parsed as JSON when they can be).

    Raises:
        ConfigError: an item without ``KEY=``.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--opt expects KEY=VALUE, got {pair!r}")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def _check(args: argparse.Namespace, prompt: str) -> None:
    """One :class:`ConfigError` for the first bad argument."""
    if not prompt.strip():
        raise ConfigError("the prompt is empty")
    if args.max_tokens < 0:
        raise ConfigError(f"--max-tokens must be >= 0, got {args.max_tokens}")
    if args.n < 1 or (args.stream and args.n != 1):
        raise ConfigError("--n must be >= 1, and 1 with --stream")
    if not 0.0 <= args.temperature <= 2.0:
        raise ConfigError(f"--temperature must be in [0, 2], got {args.temperature:g}")
    if not 0.0 < args.top_p <= 1.0:
        raise ConfigError(f"--top-p must be in (0, 1], got {args.top_p:g}")


def run(args: argparse.Namespace) -> int:
    """Build the backend, generate, print."""
    prompt = sys.stdin.read() if args.prompt == "-" else args.prompt
    _check(args, prompt)
    options = parse_options(args.opt)
    if args.model is not None:
        options["model"] = args.model
    if args.base_url is not None:
        options["base_url"] = args.base_url
    messages = [{"role": "system", "content": args.system}] if args.system else []
    messages.append({"role": "user", "content": prompt})
    from r2p.backends.base import GenerationSettings
    from r2p.backends.registry import get_backend

    settings = GenerationSettings(max_tokens=args.max_tokens, temperature=args.temperature,
                                  top_p=args.top_p, stop=args.stop, seed=args.seed,
                                  n=1 if args.stream else args.n)

    backend = get_backend(args.backend, **options)
    try:
        if args.stream:
            completion = _stream(backend, messages, args, settings)
        else:
            completion = backend.generate(messages, prefill=args.prefill, settings=settings)
        if args.json:
            out = asdict(completion)
            out.pop("raw", None)
            out["backend"] = backend.identity()
            print(json.dumps(out, ensure_ascii=False, indent=2))
        elif not args.stream:
            _print_choices(completion)
    finally:
        backend.close()
    return 0


def _stream(backend: Any, messages: list[dict[str, str]], args: argparse.Namespace,
            settings: Any) -> Any:
    """Stream the completion to stdout (unless ``--json``) and return it."""
    stream = backend.stream(messages, prefill=args.prefill, settings=settings)
    try:
        for chunk in stream:
            if not args.json:
                sys.stdout.write(chunk)
                sys.stdout.flush()
    finally:
        stream.close()
    completion = stream.result()
    if not args.json:
        sys.stdout.write("\n")
    return completion


def _print_choices(completion: Any) -> None:
    for i, choice in enumerate(completion.choices):
        if len(completion.choices) > 1:
            print(f"--- {i + 1} ---")
        if choice.reasoning:
            print(f"<think>{choice.reasoning}</think>")
        print(choice.text)
