"""r2p: Reinforced Reasoning for Personalization, and the LaMP evaluation harness around it.

The public API is the list below; heavy parts (engines, torch) load lazily on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# name -> module that defines it. Resolved lazily so `import r2p` stays fast.
_EXPORTS: dict[str, str] = {
    "BackendError": "r2p.errors",
    "Completion": "r2p.types",
    "ConfigError": "r2p.errors",
    "DataError": "r2p.errors",
    "Prediction": "r2p.types",
    "R2PError": "r2p.errors",
    "Retrieved": "r2p.types",
    "Sample": "r2p.types",
    "Task": "r2p.tasks",
    "Usage": "r2p.types",
    "get_backend": "r2p.backends.registry",
    "get_method": "r2p.methods.registry",
    "get_retriever": "r2p.retrieval.registry",
    "get_task": "r2p.tasks",
    "load_split": "r2p.data",
    "personalize": "r2p.methods.personalize",
    "score": "r2p.metrics",
    "split_reasoning": "r2p.reasoning",
}


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'r2p' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(mod), name)


def __dir__() -> list[str]:
    return sorted([*_EXPORTS, "__version__"])


__all__ = sorted(_EXPORTS)  # noqa: PLE0605
