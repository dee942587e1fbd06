"""Methods by name: the baselines and R2P with its ablations.

=========  ==============================================================================
name       what it builds
=========  ==============================================================================
direct     :class:`~r2p.methods.direct.DirectMethod`: the input alone (k = 0)
rag        :class:`~r2p.methods.rag.RAGMethod`: the reference LaMP prompt with k shots
think      :class:`~r2p.methods.think.ThinkMethod`: rag's prompt, free ``<think>``, answer
hrt        ``R2PMethod(hrt=True, rpi=False, srm=False)``: the thought template alone
hrt_rpi    ``R2PMethod(hrt=True, rpi=True, srm=False)``: template + intervention
r2p        ``R2PMethod()``: full R2P (template, intervention, self-referencing)
r2p_llm    ``R2PMethod(selection="llm")``: full R2P, text candidates picked by the model
=========  ==============================================================================

Modules are imported only when their method is built. User options override the presets
(``get_method("r2p", n_candidates=5)``); an option a method does not take is a ConfigError.

Example:
    >>> get_method("rag", max_prompt_tokens=256).name
    'rag'
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

from r2p.errors import ConfigError, UnknownNameError
from r2p.methods.base import Method


@dataclass(frozen=True)
class MethodSpec:
    """Where a method lives and the options it is built with.

    Attributes:
        name: registry name (also the Prediction's ``method``).
        target: ``"module:Class"``.
        preset: options passed before the user's (the user's win).
        summary: one line for listings.
    """

    name: str
    target: str
    preset: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


_R2P = "r2p.methods.r2p:R2PMethod"

SPECS: dict[str, MethodSpec] = {
    s.name: s
    for s in (
        MethodSpec("direct", "r2p.methods.direct:DirectMethod", {},
                   "the task input alone (non-personalized, k = 0)"),
        MethodSpec("rag", "r2p.methods.rag:RAGMethod", {},
                   "reference LaMP prompt: k retrieved items as shots before the input"),
        MethodSpec("think", "r2p.methods.think:ThinkMethod", {},
                   "rag prompt, then free reasoning in <think>, then the answer"),
        MethodSpec("hrt", _R2P, {"hrt": True, "rpi": False, "srm": False},
                   "R2P ablation: hierarchical thought template only"),
        MethodSpec("hrt_rpi", _R2P, {"hrt": True, "rpi": True, "srm": False},
                   "R2P ablation: template + reasoning process intervention"),
        MethodSpec("r2p", _R2P, {"hrt": True, "rpi": True, "srm": True},
                   "full R2P: template, intervention, self-referencing"),
        MethodSpec("r2p_llm", _R2P, {"hrt": True, "rpi": True, "srm": True,
                                     "selection": "llm"},
                   "full R2P, text candidates picked or merged by one more model call"),
    )
}

METHODS: tuple[str, ...] = tuple(SPECS)
"""Registry names, in a stable order (baselines first)."""


def _accepts(cls: type, options: dict[str, Any]) -> list[str]:
    """Options ``cls.__init__`` cannot take (empty when it takes ``**kwargs``)."""
    params = inspect.signature(cls).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return []
    names = {p.name for p in params}
    return sorted(k for k in options if k not in names)


def get_method(name: str, **options: Any) -> Method:
    """Build the method ``name`` with ``options`` (on top of its preset).

    Args:
        name: one of :data:`METHODS`.
        **options: constructor options of the method class.

    Returns:
        A :class:`~r2p.methods.base.Method`; its ``name`` is the registry name.

    Raises:
        UnknownNameError: ``name`` is not a method (the message lists the valid ones).
        ConfigError: an option the method does not take, or an invalid value.
    """
    spec = SPECS.get(name)
    if spec is None:
        raise UnknownNameError("method", name, METHODS)
    module, cls_name = spec.target.split(":")
    cls = getattr(importlib.import_module(module), cls_name)
    opts = {**spec.preset, **options}
    bad = _accepts(cls, opts)
    if bad:
        raise ConfigError(f"method {name!r} does not take option(s) {', '.join(bad)}")
    try:
        method: Method = cls(**opts)
    except TypeError as exc:  # a wrong option type deep in a constructor
        raise ConfigError(f"method {name!r}: {exc}") from exc
    if getattr(method, "name", None) != name:
        try:
            method.name = name  # ablations share one class; records need the registry name
        except AttributeError as exc:
            raise ConfigError(f"method {name!r}: cannot set its name") from exc
    return method


__all__ = ["METHODS", "SPECS", "MethodSpec", "get_method"]
