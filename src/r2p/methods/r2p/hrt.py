"""HRT, the hierarchical reasoning thought template: versioned prompt files, rendered per task.

A template (``prompts/hrt_<family>.<version>.txt``) asks for a thought in three stages with the
fixed markers of :data:`~r2p.methods.r2p.monitor.STAGE_MARKERS`; it is rendered with the task's
requirements (``task.format_hint``, ``task.labels``) and the retrieved profile items, numbered
``[P1]..[Pk]`` with their text and the user's own output (``task.output_field``).

With a local instruct model the thought is started by prefilling ``<think>\\n`` plus the first
stage marker (:func:`thought_prefill`); with a native reasoning model (``backend.native_reasoning``)
nothing is prefilled and the template alone steers the model's own thinking.

Example:
    >>> from r2p.tasks import get_task
    >>> from r2p.types import Retrieved, Sample
    >>> s = Sample("1", "Paraphrase the following tweet: hi all", [])
    >>> r = [Retrieved({"id": "a", "text": "lol ok"}, 1.0, 0)]
    >>> msgs = hrt_messages(get_task("LaMP_7"), s, r)
    >>> "[P1] lol ok" in msgs[-1]["content"]
    True
"""

from __future__ import annotations

import functools
import importlib.resources
from string import Template

from r2p.errors import ConfigError
from r2p.methods.r2p.monitor import STAGE_MARKERS
from r2p.tasks import Task
from r2p.types import Message, Retrieved, Sample

PROMPT_VERSION = "v3"
ITEM_WORDS = 32
"""Each retrieved item is cut to this many words in the prompt (keeps k = 4 prompts small)."""
SYSTEM = "You are a careful assistant that personalizes answers for one specific user."


@functools.cache
def load_prompt(name: str, version: str = PROMPT_VERSION) -> Template:
    """The prompt file ``prompts/<name>.<version>.txt`` as a :class:`string.Template`.

    Raises:
        ConfigError: no such prompt file (names the file looked for).
    """
    fname = f"{name}.{version}.txt"
    ref = importlib.resources.files("r2p.methods").joinpath("prompts").joinpath(fname)
    try:
        return Template(ref.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"prompt file {fname!r} not found in r2p/methods/prompts") from None


def _cut(text: str, words: int) -> str:
    parts = " ".join(text.split()).split(" ")
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def item_text(task: Task, retrieved: Retrieved, words: int = ITEM_WORDS) -> str:
    """One profile item as the prompt shows it: its indexed text, cut to ``words`` words, and
    the user's own output (``task.output_field``) when the task has one."""
    text = _cut(task.index_text(retrieved.item), words)
    if task.output_field and task.output_field in retrieved.item:
        text += f" -> {task.output_field}: {retrieved.item[task.output_field]}"
    return text


def retrieved_texts(task: Task, retrieved: list[Retrieved]) -> list[str]:
    """The texts grounding is measured against, one per retrieved item, in rank order."""
    return [item_text(task, r) for r in retrieved]


def render_profile(task: Task, retrieved: list[Retrieved], words: int = ITEM_WORDS) -> str:
    """Retrieved items numbered ``[P1]..[Pk]``, one per line ("(none)" when k = 0)."""
    if not retrieved:
        return "(none)"
    return "\n".join(f"[P{i}] {item_text(task, r, words)}" for i, r in enumerate(retrieved, 1))


def _labels_line(task: Task) -> str:
    if not task.labels:
        return ""
    return "Allowed answers: " + ", ".join(task.labels) + "."


def hrt_messages(task: Task, sample: Sample, retrieved: list[Retrieved], *,
                 version: str = PROMPT_VERSION, template: str | None = None) -> list[Message]:
    """The chat messages of the HRT prompt for ``sample``.

    Args:
        task: the task (its ``family`` picks the template).
        sample: the query.
        retrieved: the profile items to show, in rank order.
        version: prompt file version.
        template: a prompt name overriding ``hrt_<family>`` (e.g. ``plain_think``).
    """
    name = template or f"hrt_{task.family}"
    user = load_prompt(name, version).substitute(
        task_title=task.title, format_hint=task.format_hint, labels_line=_labels_line(task),
        profile=render_profile(task, retrieved), input=sample.input.strip(),
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def stated_requirements(task: Task) -> str:
    """Stage 1 as the task registry states it: what is asked and the exact answer format.

    The model is not paid to copy what r2p already knows; this text is prefilled into the
    thought, so it costs prompt tokens only (served from the engine's cache on every later call).

    >>> from r2p.tasks import get_task
    >>> stated_requirements(get_task("LaMP_3"))
    'The task is product rating for this user. The answer must be a single digit from 1 to 5, nothing else. Allowed answers: 1, 2, 3, 4, 5.'
    """
    line = _labels_line(task)
    return (f"The task is {task.title} for this user. The answer must be {task.format_hint}."
            + (f" {line}" if line else ""))


def thought_prefill(hrt: bool = True, task: Task | None = None) -> str:
    """The thought text R2P starts with (after ``<think>\\n``).

    With HRT and a ``task``: stage 1 stated (:func:`stated_requirements`) and the stage 2
    marker, so the model's first generated token is its profile synthesis. With HRT and no task:
    the first stage marker. Nothing for a plain thought.
    """
    if not hrt:
        return ""
    if task is None:
        return STAGE_MARKERS[0] + " "
    return f"{STAGE_MARKERS[0]} {stated_requirements(task)}\n\n{STAGE_MARKERS[1]}"


def select_messages(task: Task, sample: Sample, retrieved: list[Retrieved],
                    candidates: list[str], *, version: str = PROMPT_VERSION) -> list[Message]:
    """SRM's selection prompt: the profile items, the input and the numbered candidates."""
    cands = "\n".join(f"[C{i}] {c}" for i, c in enumerate(candidates, 1))
    user = load_prompt("srm_select", version).substitute(
        task_title=task.title, format_hint=task.format_hint,
        profile=render_profile(task, retrieved), input=sample.input.strip(), candidates=cands,
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


__all__ = [
    "ITEM_WORDS",
    "PROMPT_VERSION",
    "SYSTEM",
    "hrt_messages",
    "item_text",
    "load_prompt",
    "render_profile",
    "retrieved_texts",
    "select_messages",
    "stated_requirements",
    "thought_prefill",
]
