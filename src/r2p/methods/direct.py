"""``direct``: the task input alone (k = 0), the non-personalized baseline.

It is :class:`~r2p.methods.rag.RAGMethod` with no profile items: the prompt is the input as the
data gives it, in one user message.

Example:
    >>> from r2p.backends.fake import FakeBackend
    >>> from r2p.tasks import get_task
    >>> from r2p.types import Sample
    >>> s = Sample("q1", "Which reference? [1]: \\"A\\" [2]: \\"B\\"", [])
    >>> DirectMethod().predict(s, get_task("LaMP_1"), [], FakeBackend(["[2]"])).answer
    '[2]'
"""

from __future__ import annotations

from r2p.methods.rag import RAGMethod
from r2p.types import Retrieved


class DirectMethod(RAGMethod):
    """``direct``: the task input alone; retrieved items, if passed, are ignored and not
    reported in ``retrieved_ids``. Options as :class:`~r2p.methods.rag.RAGMethod`."""

    name = "direct"

    def used_items(self, retrieved: list[Retrieved]) -> list[Retrieved]:
        """No profile items: direct is non-personalized."""
        return []


__all__ = ["DirectMethod"]
