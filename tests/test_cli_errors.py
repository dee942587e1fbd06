"""Bad input, tried as a new user would: every case is one line ``r2p: error: ...`` on stderr and
exit status 2, before any model loads or is called; never a traceback.

The cases are a table (:data:`CASES`); the README's reliability figures count its rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from r2p.cli.main import main

#: A case builds its argv from (data dir, a scratch dir) and names what the message must say.
Case = tuple[str, Callable[[Path, Path], list[str]], str]


def _run(data: Path, tmp: Path, *extra: str, backend: str = "fake") -> list[str]:
    return ["run", "--task", "LaMP_7", "--data", str(data), "--limit", "2", "--no-progress",
            "--backend", backend, "--out", str(tmp / "run"), *extra]


def _profile(tmp: Path, items: object = None) -> Path:
    p = tmp / "profile.json"
    p.write_text(json.dumps(items if items is not None else [{"id": "1", "text": "hi there"}]))
    return p


def _personalize(tmp: Path, *extra: str) -> list[str]:
    return ["personalize", "--task", "LaMP_7", "--profile", str(_profile(tmp)),
            "--input", "Paraphrase the following tweet without any explanation before or "
            "after it: off to the gym", *extra]


def _foreign_sqlite(tmp: Path) -> Path:
    p = tmp / "other.sqlite"
    with sqlite3.connect(p) as db:
        db.execute("CREATE TABLE notes (x TEXT)")
    return p


def _file(tmp: Path, name: str = "a-file") -> Path:
    p = tmp / name
    p.write_text("not a folder")
    return p


def _dir(tmp: Path, name: str = "a-dir") -> Path:
    p = tmp / name
    p.mkdir()
    return p


def _lamp3(data: Path, tmp: Path, *, gold: str = "4", dup_profile: bool = False) -> Path:
    """A two-query LaMP_3 folder copied from the real data, with one gold or profile spoiled."""
    folder = tmp / "lamp3" / "LaMP_3"
    folder.mkdir(parents=True)
    qs = json.loads((data / "LaMP_3" / "dev_questions.json").read_text())[:2]
    golds = json.loads((data / "LaMP_3" / "dev_outputs.json").read_text())
    by_id = {g["id"]: g["output"] for g in golds["golds"]}
    if dup_profile:
        qs[1]["profile"].append(dict(qs[1]["profile"][0]))
    out = [{"id": q["id"], "output": by_id[q["id"]]} for q in qs]
    out[1]["output"] = gold
    (folder / "dev_questions.json").write_text(json.dumps(qs))
    (folder / "dev_outputs.json").write_text(json.dumps({"task": "LaMP_3", "golds": out}))
    return folder.parent


def _config(tmp: Path, data: Path, extra: str) -> Path:
    p = tmp / "config.yaml"
    p.write_text(f"task: LaMP_7\ndata: {data}\nlimit: 2\n{extra}\n")
    return p


def _a_run(data: Path, tmp: Path) -> Path:
    """A finished run directory (fake backend, two queries)."""
    out = tmp / "done"
    assert main(["run", "--task", "LaMP_7", "--data", str(data), "--limit", "2", "--method",
                 "rag", "--no-progress", "--backend", "fake", "--model", "m", "-b",
                 'replies=["a", "b"]', "--out", str(out)]) == 0
    return out


OPENAI = ["--backend", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"]
LAMP3 = ["--task", "LaMP_3", "--no-progress", "--backend", "fake", "--method", "rag"]

CASES: list[Case] = [
    # -- issue item 5: these used to end in a traceback
    ("method option not an int", lambda d, t: _run(d, t, "-m", "n_candidates=abc"),
     "n_candidates"),
    ("method option not an int (2)", lambda d, t: _run(d, t, "-m", "max_interventions=x"),
     "max_interventions"),
    ("llamacpp threads not an int",
     lambda d, t: _run(d, t, "-b", "threads=abc", backend="llamacpp"), "threads"),
    ("llamacpp parallel not an int",
     lambda d, t: _run(d, t, "-b", "parallel=x", backend="llamacpp"), "parallel"),
    ("llamacpp n_ctx not an int",
     lambda d, t: _run(d, t, "-b", "n_ctx=x", backend="llamacpp"), "n_ctx"),
    ("openai extra_body not a mapping",
     lambda d, t: _run(d, t, *OPENAI[2:], "-b", "extra_body=abc", backend="openai"),
     "extra_body"),
    ("personalize option not an int",
     lambda d, t: _personalize(t, "--backend", "fake", "--opt", "n_candidates=abc"),
     "n_candidates"),
    ("generate openai without --base-url",
     lambda d, t: ["generate", "--backend", "openai", "hi"], "--base-url"),
    ("personalize openai without --base-url",
     lambda d, t: _personalize(t, "--backend", "openai"), "--base-url"),
    ("eval --per-sample is a folder",
     lambda d, t: ["eval", "--golds", str(d / "LaMP_3" / "dev_outputs.json"), "--preds",
                   str(d / "LaMP_3" / "dev_outputs.json"), "--per-sample", str(_dir(t))],
     "is a directory"),
    ("run --out is a file",
     lambda d, t: [*_run(d, t)[:-1], str(_file(t))], "not a directory"),
    ("run --store is somebody else's SQLite file",
     lambda d, t: _run(d, t, "--store", str(_foreign_sqlite(t))), "not an r2p record store"),
    # -- neighbours of those
    ("rag temperature not a number",
     lambda d, t: _run(d, t, "--method", "rag", "-m", "temperature=abc"), "temperature"),
    ("bm25 k1 not a number", lambda d, t: _run(d, t, "-r", "k1=abc"), "k1"),
    ("openai timeout not a number",
     lambda d, t: _run(d, t, *OPENAI[2:], "-b", "timeout=soon", backend="openai"), "timeout"),
    ("openai base URL not http",
     lambda d, t: ["generate", "--backend", "openai", "--model", "m", "--base-url", "gpu:80",
                   "hi"], "not an http"),
    ("unknown backend option",
     lambda d, t: ["generate", "--backend", "openai", "--model", "m", "--base-url",
                   "http://h/v1", "--opt", "colour=red", "hi"], "no option 'colour'"),
    ("run --store is a folder",
     lambda d, t: _run(d, t, "--store", str(_dir(t))), "not a usable r2p record store"),
    ("run --store is a text file",
     lambda d, t: _run(d, t, "--store", str(_file(t, "notes.txt"))), "record store"),
    ("eval --preds missing",
     lambda d, t: ["eval", "--golds", str(d / "LaMP_3" / "dev_outputs.json"), "--preds",
                   str(t / "nope.json")], "nope.json"),
    ("report on a folder that holds no run",
     lambda d, t: ["report", str(_dir(t)), "--out", str(t / "rep")], "a-dir"),
    ("sweep file missing", lambda d, t: ["sweep", str(t / "nope.yaml")], "nope.yaml"),
    ("run --config missing",
     lambda d, t: [*_run(d, t), "--config", str(t / "nope.yaml")], "nope.yaml"),
    # -- issue item 6: these used to be accepted, or refused only after generating
    ("a LaMP_3 gold that is not a number (data)",
     lambda d, t: ["data", "--task", "LaMP_3", "--data", str(_lamp3(d, t, gold="five"))],
     "golds record 1 (id "),
    ("a LaMP_3 gold that is not a number (run)",
     lambda d, t: ["run", *LAMP3, "--data", str(_lamp3(d, t, gold="n/a")), "--out",
                   str(t / "run")], "output: a LaMP_3 gold must be a number, got 'n/a'"),
    ("duplicate profile item ids (data)",
     lambda d, t: ["data", "--task", "LaMP_3", "--data", str(_lamp3(d, t, dup_profile=True))],
     "duplicate profile item id"),
    ("duplicate profile item ids (run)",
     lambda d, t: ["run", *LAMP3, "--data", str(_lamp3(d, t, dup_profile=True)), "--out",
                   str(t / "run")], "dev_questions.json: record 1 (id "),
    ("config backend_options is a list",
     lambda d, t: ["run", "--config", str(_config(t, d, "backend_options: [a, b]")),
                   "--backend", "fake", "--no-progress", "--out", str(t / "run")],
     "backend_options: expected a mapping"),
    ("config k: true",
     lambda d, t: ["run", "--config", str(_config(t, d, "k: true")), "--backend", "fake",
                   "--no-progress", "--out", str(t / "run")], "k: Input should be a valid"),
    ("config seed given as text",
     lambda d, t: ["run", "--config", str(_config(t, d, "seed: '3'")), "--backend", "fake",
                   "--no-progress", "--out", str(t / "run")], "seed"),
    ("report --baseline that names no method",
     lambda d, t: ["report", str(_a_run(d, t)), "--out", str(t / "rep"), "--baseline",
                   "nosuch"], "unknown baseline method 'nosuch'"),
    ("fake backend given an option it does not have",
     lambda d, t: _run(d, t, "-b", "colour=red"), "no option 'colour'"),
    ("generate --temperature -1",
     lambda d, t: ["generate", "--backend", "fake", "--temperature", "-1", "hi"],
     "--temperature"),
    ("generate --top-p 5",
     lambda d, t: ["generate", "--backend", "fake", "--top-p", "5", "hi"], "--top-p"),
    ("personalize profile missing",
     lambda d, t: ["personalize", "--task", "LaMP_7", "--profile", str(t / "nope.json"),
                   "--input", "x", "--backend", "fake"], "nope.json"),
]


@pytest.mark.parametrize("name, build, says", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clean_line(
    name: str, build: Callable[[Path, Path], list[str]], says: str, shared_data: Path,
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(build(shared_data, tmp_path))
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("r2p: error: "), err
    assert "unexpected" not in err and "Traceback" not in err, err
    assert says in lines[0], err
    assert not (tmp_path / "run" / "predictions.json").exists()  # nothing was generated


def test_an_unexpected_exception_is_one_line_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import r2p.cli.eval as ev

    def boom(args: object) -> int:
        raise ValueError("something r2p did not foresee")

    monkeypatch.setattr(ev, "run", boom)
    monkeypatch.delenv("R2P_DEBUG", raising=False)
    assert main(["eval", "--golds", "g", "--preds", "p"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("r2p: error: unexpected ValueError: ")
    monkeypatch.setenv("R2P_DEBUG", "1")
    with pytest.raises(ValueError):
        main(["eval", "--golds", "g", "--preds", "p"])
