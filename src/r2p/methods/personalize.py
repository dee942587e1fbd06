"""``personalize()``: one input, one user profile, one personalized answer.

The library entry point for a single query: validate the profile against the task's fields,
retrieve k items, run the method, return the full :class:`~r2p.types.Prediction` (answer,
reasoning, trace, usage).

Example:
    >>> from r2p.backends.fake import FakeBackend
    >>> profile = [{"id": "1", "text": "Loved it", "score": "5"}]
    >>> pred = personalize("What is the score? review: great", profile, task="LaMP_3",
    ...                    method="rag", backend=FakeBackend(["5"]), k=1)
    >>> pred.answer, pred.retrieved_ids
    ('5', ['1'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from r2p.backends.base import Backend
from r2p.errors import ConfigError, DataError
from r2p.retrieval.base import Retriever, check_k, retrieve_sample
from r2p.tasks import Task, get_task
from r2p.types import Prediction, ProfileItem, Retrieved, Sample

DEFAULT_BACKEND = "llamacpp"
"""Backend used when none is given: the embedded llama.cpp engine (default model smollm2)."""


def validate_profile(profile: Any, task: Task, *, source: str = "profile") -> list[ProfileItem]:
    """Check that ``profile`` is a list of items carrying the task's fields.

    Items without an ``id`` get their 0-based position as id (``"0"``, ``"1"``...); ids are
    turned into strings. The input is not modified.

    Args:
        profile: the profile (a list of dicts).
        task: the task whose ``profile_fields`` every item must carry.
        source: what to call the profile in error messages (e.g. a file name).

    Returns:
        A new list of new dicts.

    Raises:
        DataError: not a list, an item not an object, a missing or non-text field, or a
            duplicate id; the message names the source, the item and the field.
    """
    if not isinstance(profile, (list, tuple)):
        raise DataError(f"{source}: expected a list of profile items, got "
                        f"{type(profile).__name__}")
    items: list[ProfileItem] = []
    seen: set[str] = set()
    for i, raw in enumerate(profile):
        if not isinstance(raw, dict):
            raise DataError(f"{source}: item {i} is {type(raw).__name__}, expected an object "
                            f"with fields {', '.join(task.profile_fields)}")
        item = dict(raw)
        item["id"] = str(item.get("id", i))
        for f in task.profile_fields:
            value = item.get(f)
            if value is None:
                raise DataError(f"{source}: item {i} (id {item['id']!r}) lacks field {f!r} "
                                f"required by {task.name} ({', '.join(task.profile_fields)})")
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise DataError(f"{source}: item {i} (id {item['id']!r}) field {f!r} must be "
                                f"text, got {type(value).__name__}")
        if item["id"] in seen:
            raise DataError(f"{source}: item {i} repeats id {item['id']!r}")
        seen.add(item["id"])
        items.append(item)
    return items


def _retrieve(task: Task, sample: Sample, k: int, retriever: str | Retriever) -> list[Retrieved]:
    """The sample's top ``k`` items, as a run retrieves them (:func:`retrieve_sample`: the
    task's query, the sample id as ``query_id``). A retriever name is built only when ``k`` > 0,
    as runs do."""
    if k == 0:
        return []
    if isinstance(retriever, str):
        from r2p.retrieval import get_retriever  # loaded on use

        retriever = get_retriever(retriever)
    return retrieve_sample(retriever, sample, k, task)


def personalize(
    input: str,
    profile: Sequence[ProfileItem],
    *,
    task: str | Task,
    method: str | Any = "r2p",
    backend: Backend | None = None,
    k: int = 4,
    retriever: str | Retriever = "bm25",
    sample_id: str = "query",
    **method_opts: Any,
) -> Prediction:
    """Personalize one ``input`` for the user whose history is ``profile``.

    Args:
        input: the task input, worded as the task's data words it (e.g. LaMP-7:
            ``"Paraphrase the following tweet without any explanation before or after it: ..."``).
        profile: the user's profile items (dicts with the task's fields; ``id`` optional).
        task: task name (``"LaMP_7"``) or :class:`~r2p.tasks.Task`.
        method: a registry name (``direct``, ``rag``, ``think``, ``hrt``, ``hrt_rpi``, ``r2p``,
            ``r2p_llm``) or a built :class:`~r2p.methods.base.Method`.
        backend: the engine; default the embedded llama.cpp model (built here and closed
            after the call).
        k: profile items to retrieve (0: none; the ``direct`` method never uses any).
        retriever: a retriever name (``bm25``, ``recency``, ``random``, ``dense``, ``none``)
            or a built retriever (``ranking`` needs one: ``get_retriever("ranking",
            path=...)``). Retrieval is a run's: the task's query cut out of ``input`` and
            ``sample_id`` as the query id, so a run over the same sample retrieves the same
            items.
        sample_id: the id recorded in the prediction (and the retrieval's query id: ``random``
            is seeded by it, ``ranking`` looks it up).
        **method_opts: options of the method (see :func:`r2p.methods.registry.get_method`).

    Returns:
        The :class:`~r2p.types.Prediction`.

    Raises:
        DataError: the profile does not fit the task.
        ConfigError / UnknownNameError: bad k, method, retriever or option.
        BackendError: the engine failed.
    """
    from r2p.methods.registry import get_method

    t = task if isinstance(task, Task) else get_task(task)
    if not isinstance(input, str) or not input.strip():
        raise DataError("input: the task input is empty")
    check_k(k)
    items = validate_profile(profile, t)
    m = get_method(method, **method_opts) if isinstance(method, str) else method
    if method_opts and not isinstance(method, str):
        raise ConfigError("method options are only accepted with a method name")
    sample = Sample(id=sample_id, input=input, profile=items)
    retrieved = [] if m.name == "direct" else _retrieve(t, sample, k, retriever)
    own = backend is None
    if backend is None:
        from r2p.backends.registry import get_backend

        backend = get_backend(DEFAULT_BACKEND)
    try:
        return m.predict(sample, t, retrieved, backend)
    finally:
        if own:
            backend.close()


__all__ = ["DEFAULT_BACKEND", "personalize", "validate_profile"]
