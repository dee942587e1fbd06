"""What runs share: loaded data, retrievers and their rankings, methods, backends, stores.

One :class:`Resources` lives for one ``r2p run`` or for a whole sweep, so that the runs of a sweep
load each split once, rank each profile once per (retriever, k), load each model once and write
one store. Everything is built on first use and cached by the options that define it.

Example:
    >>> res = Resources()
    >>> # backend = res.backend(cfg); retrieved = res.retrieve(cfg, res.retriever(cfg), task, s)
    >>> res.close()
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from r2p.backends.base import Backend
from r2p.errors import ConfigError, R2PError
from r2p.retrieval.base import retrieve_sample
from r2p.runner.config import RunConfig
from r2p.runner.store import Store, canonical_json
from r2p.tasks import Task
from r2p.types import Retrieved, Sample


def _construct(factory: Any, what: str, name: str, seed: int, options: dict[str, Any]) -> Any:
    """Call ``factory(name, seed=seed, **options)``; without ``seed`` if it takes none.

    A ``TypeError`` or ``ValueError`` from the factory means an option it does not accept or a
    value of the wrong type (``float("abc")`` deep in a constructor): reported as one line.
    """
    if "seed" not in options:
        try:
            return factory(name, seed=seed, **options)
        except (TypeError, ValueError, ConfigError):
            pass  # no seed option: retried without it (a real error recurs below)
    try:
        return factory(name, **options)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid {what} options for {name!r} {options}: {exc}") from None


class Resources:
    """A cache of the heavy things runs share; :meth:`close` releases backends and stores."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._datasets: dict[str, list[Sample]] = {}
        self._retrievers: dict[str, Any] = {}
        self._methods: dict[str, Any] = {}
        self._backends: dict[str, Backend] = {}
        self._identities: dict[str, dict[str, Any]] = {}
        self._stores: dict[Path, Store] = {}
        self._rankings: dict[tuple[str, str, str, int], list[Retrieved]] = {}

    def samples(self, cfg: RunConfig, task: Task) -> list[Sample]:
        """The split's samples (first ``cfg.limit``), loaded once per data/split/task."""
        key = canonical_json([str(cfg.data), task.name, cfg.split, cfg.time_based])
        if key not in self._datasets:
            from r2p.data import load_split

            ds = load_split(task, cfg.data, cfg.split, time_based=cfg.time_based)
            self._datasets[key] = list(ds.samples)
        samples = self._datasets[key]
        return samples[: cfg.limit] if cfg.limit is not None else list(samples)

    def retriever(self, cfg: RunConfig) -> Any:
        """The configured retriever (None for ``k = 0``, which retrieves nothing)."""
        if cfg.k == 0:
            return None
        key = canonical_json([cfg.retriever, cfg.retriever_options, cfg.seed])
        if key not in self._retrievers:
            from r2p.retrieval import get_retriever

            self._retrievers[key] = _construct(
                get_retriever, "retriever", cfg.retriever, cfg.seed, dict(cfg.retriever_options)
            )
        return self._retrievers[key]

    def retrieve(
        self, cfg: RunConfig, retriever: Any, task: Task, sample: Sample
    ) -> list[Retrieved]:
        """The top ``cfg.k`` profile items of ``sample``, ranked once per retriever setting."""
        if cfg.k == 0 or retriever is None or not sample.profile:
            return []
        setting = [cfg.retriever, cfg.retriever_options, cfg.seed, cfg.data.as_posix()]
        key = (canonical_json(setting), task.name, sample.id, cfg.k)
        with self._lock:
            hit = self._rankings.get(key)
        if hit is None:
            hit = list(retrieve_sample(retriever, sample, cfg.k, task))
            with self._lock:
                self._rankings[key] = hit
        return hit

    def method(self, cfg: RunConfig) -> Any:
        """The configured method, built once per (name, options, seed)."""
        key = canonical_json([cfg.method, cfg.method_options, cfg.seed])
        if key not in self._methods:
            from r2p.methods.registry import get_method

            self._methods[key] = _construct(
                get_method, "method", cfg.method, cfg.seed, dict(cfg.method_options)
            )
        return self._methods[key]

    def backend(self, cfg: RunConfig) -> Backend:
        """The configured backend, loaded once per (name, model, options).

        For the embedded backend, ``parallel`` defaults to ``cfg.concurrency`` so that every
        sample in flight gets a slot.
        """
        kwargs = cfg.backend_kwargs()
        if cfg.backend == "llamacpp" and cfg.concurrency > 1:
            kwargs.setdefault("parallel", cfg.concurrency)
        key = canonical_json([cfg.backend, kwargs])
        if key not in self._backends:
            from r2p.backends.registry import get_backend

            try:
                self._backends[key] = get_backend(cfg.backend, **kwargs)
            except TypeError as exc:
                raise ConfigError(
                    f"invalid backend options for {cfg.backend!r} {kwargs}: {exc}"
                ) from None
        return self._backends[key]

    def identity(self, cfg: RunConfig, backend: Backend) -> dict[str, Any]:
        """``backend.identity()``, computed once (it may checksum a model file)."""
        key = str(id(backend))
        if key not in self._identities:
            ident: dict[str, Any] = {}
            getter = getattr(backend, "identity", None)
            if callable(getter):
                ident = dict(getter())
            ident.setdefault("backend", getattr(backend, "name", cfg.backend))
            self._identities[key] = ident
        return self._identities[key]

    def store(self, path: Path) -> Store:
        """The record store at ``path``, opened once."""
        path = path.resolve()
        if path not in self._stores:
            self._stores[path] = Store(path)
        return self._stores[path]

    def close(self) -> None:
        """Close every backend and store (errors while closing are ignored)."""
        for backend in self._backends.values():
            try:
                backend.close()
            except (R2PError, OSError):
                pass
        for store in self._stores.values():
            store.close()
        self._backends.clear()
        self._stores.clear()


__all__ = ["Resources"]
