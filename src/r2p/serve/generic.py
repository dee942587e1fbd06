"""Free-form requests: the generic personalized-response family (:data:`r2p.tasks.GENERIC`)
for the methods built on rag's prompt.

R2P's methods read the family's HRT template (``prompts/hrt_generic.<version>.txt``). ``rag``,
``think`` and ``direct`` build the reference LaMP prompt, whose shot format exists per LaMP task
only; for the generic family they get :class:`GenericShots`, which lists the retrieved items
(each cut to :data:`ITEM_WORDS` words) before the request. :func:`for_task` applies it to a
method built by the registry, so every other behaviour stays the registry's.

Example:
    >>> from r2p.methods.registry import get_method
    >>> from r2p.tasks import GENERIC
    >>> from r2p.types import Retrieved, Sample
    >>> m = for_task(get_method("rag"), GENERIC)
    >>> print(m.prompt(Sample("q", "Plan my Sunday.", []), GENERIC,
    ...                [Retrieved({"id": "1", "text": "I climb every weekend."}, 1.0, 0)]))
    Items from this user's history:
    - I climb every weekend.
    <BLANKLINE>
    Plan my Sunday.
"""

from __future__ import annotations

from typing import Any

from r2p.methods.base import Method
from r2p.methods.rag import RAGMethod
from r2p.tasks import Task
from r2p.types import Retrieved, Sample

ITEM_WORDS = 48
"""Each retrieved item is cut to this many words in rag's generic prompt."""


def _cut(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


class GenericShots:
    """Rag's prompt for the generic family: the retrieved items as a list, then the request.

    A mixin over :class:`~r2p.methods.rag.RAGMethod` and its subclasses; any other family
    keeps the reference prompt.
    """

    def prompt(self, sample: Sample, task: Task, retrieved: list[Retrieved]) -> str:
        """The user prompt for ``sample``."""
        if task.family != "generic":
            return str(super().prompt(sample, task, retrieved))  # type: ignore[misc]
        if not retrieved:
            return sample.input
        lines = "\n".join(f"- {_cut(task.index_text(r.item), ITEM_WORDS)}" for r in retrieved)
        return f"Items from this user's history:\n{lines}\n\n{sample.input}"


_CLASSES: dict[type[Any], type[Any]] = {}


def _generic_class(cls: type[Any]) -> type[Any]:
    """``cls`` with :class:`GenericShots` first (one subclass per class, made once)."""
    if cls not in _CLASSES:
        _CLASSES[cls] = type(cls.__name__, (GenericShots, cls),
                             {"__module__": cls.__module__, "__doc__": cls.__doc__})
    return _CLASSES[cls]


def for_task(method: Method, task: Task) -> Method:
    """``method``, able to prompt for ``task``'s family (rag-based methods get
    :class:`GenericShots` for the generic family; the object is adapted in place)."""
    if task.family == "generic" and isinstance(method, RAGMethod) \
            and not isinstance(method, GenericShots):
        method.__class__ = _generic_class(type(method))
    return method


__all__ = ["ITEM_WORDS", "GenericShots", "for_task"]
