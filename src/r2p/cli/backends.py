"""``r2p backends``: list the generation backends and whether each is installed.

Example::

    $ r2p backends
    NAME      INSTALLED  DESCRIPTION
    llamacpp  yes        embedded llama.cpp (xllamacpp), default model smollm2
    ...
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register ``r2p backends``."""
    p = subparsers.add_parser(
        "backends", help="list the generation backends and whether each is installed",
        description="List the generation backends, whether their dependencies are installed, "
        "and the command that installs a missing one.")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=run)


def rows() -> list[dict[str, Any]]:
    """One dict per backend: name, installed, summary, install (command)."""
    from r2p.backends.registry import BACKENDS

    return [{"name": s.name, "installed": s.installed(), "summary": s.summary,
             "install": s.install} for s in BACKENDS.values()]


def run(args: argparse.Namespace) -> int:
    """Print the table (or JSON)."""
    table = rows()
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    width = max(len(r["name"]) for r in table)
    print(f"{'NAME':<{width}}  INSTALLED  DESCRIPTION")
    for r in table:
        mark = "yes" if r["installed"] else "no"
        print(f"{r['name']:<{width}}  {mark:<9}  {r['summary']}")
        if not r["installed"]:
            print(f"{'':<{width}}  {'':<9}  install: {r['install']}")
    return 0
