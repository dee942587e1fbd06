"""Readers and writers for the official LaMP files and for generic JSONL.

Layouts :func:`load_split` understands (``DIR`` is ``--data``; the first that exists wins)::

    DIR/<task>/<split>_questions.json            the shared-data layout (e.g. ../shared/data)
    DIR/<task>/<split>/<split>_questions.json    the official download layout
    DIR/<split>_questions.json                   a folder holding one task's files
    DIR/<split>/<split>_questions.json
    ... and <split>.jsonl in each of those places (generic JSONL)

The time-based split (``time_based=True``) lives in a ``time/`` folder under the task folder,
as on the official server: ``DIR/<task>/time/<split>_questions.json``,
``DIR/<task>/time/<split>/<split>_questions.json`` or ``DIR/time/<split>_questions.json``.
The golds are ``<split>_outputs.json`` beside the questions; the test split has none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from r2p.data.dataset import Dataset
from r2p.data.jsonio import dump_json, load_json, parse_json, read_bytes
from r2p.data.validate import check_gold, record_error, validate_record
from r2p.errors import DataError
from r2p.tasks import Task, get_task
from r2p.types import Sample

SPLITS: tuple[str, ...] = ("train", "dev", "test")


def _task(task: str | Task) -> Task:
    return task if isinstance(task, Task) else get_task(task)


def describe_id_mismatch(expected: Iterable[str], got: Iterable[str], *, expected_name: str,
                         got_name: str, examples: int = 3) -> str | None:
    """Describe how two id sets differ, or return ``None`` when they are equal.

    Example:
        >>> describe_id_mismatch(["1", "2"], ["2", "3"], expected_name="golds", got_name="preds")
        'preds and golds have different ids: 1 missing from preds (e.g. 1), 1 extra in preds (e.g. 3)'
    """
    exp, have = set(expected), set(got)
    if exp == have:
        return None
    missing, extra = sorted(exp - have), sorted(have - exp)
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing from {got_name} (e.g. {', '.join(missing[:examples])})")
    if extra:
        parts.append(f"{len(extra)} extra in {got_name} (e.g. {', '.join(extra[:examples])})")
    return f"{got_name} and {expected_name} have different ids: {', '.join(parts)}"


def read_outputs(path: str | Path) -> tuple[str, dict[str, str]]:
    """Read an official outputs/predictions file ``{"task": "LaMP_k", "golds": [{"id", "output"}]}``.

    Returns:
        ``(task name as written in the file, {id: output})``.

    Raises:
        DataError: unreadable file, invalid JSON, wrong structure or types, duplicate ids.
    """
    path = Path(path)
    doc = load_json(path)
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected an object {{\"task\": ..., \"golds\": [...]}}, got "
                        f"{type(doc).__name__}")
    for key in ("task", "golds"):
        if key not in doc:
            raise DataError(f"{path}: missing top-level field {key!r}")
    if not isinstance(doc["task"], str):
        raise DataError(f"{path}: field 'task' must be a string, got {type(doc['task']).__name__}")
    golds = doc["golds"]
    if not isinstance(golds, list):
        raise DataError(f"{path}: field 'golds' must be a list, got {type(golds).__name__}")
    out: dict[str, str] = {}
    first: dict[str, int] = {}
    for i, rec in enumerate(golds):
        if not isinstance(rec, dict):
            raise record_error(path, i, rec, "golds", f"expected an object, got "
                               f"{type(rec).__name__}", where="golds record")
        for key in ("id", "output"):
            if key not in rec:
                raise record_error(path, i, rec, key, "missing required field",
                                   where="golds record")
            if not isinstance(rec[key], str):
                raise record_error(path, i, rec, key, "must be a string, got "
                                   f"{type(rec[key]).__name__}", where="golds record")
        rid = rec["id"]
        if rid in out:
            raise record_error(path, i, rec, "id", f"duplicate id, first seen at record "
                               f"{first[rid]}", where="golds record")
        out[rid], first[rid] = rec["output"], i
    return doc["task"], out


def _check_task_name(path: Path, name: str, task: Task) -> None:
    if name not in (task.name, task.official_name):
        raise DataError(f"{path}: field 'task' is {name!r} but the task is {task.name} "
                        f"(expected {task.official_name!r})")


def _dataset(samples: list[Sample], task: Task, path: Path, split: str, time_based: bool
             ) -> Dataset:
    # Dataset itself refuses duplicate ids, naming the file and both records.
    return Dataset(task, samples, split, path, time_based)


def load_questions(questions_path: str | Path, task: str | Task,
                   outputs_path: str | Path | None = None, *, split: str | None = None,
                   time_based: bool = False) -> Dataset:
    """Load an official ``<split>_questions.json`` (and optionally its outputs file).

    Args:
        questions_path: the questions file (a JSON list of ``{"id", "input", "profile"}``).
        task: the task (name or :class:`Task`); its ``profile_fields`` are required in each item.
        outputs_path: the golds file; its id set must equal the questions' id set.
        split: the split name to record (default: guessed from the file name, else ``dev``).
        time_based: record that this is the time-based split.

    Raises:
        DataError: any malformed record, with file, record and field named.
        UnknownNameError: unknown task name.
    """
    task = _task(task)
    qpath = Path(questions_path)
    records = load_json(qpath)
    if not isinstance(records, list):
        raise DataError(f"{qpath}: expected a JSON list of question records, got "
                        f"{type(records).__name__}")
    samples = [validate_record(rec, task, qpath, i) for i, rec in enumerate(records)]
    del records
    if split is None:
        stem = qpath.name.split("_questions")[0]
        split = stem if stem in SPLITS else "dev"
    if outputs_path is not None:
        opath = Path(outputs_path)
        name, golds = read_outputs(opath)
        _check_task_name(opath, name, task)
        problem = describe_id_mismatch([s.id for s in samples], golds, expected_name="questions",
                                       got_name="outputs")
        if problem:
            raise DataError(f"{opath}: {problem} ({qpath})")
        for i, (gid, gold) in enumerate(golds.items()):
            check_gold(task, opath, i, gid, gold)
        samples = [Sample(s.id, s.input, s.profile, golds[s.id], s.user_id) for s in samples]
    return _dataset(samples, task, qpath, split, time_based)


def load_jsonl(path: str | Path, task: str | Task, *, split: str = "jsonl") -> Dataset:
    """Load a generic JSONL file: one sample per line.

    Each line is ``{"id": str, "input": str, "profile": [{"id": str, ...task fields}],
    "output": str (optional), "user_id": str (optional)}``; blank lines are skipped.
    Errors name the 1-based line.
    """
    task = _task(task)
    path = Path(path)
    data = read_bytes(path)
    samples: list[Sample] = []
    for lineno, line in enumerate(data.split(b"\n")):
        if not line.strip():
            continue
        rec = parse_json(line, path, line_offset=lineno)
        sample = validate_record(rec, task, path, lineno + 1, where="line", allow_output=True)
        if sample.output is not None:
            check_gold(task, path, lineno + 1, sample.id, sample.output, where="line")
        samples.append(sample)
    outputs = [s.output is not None for s in samples]
    if any(outputs) and not all(outputs):
        i = outputs.index(False)
        raise DataError(f"{path}: sample {samples[i].id!r}: output: missing, while other "
                        "samples have one (give every sample an output or none)")
    return _dataset(samples, task, path, split, False)


def _candidates(task: Task, data_dir: Path, split: str, time_based: bool) -> list[Path]:
    roots = [data_dir / task.name, data_dir]
    if task.name != task.official_name:  # LaMP_2N files may sit in a LaMP_2 folder
        roots.insert(1, data_dir / task.official_name)
    out = []
    for root in roots:
        base = root / "time" if time_based else root
        for folder in (base, base / split):
            out += [folder / f"{split}_questions.json", folder / f"{split}.jsonl"]
    return out


def find_split(task: str | Task, data_dir: str | Path, split: str = "dev", *,
               time_based: bool = False) -> Path:
    """The questions (or JSONL) file :func:`load_split` would read.

    Raises:
        DataError: no file found (the message lists where it looked).
    """
    task, data_dir = _task(task), Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: data folder not found")
    cands = _candidates(task, data_dir, split, time_based)
    for c in cands:
        if c.is_file():
            return c
    looked = ", ".join(str(c.relative_to(data_dir)) for c in cands if c.suffix == ".json")
    kind = "time-based " if time_based else ""
    raise DataError(f"{data_dir}: no {kind}{split} split of {task.name} found (looked for: "
                    f"{looked})")


def load_split(task: str | Task, data_dir: str | Path, split: str = "dev", *,
               time_based: bool = False) -> Dataset:
    """Load one split of a task from a data folder (layouts in the module docstring).

    The golds ``<split>_outputs.json`` beside the questions are read when present (the test
    split has none, so ``has_golds`` is False).

    Example:
        >>> ds = load_split("LaMP_3", Path("../shared/data"), "dev")  # doctest: +SKIP
    """
    task = _task(task)
    qpath = find_split(task, data_dir, split, time_based=time_based)
    if qpath.suffix == ".jsonl":
        ds = load_jsonl(qpath, task, split=split)
        ds.time_based = time_based
        return ds
    opath = qpath.with_name(f"{split}_outputs.json")
    return load_questions(qpath, task, opath if opath.is_file() else None, split=split,
                          time_based=time_based)


def load_path(path: str | Path, task: str | Task, split: str = "dev", *,
              time_based: bool = False) -> Dataset:
    """Load from a folder (:func:`load_split`), a ``.jsonl`` file or a ``*_questions.json`` file
    (its ``*_outputs.json`` sibling is read when present)."""
    path = Path(path)
    if path.is_dir():
        return load_split(task, path, split, time_based=time_based)
    if path.suffix == ".jsonl":
        return load_jsonl(path, task, split=split)
    opath = path.with_name(path.name.replace("_questions", "_outputs"))
    has_out = opath != path and opath.is_file()
    return load_questions(path, task, opath if has_out else None, time_based=time_based)


def write_predictions(path: str | Path, task: str | Task, preds: Mapping[str, str]) -> Path:
    """Write predictions in the official format ``{"task", "golds": [{"id", "output"}]}``.

    The ``task`` value is the task's official name (``LaMP_2`` for LaMP_2N), so the official
    scorer accepts the file. Returns the path.
    """
    task, path = _task(task), Path(path)
    bad = [k for k, v in preds.items() if not isinstance(v, str)]
    if bad:
        raise DataError(f"{path}: prediction for id {bad[0]!r} is not a string")
    dump_json({"task": task.official_name,
               "golds": [{"id": str(k), "output": v} for k, v in preds.items()]}, path)
    return path


def demo_dir() -> Path:
    """The folder of the shipped demo subset (``<TASK>/dev_questions.json`` + outputs)."""
    return Path(__file__).resolve().parents[1] / "demo_data"


__all__ = [
    "SPLITS",
    "demo_dir",
    "describe_id_mismatch",
    "find_split",
    "load_jsonl",
    "load_path",
    "load_questions",
    "load_split",
    "read_outputs",
    "write_predictions",
]
