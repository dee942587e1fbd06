"""The interface of a retriever over one user's profile."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from r2p.tasks import Task
from r2p.types import ProfileItem, Retrieved


@runtime_checkable
class Retriever(Protocol):
    """Ranks a user's profile items for a query.

    Deterministic: ties are broken by profile order. ``k`` larger than the profile returns the
    whole profile ranked; ``k = 0`` returns ``[]``.
    """

    name: str

    def retrieve(
        self, query: str, profile: list[ProfileItem], k: int, task: Task
    ) -> list[Retrieved]: ...


__all__ = ["Retriever"]
