"""Every validation error path of the readers, each with a real file written to tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from r2p.data import (
    Dataset,
    find_split,
    load_jsonl,
    load_path,
    load_questions,
    load_split,
    read_outputs,
    write_predictions,
)
from r2p.errors import DataError, UnknownNameError
from r2p.tasks import get_task


def _q(i: int, n_items: int = 2, **extra: object) -> dict:
    prof = [{"id": f"{i}{j}", "text": f"tweet {j} of user {i}"} for j in range(n_items)]
    return {"id": str(i), "input": f"Paraphrase the following tweet: hello {i}", "profile": prof,
            **extra}


def _write(path: Path, obj: object) -> Path:
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def _outputs(ids: list[str], task: str = "LaMP_7") -> dict:
    return {"task": task, "golds": [{"id": i, "output": f"gold {i}"} for i in ids]}


def _err(fn, *args, **kw) -> str:
    with pytest.raises(DataError) as exc:
        fn(*args, **kw)
    return str(exc.value)


def test_valid_split_loads_with_golds(tmp_path: Path) -> None:
    d = tmp_path / "LaMP_7"
    d.mkdir()
    _write(d / "dev_questions.json", [_q(1), _q(2, 0)])
    _write(d / "dev_outputs.json", _outputs(["2", "1"]))
    ds = load_split("LaMP_7", tmp_path, "dev")
    assert isinstance(ds, Dataset) and len(ds) == 2 and ds.split == "dev"
    assert ds.has_golds and ds.golds() == {"1": "gold 1", "2": "gold 2"}
    assert ds.n_empty_profiles == 1
    assert ds.get("1").profile[1]["text"] == "tweet 1 of user 1"
    assert [s.id for s in ds] == ["1", "2"]
    with pytest.raises(DataError, match="no sample with id '9'"):
        ds.get("9")


def test_test_split_has_no_golds(tmp_path: Path) -> None:
    _write(tmp_path / "test_questions.json", [_q(1)])
    ds = load_split("LaMP_7", tmp_path, "test")
    assert ds.split == "test" and not ds.has_golds and ds.samples[0].output is None
    assert "no gold outputs" in _err(ds.golds)


def test_official_and_time_layouts(tmp_path: Path) -> None:
    off = tmp_path / "LaMP_7" / "train"
    off.mkdir(parents=True)
    _write(off / "train_questions.json", [_q(1)])
    time = tmp_path / "LaMP_7" / "time"
    time.mkdir()
    _write(time / "dev_questions.json", [_q(5, user_id="u5"), _q(6)])
    assert load_split("LaMP_7", tmp_path, "train").ids == ["1"]
    ds = load_split("LaMP_7", tmp_path, "dev", time_based=True)
    assert ds.time_based and ds.ids == ["5", "6"] and ds.samples[0].user_id == "u5"
    msg = _err(load_split, "LaMP_7", tmp_path, "dev")
    assert "no dev split of LaMP_7" in msg and "LaMP_7/dev_questions.json" in msg
    assert find_split("LaMP_7", tmp_path, "dev", time_based=True) == time / "dev_questions.json"


def test_unknown_task_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match="choose from: LaMP_1"):
        load_split("LaMP_9", tmp_path)
    assert "data folder not found" in _err(load_split, "LaMP_7", tmp_path / "nope")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('[{"id": "1", "input": "x", "profile": []}', "looks truncated"),
        ('[{"id": "1", "input": "x" "profile": []}]', "invalid JSON at line 1, column"),
        ("", "empty file"),
        ('{"id": "1"}', "expected a JSON list of question records, got dict"),
    ],
)
def test_invalid_json(tmp_path: Path, content: str, needle: str) -> None:
    p = tmp_path / "dev_questions.json"
    p.write_text(content, encoding="utf-8")
    msg = _err(load_questions, p, "LaMP_7")
    assert str(p) in msg and needle in msg


def test_non_utf8_file(tmp_path: Path) -> None:
    p = tmp_path / "dev_questions.json"
    p.write_bytes(b'[{"id": "1", "input": "caf' + b"\xe9" + b'", "profile": []}]')
    msg = _err(load_questions, p, "LaMP_7")
    assert "not valid UTF-8 at byte 26" in msg and "0xe9" in msg and str(p) in msg


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "q.json"
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps([_q(1)]).encode())
    assert load_questions(p, "LaMP_7").ids == ["1"]


@pytest.mark.parametrize(
    ("record", "needle"),
    [
        ("just a string", "record 1: record: expected an object, got str"),
        ({"id": "2", "profile": []}, "record 1 (id '2'): input: missing required field"),
        ({"input": "x", "profile": []}, "record 1: id: missing required field"),
        ({"id": 2, "input": "x", "profile": []}, "record 1 (id 2): id: must be a non-empty string"),
        ({"id": "2", "input": ["x"], "profile": []}, "input: must be a string, got list"),
        ({"id": "2", "input": "x", "profile": {}}, "profile: expected a list, got dict"),
        ({"id": "2", "input": "x", "profile": ["t"]}, "profile[0]: expected an object, got str"),
        ({"id": "2", "input": "x", "profile": [{"text": "t"}]},
         "profile[0]: missing field 'id'"),
        ({"id": "2", "input": "x", "profile": [{"id": "a", "text": "t"}, {"id": "b"}]},
         "record 1 (id '2'): profile[1] (id 'b'): missing field 'text' (task LaMP_7 needs text)"),
        ({"id": "2", "input": "x", "profile": [{"id": "a", "text": None}]},
         "field 'text' must be a string, got null"),
        ({"id": "2", "input": "x", "profile": [], "user_id": [1]}, "user_id: must be a string"),
    ],
)
def test_bad_records(tmp_path: Path, record: object, needle: str) -> None:
    p = _write(tmp_path / "dev_questions.json", [_q(1), record])
    msg = _err(load_questions, p, "LaMP_7")
    assert msg.startswith(str(p)) and needle in msg


def test_profile_fields_follow_the_task(tmp_path: Path) -> None:
    p = _write(tmp_path / "dev_questions.json", [_q(1)])
    msg = _err(load_questions, p, "LaMP_3")  # LaMP_3 items need text and score
    assert "missing field 'score' (task LaMP_3 needs text, score)" in msg
    good = [{"id": "1", "input": "x", "profile": [{"id": "a", "text": "t", "score": 4}]}]
    assert load_questions(_write(tmp_path / "q3.json", good), "LaMP_3").samples[0].profile[0][
        "score"] == 4


def test_duplicate_ids(tmp_path: Path) -> None:
    p = _write(tmp_path / "dev_questions.json", [_q(1), _q(2), _q(1)])
    msg = _err(load_questions, p, "LaMP_7")
    assert "record 2 (id '1'): id: duplicate id, first seen at record 0" in msg and str(p) in msg


def test_questions_and_outputs_ids_differ(tmp_path: Path) -> None:
    q = _write(tmp_path / "dev_questions.json", [_q(i) for i in range(1, 6)])
    o = _write(tmp_path / "dev_outputs.json", _outputs(["1", "2", "3", "8", "9"]))
    msg = _err(load_questions, q, "LaMP_7", o)
    assert "2 missing from outputs (e.g. 4, 5)" in msg and "2 extra in outputs (e.g. 8, 9)" in msg


def test_outputs_for_another_task(tmp_path: Path) -> None:
    q = _write(tmp_path / "dev_questions.json", [_q(1)])
    o = _write(tmp_path / "dev_outputs.json", _outputs(["1"], task="LaMP_4"))
    assert "field 'task' is 'LaMP_4' but the task is LaMP_7" in _err(load_questions, q, "LaMP_7", o)


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ([], "expected an object"),
        ({"golds": []}, "missing top-level field 'task'"),
        ({"task": 7, "golds": []}, "field 'task' must be a string"),
        ({"task": "LaMP_7", "golds": {}}, "field 'golds' must be a list"),
        ({"task": "LaMP_7", "golds": [{"id": "1"}]}, "golds record 0 (id '1'): output: missing"),
        ({"task": "LaMP_7", "golds": [{"id": "1", "output": 3}]}, "output: must be a string"),
        ({"task": "LaMP_7", "golds": [{"id": "1", "output": "a"}, {"id": "1", "output": "b"}]},
         "golds record 1 (id '1'): id: duplicate id"),
    ],
)
def test_bad_outputs_files(tmp_path: Path, doc: object, needle: str) -> None:
    p = _write(tmp_path / "dev_outputs.json", doc)
    msg = _err(read_outputs, p)
    assert str(p) in msg and needle in msg


def test_missing_file(tmp_path: Path) -> None:
    assert "file not found" in _err(read_outputs, tmp_path / "none.json")


def test_jsonl_reader(tmp_path: Path) -> None:
    rows = [dict(_q(1), output="a", user_id="u1"), dict(_q(2), output="b")]
    p = tmp_path / "mine.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    ds = load_jsonl(p, "LaMP_7")
    assert ds.golds() == {"1": "a", "2": "b"} and ds.samples[0].user_id == "u1"
    assert load_path(p, "LaMP_7").ids == ["1", "2"]
    p.write_text(json.dumps(rows[0]) + "\n" + '{"id": "3", "input": ', encoding="utf-8")
    msg = _err(load_jsonl, p, "LaMP_7")
    assert "invalid JSON at line 2" in msg and str(p) in msg
    p.write_text(json.dumps(rows[0]) + "\n" + json.dumps({"id": "3", "input": "x"}),
                 encoding="utf-8")
    assert "line 2 (id '3'): profile: missing required field" in _err(load_jsonl, p, "LaMP_7")
    p.write_text(json.dumps(rows[0]) + "\n" + json.dumps(_q(3)), encoding="utf-8")
    assert "sample '3': output: missing" in _err(load_jsonl, p, "LaMP_7")


def test_write_predictions_roundtrip(tmp_path: Path) -> None:
    p = write_predictions(tmp_path / "out" / "preds.json", get_task("LaMP_2N"),
                          {"1": "sports", "2": "crime & é"})
    name, preds = read_outputs(p)
    assert name == "LaMP_2" and preds == {"1": "sports", "2": "crime & é"}
    assert "is not a string" in _err(write_predictions, tmp_path / "x.json", "LaMP_7", {"1": 2})


@pytest.mark.parametrize("parser", ["json", "orjson", "msgspec"])
@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b'[{"id": "1", "input": "x", "profile": []}', "looks truncated"),
        (b'[{"id": "1", "input": "x" "profile": []}]', "invalid JSON at line 1, column 27"),
        (b'[\n{"id": "1", "input": "caf\xe9", "profile": []}]', "not valid UTF-8 at byte 27 (line 2)"),
    ],
)
def test_every_parser_reports_the_same_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           parser: str, content: bytes, needle: str) -> None:
    import importlib

    import r2p.data.jsonio as jio

    mod = importlib.import_module(parser)
    loads = mod.json.decode if parser == "msgspec" else mod.loads
    monkeypatch.setattr(jio, "_LOADS", loads)
    p = tmp_path / "dev_questions.json"
    p.write_bytes(content)
    assert needle in _err(load_questions, p, "LaMP_7")
    p.write_text(json.dumps([_q(1)]), encoding="utf-8")
    assert load_questions(p, "LaMP_7").ids == ["1"]


def test_rating_golds_must_be_numbers_jsonl(tmp_path: Path) -> None:
    lines = [{"id": "1", "input": "review: fine", "profile": [], "output": "4"},
             {"id": "2", "input": "review: meh", "profile": [], "output": "four"}]
    p = tmp_path / "r.jsonl"
    p.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    msg = _err(load_jsonl, p, "LaMP_3")
    assert "r.jsonl: line 2 (id '2'): output: a LaMP_3 gold must be a number, got 'four'" in msg
    lines[1]["output"] = " 3.0 "
    p.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    assert [s.output for s in load_jsonl(p, "LaMP_3").samples] == ["4", " 3.0 "]


def test_duplicate_profile_item_ids_are_refused(tmp_path: Path) -> None:
    rec = _q(1, 3)
    rec["profile"][2]["id"] = rec["profile"][0]["id"]
    path = _write(tmp_path / "dev_questions.json", [_q(0), rec])
    msg = _err(load_questions, path, "LaMP_7")
    assert "record 1 (id '1'): profile[2] (id '10'): duplicate profile item id (also " \
           "profile[0])" in msg
