"""The records.jsonl line model and its published JSON schema, against real runs' records."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from r2p.records import RunRecord, main, record_schema, schema_text
from r2p.runner.config import build_config
from r2p.runner.experiment import run_experiment
from r2p.runner.resources import Resources

REPO = Path(__file__).resolve().parents[1]
SCHEMA_FILE = REPO / "docs" / "schema" / "records.schema.json"
HRT_REPLY = ("Stage 1 - Task: say it the user's way.\n"
             "Stage 2 - Profile: [P1] writes short and upbeat.\n"
             "Stage 3 - Response: Sunny California, I love you.</think>4")


def schema_validator() -> Callable[[dict[str, Any]], list[str]]:
    """The schema's errors for one instance: by ``jsonschema`` or ``jsonschema_rs`` when one is
    installed, else by the model the schema is generated from."""
    schema = record_schema()
    try:
        import jsonschema

        v = jsonschema.Draft202012Validator(schema)
        return lambda inst: [e.message for e in v.iter_errors(inst)]
    except ImportError:
        pass
    try:
        import jsonschema_rs

        rs = jsonschema_rs.validator_for(schema)
        return lambda inst: [str(e) for e in rs.iter_errors(inst)]
    except ImportError:
        pass

    def by_model(inst: dict[str, Any]) -> list[str]:
        try:
            RunRecord.model_validate(inst)
        except ValidationError as exc:
            return [str(e) for e in exc.errors()]
        return []

    return by_model


def test_committed_schema_is_the_models() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "docs/schema/records.schema.json is stale: run `make schema`")


def test_schema_command_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--schema"]) == 0
    assert capsys.readouterr().out == schema_text()
    assert main([]) == 2


@pytest.fixture(scope="module")
def run_lines(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """records.jsonl lines of real runs (fake backend): every method on a label and a text
    task."""
    root = tmp_path_factory.mktemp("records")
    res = Resources()
    lines: list[str] = []
    try:
        for task in ("LaMP_3", "LaMP_7"):
            for method in ("direct", "rag", "think", "hrt_rpi", "r2p", "r2p_llm"):
                cfg = build_config({
                    "task": task, "data": shared_data, "method": method, "k": 2, "limit": 2,
                    "backend": "fake", "model": "fake-model",
                    "backend_options": {"replies": {"": HRT_REPLY}},
                    # RPI only cuts by default: corrections on, so the trace holds them too
                    "method_options": ({"max_interventions": 2}
                                       if method in ("hrt_rpi", "r2p", "r2p_llm") else {}),
                    "out": root / f"{task}-{method}"})
                result = run_experiment(cfg, resources=res, progress=False)
                assert result.ok
                lines += (cfg.out / "records.jsonl").read_text(encoding="utf-8").splitlines()
    finally:
        res.close()
    return lines


def test_written_records_validate_against_the_schema(run_lines: list[str]) -> None:
    errors_of = schema_validator()
    assert len(run_lines) == 24
    kinds: set[str] = set()
    for line in run_lines:
        inst = json.loads(line)
        assert errors_of(inst) == [], inst["id"]
        kinds |= {ev["type"] for ev in inst["trace"]}
    assert kinds == {"segment", "check", "intervention", "candidate", "decision"}


def test_written_lines_are_the_models_json(run_lines: list[str]) -> None:
    for line in run_lines:
        rec = RunRecord.model_validate(json.loads(line))
        assert rec.to_json() == line


def test_schema_refuses_drift(run_lines: list[str]) -> None:
    errors_of = schema_validator()
    rec = json.loads(next(x for x in run_lines if '"intervention"' in x))
    drifted = [
        {**rec, "wal_s": 1.0},  # unknown field
        {k: v for k, v in rec.items() if k != "truncated"},  # missing field
        {**rec, "n_calls": "2"},  # wrong type
        {**rec, "trace": [*rec["trace"], {"type": "note", "text": "x"}]},  # unknown event
        {**rec, "trace": [{**ev, "thenn": ev["then"]} if ev["type"] == "intervention" else ev
                          for ev in rec["trace"]]},  # misspelled event field
    ]
    for bad in drifted:
        assert errors_of(bad), bad.keys()
        with pytest.raises(ValidationError):
            RunRecord.model_validate(bad)
