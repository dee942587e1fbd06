"""The configuration of one run: frozen, validated, merged in layers (defaults < file < CLI).

A :class:`RunConfig` holds exactly what ``r2p run`` needs. It is built from plain dicts so that a
YAML/TOML file and command-line options merge the same way: a value set in a later layer wins,
``None`` means "not set". Names (task, method, retriever, backend) are checked against their
registries and the data directory must exist, all before any model is loaded or called.

Example:
    >>> cfg = build_config({"task": "LaMP_7", "data": "."}, {"k": 2}, validate_names=False)
    >>> (cfg.task, cfg.k, cfg.method)
    ('LaMP_7', 2, 'r2p')
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from r2p.errors import ConfigError, UnknownNameError

#: Backend options that never change what the model generates (speed, logging, transport).
#: Everything else in ``backend_options`` enters the cache key.
NON_OUTPUT_BACKEND_OPTIONS = frozenset(
    {"threads", "parallel", "verbose", "timeout", "read_timeout", "connect_timeout",
     "max_retries", "retry_backoff", "base_url", "api_key_env", "extra_headers_env",
     "extra_body_env", "device"}
)


#: The options that hold a mapping of further options.
OPTION_MAPS = ("method_options", "retriever_options", "backend_options")


class RunConfig(BaseModel):
    """One run: a task's split, a method with options, retrieval, a backend, and bookkeeping.

    Attributes:
        task: task name (``LaMP_7``...).
        data: data directory (``DIR/<task>/<split>_questions.json`` or ``DIR/<split>_...``).
        split: ``dev``, ``train``, ``test``...
        time_based: use the time-based split layout.
        method: method name (``direct``, ``rag``, ``think``, ``hrt``, ``hrt_rpi``, ``r2p``...).
        method_options: keyword options of the method (e.g. ``{"n_candidates": 3}``).
        retriever: retriever name (``bm25``, ``recency``, ``random``, ``dense``, ``none``...).
        retriever_options: keyword options of the retriever (e.g. ``{"path": ranks_file}``).
        k: profile items put in the prompt (0 = non-personalized).
        backend: backend name (``llamacpp``, ``openai``, ``hf``, ``fake``).
        model: model name, alias or path, passed to the backend.
        backend_options: keyword options of the backend (``base_url``, ``threads``...).
        seed: seed given to the method (sampling and tie breaks).
        limit: only the first ``limit`` samples (None = all).
        concurrency: samples in flight at once (threads).
        out: the run directory.
        store: the SQLite record store (None = ``<out>/../.r2p-store.sqlite``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Numbers and switches are strict: ``k: true`` or ``seed: "3"`` in a file is an error, not
    # k = 1 or a silent conversion (command-line values arrive already typed).
    task: str
    data: Path
    split: str = "dev"
    time_based: bool = Field(default=False, strict=True)
    method: str = "r2p"
    method_options: dict[str, Any] = Field(default_factory=dict)
    retriever: str = "bm25"
    retriever_options: dict[str, Any] = Field(default_factory=dict)
    k: int = Field(default=4, ge=0, le=1000, strict=True)
    backend: str = "llamacpp"
    model: str | None = "smollm2"
    backend_options: dict[str, Any] = Field(default_factory=dict)
    seed: int = Field(default=0, strict=True)
    limit: int | None = Field(default=None, ge=1, strict=True)
    concurrency: int = Field(default=1, ge=1, le=1024, strict=True)
    out: Path = Path("runs/run")
    store: Path | None = None

    def store_path(self) -> Path:
        """Where the record store lives: ``store`` if set, else beside the run directory."""
        return self.store if self.store is not None else self.out.parent / ".r2p-store.sqlite"

    def backend_kwargs(self) -> dict[str, Any]:
        """The keyword arguments for :func:`r2p.backends.registry.get_backend`."""
        kw = dict(self.backend_options)
        if self.model is not None and "model" not in kw:
            kw["model"] = self.model
        return kw

    def to_json_dict(self) -> dict[str, Any]:
        """JSON-ready dict (paths as strings)."""
        return json.loads(self.model_dump_json())


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML (``.yaml``/``.yml``) or TOML (``.toml``) config file into a dict.

    Raises:
        ConfigError: the file is missing, unparsable, or not a mapping.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib  # type: ignore[no-redef]
            data: Any = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # parser errors of both libraries
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None)
        if mark is not None and problem:
            detail = f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
        else:
            detail = " ".join(str(exc).split())
        raise ConfigError(f"{p}: cannot parse config: {detail}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the config must be a mapping of options, got {type(data).__name__}")
    return data


def merge_layers(*layers: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge option dicts left to right; a later value wins unless it is ``None``.

    Dict-valued options (``method_options``...) merge key by key.
    """
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in (layer or {}).items():
            if value is None:
                continue
            if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
                out[key] = {**out[key], **value}
            else:
                out[key] = value
    return out


def _format_validation(exc: ValidationError, source: str) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err["loc"]) or "config"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown option"
        parts.append(f"{where}: {msg}")
    return f"invalid {source}: " + "; ".join(parts)


def _registry_names(module: str, attr: str) -> Any:
    """A registry's names, or None when that part of r2p is not importable."""
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None


def check_names(cfg: RunConfig) -> None:
    """Check task, method, retriever and backend names and the data directory.

    Raises:
        UnknownNameError: a name is not in its registry (lists the valid ones).
        ConfigError: the data directory does not exist.
    """
    from r2p.backends.registry import BACKENDS
    from r2p.tasks import get_task

    get_task(cfg.task)
    methods = _registry_names("r2p.methods.registry", "METHODS")
    if methods is not None and cfg.method not in methods:
        raise UnknownNameError("method", cfg.method, methods)
    retrievers = _registry_names("r2p.retrieval", "RETRIEVERS")
    if retrievers is not None and cfg.retriever not in retrievers:
        raise UnknownNameError("retriever", cfg.retriever, retrievers)
    if cfg.backend not in BACKENDS:
        raise UnknownNameError("backend", cfg.backend, BACKENDS)
    if not cfg.data.is_dir():
        raise ConfigError(f"data directory not found: {cfg.data}")


def build_config(
    *layers: Mapping[str, Any] | None, source: str = "configuration", validate_names: bool = True
) -> RunConfig:
    """Merge ``layers`` (defaults < file < CLI), validate, and check names.

    Raises:
        ConfigError: a missing or invalid option (one line naming the option), e.g. a
            ``backend_options`` that is not a mapping in any layer.
        UnknownNameError: an unknown task, method, retriever or backend.
    """
    for layer in layers:
        for key in OPTION_MAPS:
            value = (layer or {}).get(key)
            if value is not None and not isinstance(value, Mapping):
                raise ConfigError(f"invalid {source}: {key}: expected a mapping of options "
                                  f"(KEY: VALUE), got {type(value).__name__} {value!r:.80}")
    merged = merge_layers(*layers)
    try:
        cfg = RunConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, source)) from None
    if validate_names:
        check_names(cfg)
    return cfg


__all__ = [
    "NON_OUTPUT_BACKEND_OPTIONS",
    "OPTION_MAPS",
    "RunConfig",
    "build_config",
    "check_names",
    "merge_layers",
    "read_config_file",
]
