"""The ``r2p`` command: a thin dispatcher over one small module per subcommand.

Each module ``r2p.cli.<name>`` defines ``add_parser(subparsers)`` (registers its arguments and
sets ``func``) and is imported only when its command runs... except that argparse needs every
parser to print ``--help``; so the modules keep their imports of heavy code inside ``run``.
Library errors (and unreadable or unwritable files) become one line on stderr and exit status 2;
never a traceback (an unexpected exception is one line too, unless ``R2P_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from r2p import __version__
from r2p.errors import R2PError
from r2p.redact import redact_text

# name -> one-line help. Order is the order of `r2p --help`.
COMMANDS: dict[str, str] = {
    "demo": "run the main job on the shipped demo subset with the embedded model",
    "run": "run one configuration over a data split (resumable)",
    "sweep": "run a grid of configurations from a YAML file",
    "report": "build report.md / report.html from run or sweep directories",
    "personalize": "personalize one input from a profile file",
    "generate": "generate from any backend (quick manual check)",
    "backends": "list the generation backends and whether each is installed",
    "retrieve": "show the profile items retrieved for one query",
    "rank": "write a ranking file {query_id: [profile_item_id, ...]}",
    "eval": "score a predictions file against golds with LaMP-exact metrics",
    "data": "validate and summarize a data split",
    "serve": "serve personalized chat completions and a profile store over HTTP",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="r2p",
        description="Personalized generation with reasoning models (R2P) and the LaMP harness.",
    )
    parser.add_argument("--version", action="version", version=f"r2p {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    argv = sys.argv[1:]
    for name, help_text in COMMANDS.items():
        # Only the chosen command's module is imported (keeps `r2p --help` fast).
        if argv and argv[0] == name:
            importlib.import_module(f"r2p.cli.{name.replace('-', '_')}").add_parser(sub)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``r2p`` console script."""
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    parser = build_parser()
    args = parser.parse_args()
    func = getattr(args, "func", None)
    if func is None:  # no command given
        parser.print_help()
        return 0
    try:
        rc = func(args)
    except R2PError as exc:
        print(f"r2p: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("r2p: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:  # a file or folder r2p was pointed at cannot be read or written
        print(f"r2p: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        # A bug, not a user error; still one line (R2P_DEBUG=1 shows the traceback).
        if os.environ.get("R2P_DEBUG"):
            raise
        print(f"r2p: error: unexpected {type(exc).__name__}: {_one_line(exc)} (a bug in r2p; "
              "R2P_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 2
    return int(rc or 0)


def _one_line(exc: BaseException) -> str:
    """The exception's message on one line, credentials in URLs redacted."""
    return redact_text(" ".join(str(exc).split()))


if __name__ == "__main__":
    sys.exit(main())
