"""The task registry: everything r2p knows about each LaMP task, in one table.

A :class:`Task` says what kind of output the task wants (classification, rating, generation),
its label set, which profile fields every item must carry, which text retrieval indexes, how the
retrieval query is cut out of the input (as the reference code does), which profile field holds
the user's own "output" (the tag, score, title...), the prompt-template family, and the metrics.

Example:
    >>> from r2p.tasks import get_task
    >>> get_task("LaMP_3").labels
    ('1', '2', '3', '4', '5')
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from r2p.registry import Entry, Registry
from r2p.types import ProfileItem

Kind = Literal["classification", "rating", "generation"]
Family = Literal["classification", "rating", "short_generation", "paraphrase", "generic"]

MOVIE_TAGS: tuple[str, ...] = (
    "sci-fi", "based on a book", "comedy", "action", "twist ending", "dystopia", "dark comedy",
    "classic", "psychology", "fantasy", "romance", "thought-provoking", "social commentary",
    "violence", "true story",
)
NEWS_CATEGORIES: tuple[str, ...] = (
    "women", "religion", "politics", "style & beauty", "entertainment", "culture & arts", "sports",
    "science & technology", "travel", "business", "crime", "education", "healthy living",
    "parents", "food & drink",
)

_QUOTED_REFS = re.compile(r'\[1\]:\s*"(.*?)"\s*\[2\]:\s*"(.*?)"\s*$', re.DOTALL)


def _after(marker: str) -> Callable[[str], str]:
    """Query = the text after the first occurrence of ``marker`` (whole input if absent)."""

    def cut(text: str) -> str:
        i = text.find(marker)
        return text[i + len(marker):].strip() if i >= 0 else text.strip()

    return cut


def _lamp1_query(text: str) -> str:
    """LaMP-1: the two quoted candidate reference titles, joined by a space."""
    m = _QUOTED_REFS.search(text)
    if m is None:
        return text.strip()
    return f"{m.group(1)} {m.group(2)}"


def _lamp1_reversed(text: str) -> str | None:
    """LaMP-1 with its two candidate references in the other order (None if not found)."""
    m = _QUOTED_REFS.search(text)
    if m is None:
        return None
    return f'{text[:m.start()]}[1]: "{m.group(2)}" [2]: "{m.group(1)}"'


def _joined(*fields: str) -> Callable[[ProfileItem], str]:
    def text(item: ProfileItem) -> str:
        return " ".join(str(item.get(f, "")) for f in fields).strip()

    return text


@dataclass(frozen=True)
class Task:
    """One LaMP task.

    Attributes:
        name: registry name, e.g. ``"LaMP_7"``.
        title: human name.
        kind: ``classification`` | ``rating`` | ``generation``.
        family: prompt-template family (``classification``, ``rating``, ``short_generation``,
            ``paraphrase``, ``generic``).
        labels: the valid outputs for classification and rating; ``None`` for generation.
        profile_fields: fields every profile item must carry (besides ``id``).
        output_field: the profile field holding the user's own output (tag, score, title...),
            or ``None`` (LaMP-1, LaMP-7 items are only texts).
        metrics: official metric keys, in order.
        format_hint: the required output format, in words (used by prompts and checks).
        official_name: the ``task`` value of official outputs files.
        reorder: for tasks whose labels name the positions of options listed in the input
            (LaMP-1's ``[1]``/``[2]``): the input with those options in reverse order, so that
            label ``labels[i]`` there means ``labels[-1 - i]`` here (None when the input does
            not list them); ``None`` for every other task.
    """

    name: str
    title: str
    kind: Kind
    family: Family
    labels: tuple[str, ...] | None
    profile_fields: tuple[str, ...]
    output_field: str | None
    metrics: tuple[str, ...]
    format_hint: str
    official_name: str
    index_text: Callable[[ProfileItem], str]
    query: Callable[[str], str]
    reorder: Callable[[str], str | None] | None = None

    def __repr__(self) -> str:  # the callables make the default repr noisy
        return f"Task({self.name!r})"


_CLS = ("accuracy", "f1")
_RATE = ("MAE", "RMSE")
_GEN = ("rouge-1", "rouge-L")

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task("LaMP_1", "citation identification", "classification", "classification",
             ("[1]", "[2]"), ("title", "abstract"), None, _CLS,
             "exactly one of [1] or [2], nothing else", "LaMP_1",
             _joined("title", "abstract"), _lamp1_query, _lamp1_reversed),
        Task("LaMP_2", "movie tagging", "classification", "classification",
             MOVIE_TAGS, ("description", "tag"), "tag", _CLS,
             "exactly one tag from the list, written as in the list, nothing else", "LaMP_2",
             _joined("description"), _after("description:")),
        Task("LaMP_2N", "news categorization", "classification", "classification",
             NEWS_CATEGORIES, ("title", "text", "category"), "category", _CLS,
             "exactly one category from the list, written as in the list, nothing else",
             "LaMP_2", _joined("title", "text"), _after("article:")),
        Task("LaMP_3", "product rating", "rating", "rating",
             ("1", "2", "3", "4", "5"), ("text", "score"), "score", _RATE,
             "a single digit from 1 to 5, nothing else", "LaMP_3",
             _joined("text"), _after("review:")),
        Task("LaMP_4", "news headline generation", "generation", "short_generation",
             None, ("title", "text"), "title", _GEN,
             "one headline on a single line, no quotes, no explanation", "LaMP_4",
             _joined("title", "text"), _after("article:")),
        Task("LaMP_5", "scholarly title generation", "generation", "short_generation",
             None, ("title", "abstract"), "title", _GEN,
             "one paper title on a single line, no quotes, no explanation", "LaMP_5",
             _joined("title", "abstract"), _after(":")),
        Task("LaMP_6", "email subject generation", "generation", "short_generation",
             None, ("title", "text"), "title", _GEN,
             "one email subject on a single line, no quotes, no explanation", "LaMP_6",
             _joined("text"), _after(":")),
        Task("LaMP_7", "tweet paraphrasing", "generation", "paraphrase",
             None, ("text",), None, _GEN,
             "the paraphrased tweet on a single line, no quotes, no explanation", "LaMP_7",
             _joined("text"), _after(":")),
    )
}


#: Item fields that are bookkeeping, not the user's words (left out of the indexed text).
_GENERIC_META = frozenset({"id", "timestamp", "date"})


def _generic_text(item: ProfileItem) -> str:
    """A free-form item's text: ``text`` first, then every other text or number field, in
    the item's order (bookkeeping fields such as ``id`` and ``timestamp`` left out)."""
    parts = [str(item.get("text", ""))]
    for key, value in item.items():
        if key in _GENERIC_META or key == "text" or isinstance(value, bool):
            continue
        if isinstance(value, (str, int, float)):
            parts.append(f"{key}: {value}")
    return " ".join(" ".join(parts).split())


def _whole(text: str) -> str:
    return text.strip()


GENERIC = Task(
    "generic", "personalized response", "generation", "generic",
    None, ("text",), None, _GEN,
    "the response itself, written for this user, with no preamble", "generic",
    _generic_text, _whole)
"""The generic personalized-response family: answer any request for one user, from profile
items that carry a ``text`` and any other fields. Not a LaMP task (not in :data:`TASKS`); the
retrieval query is the whole request and every text field of an item is indexed."""


def _entry(task: Task) -> Entry:
    def build() -> Task:
        return task

    return Entry(task.name, build, summary=task.title)


def _key(name: str) -> str:
    return name.strip().replace("-", "_").lower()


REGISTRY: Registry[Task] = Registry(
    "task", [*(_entry(t) for t in TASKS.values()), _entry(GENERIC)], key=_key)
"""The task registry: the LaMP tasks of :data:`TASKS`, then :data:`GENERIC`. Names are matched
ignoring case and surrounding spaces, with ``-`` read as ``_``."""


def get_task(name: str) -> Task:
    """Look a task up by name (``LaMP_7``; ``LaMP-7`` and ``lamp_7`` are accepted too), or
    ``generic`` for :data:`GENERIC`.

    Raises:
        UnknownNameError: the name is not a known task (the message lists the valid ones).
    """
    return REGISTRY.get(name)


__all__ = ["GENERIC", "MOVIE_TAGS", "NEWS_CATEGORIES", "REGISTRY", "TASKS", "Task", "get_task"]
