"""Validation of raw JSON records into :class:`~r2p.types.Sample` objects.

Every check raises one :class:`DataError` whose message names the file, the record (its 0-based
index and, when readable, its id) and the field, e.g.
``dev_questions.json: record 12 (id '310'): profile[3]: missing field 'abstract'``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from r2p.errors import DataError
from r2p.tasks import Task
from r2p.types import Sample

_SCALAR = (str, int, float)


def _tname(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def record_error(path: Path, index: int, rec: Any, field: str, problem: str,
                 *, where: str = "record") -> DataError:
    """Build the DataError for one bad field of one record."""
    rid = rec.get("id") if isinstance(rec, dict) else None
    who = f"{where} {index}" + (f" (id {rid!r})" if isinstance(rid, (str, int)) else "")
    return DataError(f"{path}: {who}: {field}: {problem}")


def validate_profile(profile: Any, task: Task, path: Path, index: int, rec: Any,
                     *, where: str = "record") -> list[dict[str, Any]]:
    """Check a profile list: items are objects with a unique string ``id`` and the task's
    fields."""
    if not isinstance(profile, list):
        raise record_error(path, index, rec, "profile",
                           f"expected a list, got {_tname(profile)}", where=where)
    fields = task.profile_fields
    seen: dict[str, int] = {}
    for j, item in enumerate(profile):
        if not isinstance(item, dict):
            raise record_error(path, index, rec, f"profile[{j}]",
                               f"expected an object, got {_tname(item)}", where=where)
        iid = item.get("id")
        if not isinstance(iid, str):
            problem = ("missing field 'id'" if "id" not in item
                       else f"'id' must be a string, got {_tname(iid)}")
            raise record_error(path, index, rec, f"profile[{j}]", problem, where=where)
        if iid in seen:
            raise record_error(path, index, rec, f"profile[{j}] (id {iid!r})",
                               f"duplicate profile item id (also profile[{seen[iid]}])",
                               where=where)
        seen[iid] = j
        for f in fields:
            v = item.get(f)
            if not isinstance(v, _SCALAR) or isinstance(v, bool):
                problem = (f"missing field {f!r} (task {task.name} needs "
                           f"{', '.join(fields)})" if f not in item
                           else f"field {f!r} must be a string, got {_tname(v)}")
                raise record_error(path, index, rec, f"profile[{j}] (id {iid!r})", problem,
                                   where=where)
    return profile


def check_gold(task: Task, path: Path, index: int, sample_id: str, gold: str,
               *, where: str = "golds record") -> None:
    """A gold the task's metric can score: for ratings, a finite number.

    Raises:
        DataError: naming the file, the record (index and id) and the field ``output``.
    """
    if task.kind != "rating":
        return
    try:
        ok = math.isfinite(float(gold.strip()))
    except ValueError:
        ok = False
    if not ok:
        raise DataError(f"{path}: {where} {index} (id {sample_id!r}): output: a {task.name} "
                        f"gold must be a number, got {gold!r}")


def validate_record(rec: Any, task: Task, path: Path, index: int, *, where: str = "record",
                    allow_output: bool = False) -> Sample:
    """Turn one raw question record into a :class:`Sample`, or raise a :class:`DataError`.

    Args:
        rec: the parsed JSON value.
        task: the task whose profile fields are required.
        path: the file (for messages).
        index: the record's 0-based index (or line number for JSONL, with ``where="line"``).
        where: the word naming the record in messages (``record`` or ``line``).
        allow_output: also read the optional ``output`` and ``user_id`` fields (generic JSONL).
    """
    if not isinstance(rec, dict):
        raise record_error(path, index, rec, "record", f"expected an object, got {_tname(rec)}",
                           where=where)
    for key in ("id", "input", "profile"):
        if key not in rec:
            raise record_error(path, index, rec, key, "missing required field", where=where)
    sid, text = rec["id"], rec["input"]
    if not isinstance(sid, str) or not sid:
        raise record_error(path, index, rec, "id",
                           f"must be a non-empty string, got {_tname(sid)} {sid!r}", where=where)
    if not isinstance(text, str):
        raise record_error(path, index, rec, "input", f"must be a string, got {_tname(text)}",
                           where=where)
    profile = validate_profile(rec["profile"], task, path, index, rec, where=where)
    user_id = rec.get("user_id")
    if user_id is not None and not isinstance(user_id, (str, int)):
        raise record_error(path, index, rec, "user_id",
                           f"must be a string, got {_tname(user_id)}", where=where)
    output = None
    if allow_output:
        output = rec.get("output")
        if output is not None and not isinstance(output, str):
            raise record_error(path, index, rec, "output",
                               f"must be a string, got {_tname(output)}", where=where)
    return Sample(sid, text, profile, output, None if user_id is None else str(user_id))


__all__ = ["check_gold", "record_error", "validate_profile", "validate_record"]
