"""The run directory: what identifies the run it holds, and writing its files safely.

A run directory holds one configuration's results (``config.json``, ``records.jsonl``,
``predictions.json``, ``metrics.json``). Running the same configuration again resumes it; a
different configuration is refused unless the caller asks to overwrite, so that a LaMP_3 run
never silently replaces a LaMP_7 run (or two runs left at the default ``--out`` collide).

Its files are written atomically (:mod:`r2p.atomic`): to a temporary name unique to the
writer, in the same folder, then renamed over the target.
"""

from __future__ import annotations

import json
import os
from typing import Any

from r2p.errors import ConfigError
from r2p.redact import redact_options
from r2p.runner.config import NON_OUTPUT_BACKEND_OPTIONS, RunConfig

#: The files a run writes into its directory.
RUN_FILES = ("config.json", "records.jsonl", "predictions.json", "metrics.json")

#: The ``config.json`` fields that make two runs the same configuration. Left out: ``limit``
#: (a larger limit extends a run), concurrency, the store, and backend options that do not
#: change outputs (threads, timeouts, server URLs).
IDENTITY_FIELDS = ("task", "split", "data", "time_based", "method", "method_options",
                   "retriever", "retriever_options", "k", "backend", "model",
                   "backend_options", "seed")


def identity(config: dict[str, Any]) -> dict[str, Any]:
    """The fields of a ``config.json`` (or of :func:`config_fields`) that identify a run."""
    out = {k: config.get(k) for k in IDENTITY_FIELDS}
    opts = out.get("backend_options") or {}
    if isinstance(opts, dict):
        out["backend_options"] = {k: v for k, v in opts.items()
                                  if k not in NON_OUTPUT_BACKEND_OPTIONS}
    if out.get("data") is not None:
        out["data"] = os.path.realpath(str(out["data"]))
    return out


#: :class:`RunConfig` fields left out of ``config.json``: ``out`` is the directory the file is in.
NOT_IN_CONFIG_JSON = frozenset({"out"})


def config_fields(cfg: RunConfig) -> dict[str, Any]:
    """The configuration part of ``config.json``: every :class:`RunConfig` field (in its
    order) but those of :data:`NOT_IN_CONFIG_JSON`, with ``store`` resolved
    (:meth:`RunConfig.store_path`). JSON-ready, not yet redacted."""
    fields = cfg.model_dump(mode="json", exclude=set(NOT_IN_CONFIG_JSON))
    fields["store"] = str(cfg.store_path())
    return fields


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    parts = [f"{k} {json.dumps(old.get(k), default=str)} -> {json.dumps(new.get(k), default=str)}"
             for k in IDENTITY_FIELDS if old.get(k) != new.get(k)]
    return "; ".join(parts)


def check_out_dir(cfg: RunConfig, *, overwrite: bool = False) -> None:
    """Refuse a run directory that holds another configuration's run, unless ``overwrite``.

    The same configuration (see :data:`IDENTITY_FIELDS`) resumes. With ``overwrite``, the
    other run's files are removed now, so an interrupted new run is not mistaken for the old
    one.

    Raises:
        ConfigError: ``cfg.out`` is a file, or holds a run of a different configuration (the
            message names what differs), or run files without a readable ``config.json``.
    """
    out = cfg.out
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory")
    present = [name for name in RUN_FILES if (out / name).exists()]
    if not present:
        return
    problem = ""
    try:
        old = json.loads((out / "config.json").read_text(encoding="utf-8"))
        if not isinstance(old, dict):
            raise ValueError("not an object")
    except (OSError, ValueError):
        problem = f"holds run files ({', '.join(present)}) without a readable config.json"
    else:
        diff = _differences(identity(old), identity(redact_options(config_fields(cfg))))
        if diff:
            problem = f"holds a run of a different configuration ({diff})"
    if not problem:
        return
    if not overwrite:
        raise ConfigError(f"--out {out}: {problem}; choose another --out, or give --overwrite "
                          "to replace it")
    for name in present:
        (out / name).unlink()


__all__ = ["IDENTITY_FIELDS", "NOT_IN_CONFIG_JSON", "RUN_FILES", "check_out_dir", "config_fields",
           "identity"]
