"""``r2p serve``: personalization as a service (OpenAI-compatible, with a profile store).

Example::

    r2p serve                                   # embedded SmolLM2, ./r2p-profiles.sqlite
    r2p serve --backend openai --model Qwen/Qwen3-8B \\
        --base-url http://gpu1:8000/v1 --base-url http://gpu2:8000/v1 \\
        --store postgresql://r2p@db/r2p --host 0.0.0.0 --api-keys keys.txt

API keys are ``tenant:key`` pairs, comma-separated in ``R2P_API_KEYS`` or one a line in
``--api-keys FILE`` (a line may hold ``tenant:sha256:HEX``; ``--hash-key TENANT`` prints one
from a key read on stdin). With no key the server listens on loopback only.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from r2p.errors import MissingDependencyError

INSTALL = "pip install 'r2p[serve]'"


def add_parser(subparsers: Any) -> None:
    """Register ``r2p serve``."""
    from r2p.methods.registry import METHODS

    p = subparsers.add_parser(
        "serve", help="serve personalized chat completions and a profile store over HTTP",
        description="An OpenAI-compatible server: POST /v1/chat/completions answers with an "
        "r2p method over the user's profile items; /v1/users/{user}/items stores them.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1; with no API key always loopback)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--store", default=None, metavar="PATH_OR_URL",
                   help="profile store: an SQLite file (default ./r2p-profiles.sqlite) or a "
                   "postgresql:// URL")
    p.add_argument("--backend", default="llamacpp", help="backend name (default llamacpp)")
    p.add_argument("--model", default=None,
                   help="model: alias or GGUF path (llamacpp), model name (openai, hf)")
    p.add_argument("--base-url", action="append", metavar="URL", dest="base_url",
                   help="OpenAI-compatible server URL; repeat to spread requests over servers")
    p.add_argument("--backend-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="extra backend option (value parsed as JSON when it can be); "
                   "repeatable")
    p.add_argument("--method", default="r2p", choices=METHODS,
                   help="the method of requests whose model is r2p-serve (default r2p)")
    p.add_argument("--method-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="option of --method (e.g. max_interventions=2; value parsed as JSON "
                   "when it can be); repeatable")
    p.add_argument("--synthesis", choices=("user", "query"), default="user",
                   help="R2P's stage 2: written once per user and profile version and reused "
                   "(user, default) or for every request (query)")
    p.add_argument("--k", type=int, default=4, help="profile items retrieved per request "
                   "(default 4)")
    p.add_argument("--retriever", default="bm25", help="retriever name (default bm25)")
    p.add_argument("--api-keys", type=Path, default=None, metavar="FILE",
                   help="file of tenant:key lines (default: R2P_API_KEYS)")
    p.add_argument("--max-body-mb", type=float, default=8.0,
                   help="largest request body in MiB (default 8)")
    p.add_argument("--max-batch", type=int, default=1000,
                   help="most items per POST .../items (default 1000)")
    p.add_argument("--log-level", default="info",
                   choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument("--hash-key", metavar="TENANT", default=None,
                   help="print a keys-file line TENANT:sha256:HEX for the key read on stdin, "
                   "and exit")
    p.set_defaults(func=run)


def _keys(args: argparse.Namespace) -> Any:
    from r2p.serve.keys import ApiKeys

    if args.api_keys is not None:
        return ApiKeys.from_file(args.api_keys)
    return ApiKeys.parse(os.environ.get("R2P_API_KEYS", ""))


def run(args: argparse.Namespace) -> int:
    """Validate the flags, build the engine and the store, and serve until interrupted."""
    if args.hash_key is not None:
        from r2p.serve.keys import ApiKeys, hash_line

        key = sys.stdin.readline().strip()
        ApiKeys.parse(f"{args.hash_key}:{key}", source="--hash-key")  # same rules
        print(hash_line(args.hash_key, key))
        return 0
    missing = [m for m in ("fastapi", "uvicorn", "sqlalchemy")
               if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(f"r2p serve ({', '.join(missing)})", INSTALL)
    from r2p.cli.personalize import parse_options
    from r2p.serve.config import DEFAULT_STORE, ServeConfig
    from r2p.serve.server import serve

    backend_opts = parse_options(args.backend_opt, "--backend-opt")
    if args.model is not None:
        backend_opts["model"] = args.model
    if args.base_url:
        backend_opts["base_url"] = args.base_url[0] if len(args.base_url) == 1 \
            else args.base_url
    cfg = ServeConfig(host=args.host, port=args.port, store=args.store or DEFAULT_STORE,
                      backend=args.backend, backend_options=backend_opts, method=args.method,
                      method_options=parse_options(args.method_opt, "--method-opt"),
                      synthesis=args.synthesis, k=args.k, retriever=args.retriever,
                      max_body_bytes=int(args.max_body_mb * 1024 * 1024),
                      max_batch_items=args.max_batch)
    from r2p.backends.registry import check_options
    from r2p.methods.registry import get_method
    from r2p.retrieval import get_retriever

    check_options(cfg.backend, cfg.backend_options)  # before any model loads
    get_method(cfg.method, **cfg.method_options)
    get_retriever(cfg.retriever)
    _ = cfg.store_url
    serve(cfg, _keys(args), log_level=args.log_level)
    return 0


__all__ = ["INSTALL", "add_parser", "run"]
