"""The interface of a personalization method (direct, rag, think, r2p and its ablations)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from r2p.backends.base import Backend
from r2p.tasks import Task
from r2p.types import Prediction, Retrieved, Sample


@runtime_checkable
class Method(Protocol):
    """A method turns a sample plus its retrieved profile items into a :class:`Prediction`.

    Retrieval happens outside the method (a run shares it across methods); ``retrieved`` is
    already cut to k items in rank order (empty for k = 0).
    """

    name: str

    def predict(
        self, sample: Sample, task: Task, retrieved: list[Retrieved], backend: Backend
    ) -> Prediction: ...


__all__ = ["Method"]
