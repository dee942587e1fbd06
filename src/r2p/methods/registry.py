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
(``get_method("r2p", n_candidates=5)``); an option a method does not take is a ConfigError,
from the one option check of :class:`~r2p.registry.Registry` (:data:`REGISTRY`): R2P's options
are the fields of :class:`~r2p.methods.r2p.config.R2PConfig`, checked there before the method
is built.

Example:
    >>> get_method("rag", max_prompt_tokens=256).name
    'rag'
"""

from __future__ import annotations

from typing import Any

from r2p.errors import ConfigError
from r2p.methods.base import Method
from r2p.registry import Entry, Registry

MethodSpec = Entry
"""Where a method lives and the options it is built with: a :class:`~r2p.registry.Entry`
(``name``, ``target``, ``preset``: options passed before the user's, ``summary``, and
``options``: the pydantic model of a method that takes ``**options``)."""

_R2P = "r2p.methods.r2p:R2PMethod"
_R2P_OPTIONS = "r2p.methods.r2p.config:R2PConfig"


def _r2p(name: str, preset: dict[str, Any], summary: str) -> Entry:
    return Entry(name, _R2P, preset=preset, summary=summary, options=_R2P_OPTIONS)


SPECS: dict[str, Entry] = {
    s.name: s
    for s in (
        Entry("direct", "r2p.methods.direct:DirectMethod",
              summary="the task input alone (non-personalized, k = 0)"),
        Entry("rag", "r2p.methods.rag:RAGMethod",
              summary="reference LaMP prompt: k retrieved items as shots before the input"),
        Entry("think", "r2p.methods.think:ThinkMethod",
              summary="rag prompt, then free reasoning in <think>, then the answer"),
        _r2p("hrt", {"hrt": True, "rpi": False, "srm": False},
             "R2P ablation: hierarchical thought template only"),
        _r2p("hrt_rpi", {"hrt": True, "rpi": True, "srm": False},
             "R2P ablation: template + reasoning process intervention"),
        _r2p("r2p", {"hrt": True, "rpi": True, "srm": True},
             "full R2P: template, intervention, self-referencing"),
        _r2p("r2p_llm", {"hrt": True, "rpi": True, "srm": True, "selection": "llm"},
             "full R2P, text candidates picked or merged by one more model call"),
    )
}

REGISTRY: Registry[Method] = Registry("method", SPECS, flag="-m")
"""The method registry (its entries are :data:`SPECS`, by reference)."""

METHODS: tuple[str, ...] = REGISTRY.names()
"""Registry names, in a stable order (baselines first)."""


def get_method(name: str, **options: Any) -> Method:
    """Build the method ``name`` with ``options`` (on top of its preset).

    Args:
        name: one of :data:`METHODS`.
        **options: constructor options of the method class (R2P: the fields of
            :class:`~r2p.methods.r2p.config.R2PConfig`).

    Returns:
        A :class:`~r2p.methods.base.Method`; its ``name`` is the registry name.

    Raises:
        UnknownNameError: ``name`` is not a method (the message lists the valid ones).
        ConfigError: an option the method does not take, or an invalid value.
    """
    method = REGISTRY.get(name, **options)
    if getattr(method, "name", None) != name:
        try:
            method.name = name  # ablations share one class; records need the registry name
        except AttributeError as exc:
            raise ConfigError(f"method {name!r}: cannot set its name") from exc
    return method


__all__ = ["METHODS", "REGISTRY", "SPECS", "MethodSpec", "get_method"]
