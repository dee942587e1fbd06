"""The typed trace events: what CallLog.event accepts, and the dicts it puts in the trace."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from r2p.methods.common import CallLog
from r2p.methods.r2p import corrections
from r2p.trace import (
    EVENT_TYPES,
    TRACE_EVENT,
    Candidate,
    Check,
    Decision,
    Intervention,
    Segment,
    trace_event,
)

SRC = Path(__file__).resolve().parents[1] / "src" / "r2p"

ONE_OF_EACH = [
    {"type": "segment", "stage": 2, "text": "Stage 2 - [P1] likes jazz.", "tokens": 9,
     "finish_reason": "abort", "candidate": 1},
    {"type": "segment", "stage": None, "part": "answer", "text": "4", "forced": True,
     "tokens": 1, "finish_reason": "stop"},
    {"type": "check", "name": "thought_closed", "ok": True, "stage": None, "value": True,
     "detail": "closed by the model"},
    {"type": "check", "name": "grounding", "ok": True, "stage": None, "value": 0.25,
     "detail": "profile grounding 0.25 over 2 items"},
    {"type": "intervention", "reason": "loop", "position": 120, "text": "I will move on.",
     "then": "next_stage", "candidate": 0},
    {"type": "candidate", "index": 0, "answer": "4", "format_ok": True, "support": 0.5,
     "reasoning": "...", "interventions": 1, "closed_by": "cap",
     "distribution": {"4": 0.7, "5": 0.3}},
    {"type": "decision", "how": "distribution", "chosen": 0, "answer": "4",
     "distribution": {"4": 0.7, "5": 0.3}, "detail": "1 thought(s)"},
]


@pytest.mark.parametrize("d", ONE_OF_EACH, ids=lambda d: f"{d['type']}-{len(d)}")
def test_event_dict_round_trips_with_keys_in_the_given_order(d: dict[str, object]) -> None:
    fields = {k: v for k, v in d.items() if k != "type"}
    ev = trace_event(str(d["type"]), **fields)
    assert isinstance(ev, EVENT_TYPES[str(d["type"])])
    out = ev.to_dict(order=fields)
    assert out == d and list(out) == list(d)
    # types kept exactly: True stays a bool, 0.25 a float
    assert [type(v) for v in out.values()] == [type(v) for v in d.values()]
    assert TRACE_EVENT.validate_python(out) == ev


def test_optional_fields_stay_absent_and_defaults_are_not_written() -> None:
    ev = trace_event("check", name="loop", ok=True, detail="no loop", stage=None)
    assert isinstance(ev, Check) and ev.value is None and ev.candidate is None
    assert ev.to_dict() == {"type": "check", "name": "loop", "ok": True, "detail": "no loop",
                            "stage": None}
    assert Segment(stage=1, text="x", tokens=1, finish_reason="stop").to_dict()["type"] == \
        "segment"


@pytest.mark.parametrize("type_, fields, error", [
    ("chek", {"name": "loop", "ok": True, "detail": "", "stage": None}, "union_tag_invalid"),
    ("check", {"name": "loop", "ok": True, "detial": "", "stage": None}, "extra_forbidden"),
    ("check", {"name": "loop", "ok": True, "detail": ""}, "missing"),
    ("check", {"name": "loop", "ok": "yes", "detail": "", "stage": None}, "bool_type"),
    ("segment", {"stage": None, "text": "x", "tokens": "3", "finish_reason": "stop"},
     "int_type"),
    ("segment", {"stage": None, "text": "x", "tokens": 3, "finish_reason": "stop",
                 "part": "answr"}, "literal_error"),
    ("intervention", {"reason": "loop", "position": 3, "text": "", "then": "stop"},
     "literal_error"),
    ("candidate", {"index": 0, "answer": "4", "format_ok": True, "support": 0.5,
                   "reasoning": "", "interventions": 0, "closed_by": "timeout"},
     "literal_error"),
    ("decision", {"how": "guess", "chosen": 0, "answer": "4", "detail": ""}, "literal_error"),
])
def test_bad_events_fail(type_: str, fields: dict[str, object], error: str) -> None:
    with pytest.raises(ValidationError) as info:
        trace_event(type_, **fields)
    assert error in {e["type"] for e in info.value.errors()}


def test_call_log_event_builds_the_typed_event_and_appends_its_dict() -> None:
    log = CallLog()
    ev = log.event("decision", how="single", chosen=0, answer="x", detail="")
    assert isinstance(ev, Decision)
    log.event("candidate", index=0, answer="x", format_ok=True, support=1.0, reasoning="",
              interventions=0, closed_by="model")
    assert log.trace == [
        {"type": "decision", "how": "single", "chosen": 0, "answer": "x", "detail": ""},
        {"type": "candidate", "index": 0, "answer": "x", "format_ok": True, "support": 1.0,
         "reasoning": "", "interventions": 0, "closed_by": "model"}]
    with pytest.raises(ValidationError):
        log.event("decision", how="single", chosen=0, answer="x", detail="", extra=1)
    assert len(log.trace) == 2  # a bad event is not recorded
    assert isinstance(Intervention(reason="copy", position=0, text="", then="close"),
                      Intervention)
    assert Candidate.model_fields["closed_by"].annotation is not None


def test_then_is_the_corrections_then() -> None:
    assert typing.get_args(corrections.Then) == typing.get_args(Intervention.model_fields[
        "then"].annotation)


def _event_calls() -> list[tuple[Path, int, str, dict[str, ast.expr]]]:
    """Every ``*.event("<type>", name=...)`` call in the methods: file, line, type, keywords."""
    calls = []
    for path in sorted((SRC / "methods").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "event" and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                calls.append((path, node.lineno, node.args[0].value,
                              {k.arg: k.value for k in node.keywords if k.arg is not None}))
    return calls


def test_every_event_call_in_the_methods_names_a_type_and_its_fields() -> None:
    """A misspelled type or field, or a constant value a field does not take (a new
    ``part``, ``how``...), fails here even on a path no other test drives."""
    calls = _event_calls()
    assert {t for _p, _l, t, _k in calls} == set(EVENT_TYPES)
    for path, line, type_, keywords in calls:
        where = f"{path.relative_to(SRC)}:{line}"
        assert type_ in EVENT_TYPES, f"{where}: unknown event type {type_!r}"
        fields = EVENT_TYPES[type_].model_fields
        unknown = set(keywords) - set(fields)
        assert not unknown, f"{where}: {type_} has no field(s) {sorted(unknown)}"
        for name, value in keywords.items():
            if isinstance(value, ast.Constant):
                try:
                    TypeAdapter(fields[name].annotation).validate_python(value.value,
                                                                         strict=True)
                except ValidationError as exc:
                    pytest.fail(f"{where}: {type_}.{name} = {value.value!r}: {exc}")
