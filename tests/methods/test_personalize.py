"""personalize() and ``r2p personalize`` with the fake backend (real retrieval, real methods).

Budget: about 1 s (no model).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from r2p.backends.fake import FakeBackend
from r2p.cli.main import main
from r2p.errors import ConfigError, DataError, UnknownNameError
from r2p.methods.personalize import personalize, validate_profile
from r2p.tasks import get_task

INPUT7 = "Paraphrase the following tweet without any explanation before or after it: off to the gym"
PROFILE7 = [
    {"id": "t1", "text": "gym time again, legs day"},
    {"id": "t2", "text": "coffee first, always"},
    {"id": "t3", "text": "the gym was packed tonight"},
]
INPUT3 = ("What is the score of the following review on a scale of 1 to 5? just answer with 1, "
          "2, 3, 4, or 5 without further explanation. review: lovely gift card")


def test_personalize_retrieves_with_bm25_and_runs_the_method() -> None:
    fb = FakeBackend(["heading to the gym now"])
    pred = personalize(INPUT7, PROFILE7, task="LaMP_7", method="rag", backend=fb, k=2)
    assert pred.answer == "heading to the gym now" and pred.format_ok
    # bm25 over "off to the gym": the two gym tweets, not the coffee one
    assert sorted(pred.retrieved_ids) == ["t1", "t3"]
    prompt = fb.calls[0]["messages"][-1]["content"]
    assert "gym time again" in prompt and "coffee" not in prompt
    assert prompt.endswith(INPUT7) and "are written by a person" in prompt


def test_personalize_direct_and_k0_retrieve_nothing() -> None:
    fb = FakeBackend(["a", "b"])
    assert personalize(INPUT7, PROFILE7, task="LaMP_7", method="direct", backend=fb,
                       k=4).retrieved_ids == []
    assert personalize(INPUT7, PROFILE7, task="LaMP_7", method="rag", backend=fb,
                       k=0).retrieved_ids == []
    assert fb.calls[1]["messages"][-1]["content"] == INPUT7


def test_personalize_passes_method_options() -> None:
    fb = FakeBackend(["thinking about the gym</think>\nat the gym"])
    pred = personalize(INPUT7, PROFILE7, task=get_task("LaMP_7"), method="think", backend=fb,
                       k=1, max_thought_tokens=32)
    assert pred.method == "think" and pred.reasoning == "thinking about the gym"
    assert fb.calls[0]["max_tokens"] == 32 + 64


def test_profile_validation_names_item_and_field() -> None:
    with pytest.raises(DataError, match=r"item 1 \(id 'x'\) lacks field 'score'"):
        personalize(INPUT3, [{"text": "a", "score": 5}, {"id": "x", "text": "b"}],
                    task="LaMP_3", method="rag", backend=FakeBackend([]))
    with pytest.raises(DataError, match="expected a list"):
        validate_profile({"text": "a"}, get_task("LaMP_7"))
    with pytest.raises(DataError, match="item 0 is str"):
        validate_profile(["just text"], get_task("LaMP_7"))
    with pytest.raises(DataError, match="repeats id"):
        validate_profile([{"id": 1, "text": "a"}, {"id": "1", "text": "b"}], get_task("LaMP_7"))
    with pytest.raises(DataError, match="must be text"):
        validate_profile([{"text": ["a"]}], get_task("LaMP_7"))


def test_validate_profile_fills_ids_without_mutating() -> None:
    raw = [{"text": "a"}, {"id": 7, "text": "b"}]
    items = validate_profile(raw, get_task("LaMP_7"))
    assert [it["id"] for it in items] == ["0", "7"]
    assert "id" not in raw[0] and raw[1]["id"] == 7


def test_personalize_rejects_bad_arguments() -> None:
    fb = FakeBackend([])
    with pytest.raises(ConfigError, match="k must be"):
        personalize(INPUT7, PROFILE7, task="LaMP_7", method="rag", backend=fb, k=-1)
    with pytest.raises(UnknownNameError, match="method"):
        personalize(INPUT7, PROFILE7, task="LaMP_7", method="nope", backend=fb)
    with pytest.raises(UnknownNameError, match="task"):
        personalize(INPUT7, PROFILE7, task="LaMP_9", method="rag", backend=fb)
    with pytest.raises(DataError, match="empty"):
        personalize("  ", PROFILE7, task="LaMP_7", method="rag", backend=fb)
    assert fb.calls == []


# --- the CLI ----------------------------------------------------------------------------------

def _fake(replies: list[str]) -> list[str]:
    return ["--backend", "fake", "--backend-opt", "replies=" + json.dumps(replies)]


def test_cli_prints_the_answer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prof = tmp_path / "profile.json"
    prof.write_text(json.dumps(PROFILE7))
    rc = main(["personalize", "--task", "LaMP_7", "--input", INPUT7, "--profile", str(prof),
               "--method", "rag", "--k", "2", *_fake(["Here is the tweet: going to the gym"])])
    assert rc == 0
    assert capsys.readouterr().out == "going to the gym\n"


def test_cli_reads_a_lamp_sample_and_prints_the_trace(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = {"id": "s1", "input": INPUT3,
              "profile": [{"id": "r1", "text": "lovely card", "score": "5"}]}
    prof = tmp_path / "sample.json"
    prof.write_text(json.dumps(sample))
    again = " I should check the score again."
    reply = "[P1] loved a card like this." + again * 3 + "</think>\n5"
    rc = main(["personalize", "--task", "LaMP_3", "--profile", str(prof), "--method", "think",
               "--trace", "--opt", "max_thought_tokens=40", *_fake([reply])])
    out = capsys.readouterr().out
    assert rc == 0 and out.endswith("\n5\n")
    assert "--- thought ---" in out and "[P1] loved a card" in out
    assert "check ok   thought_closed" in out
    assert "check FAIL loop" in out
    assert "think: 1 call(s)" in out and "retrieved: r1" in out


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prof = tmp_path / "p.json"
    prof.write_text(json.dumps(PROFILE7))
    rc = main(["personalize", "--task", "LaMP_7", "--input", INPUT7, "--profile", str(prof),
               "--method", "direct", "--json", *_fake(["gym now"])])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and d["answer"] == "gym now" and d["method"] == "direct"
    assert d["prompts"][0]["messages"][0]["content"] == INPUT7


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("[{\"id\": \"1\"}]", [], "lacks field 'text'"),
        ("{not json", [], "not valid JSON"),
        ("{\"a\": 1}", [], "expected a list of profile items"),
        ("[]", ["--opt", "oops"], "--opt expects KEY=VALUE"),
        ("[]", ["--retriever", "magic"], "unknown retriever"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 content: str, args: list[str], message: str) -> None:
    prof = tmp_path / "bad.json"
    prof.write_text(content)
    rc = main(["personalize", "--task", "LaMP_7", "--input", INPUT7, "--profile", str(prof),
               "--method", "rag", *args, *_fake(["x"])])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("r2p: error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_cli_missing_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prof = tmp_path / "p.json"
    prof.write_text(json.dumps(PROFILE7))
    rc = main(["personalize", "--task", "LaMP_7", "--profile", str(prof), *_fake(["x"])])
    assert rc == 2 and "--input is required" in capsys.readouterr().err


# --- personalize() retrieves as a run does ---------------------------------------------------

def _dated_lamp3(tmp: Path) -> Path:
    """The demo LaMP_3 subset's first queries, each profile item given a date (for recency)."""
    from r2p.data import demo_dir

    src = demo_dir() / "LaMP_3"
    questions = json.loads((src / "dev_questions.json").read_text("utf-8"))[:4]
    for q in questions:
        for j, item in enumerate(q["profile"]):
            item["date"] = f"201{(j * 7) % 10}-0{j % 9 + 1}-15"
    outputs = json.loads((src / "dev_outputs.json").read_text("utf-8"))
    ids = {q["id"] for q in questions}
    outputs["golds"] = [g for g in outputs["golds"] if g["id"] in ids]
    dst = tmp / "data" / "LaMP_3"
    dst.mkdir(parents=True)
    (dst / "dev_questions.json").write_text(json.dumps(questions), "utf-8")
    (dst / "dev_outputs.json").write_text(json.dumps(outputs), "utf-8")
    return tmp / "data"


@pytest.mark.parametrize("name", ["bm25", "recency", "random", "dense", "none", "ranking"])
def test_personalize_retrieves_what_a_run_retrieves(tmp_path: Path, name: str) -> None:
    from r2p.data import load_split
    from r2p.retrieval import get_retriever, write_ranks
    from r2p.runner.config import build_config
    from r2p.runner.experiment import run_experiment

    data = _dated_lamp3(tmp_path)
    samples = load_split("LaMP_3", data, "dev").samples
    options: dict[str, object] = {}
    if name == "ranking":  # a stored order unlike any score: reversed profile order
        ranks = {s.id: [str(i["id"]) for i in reversed(s.profile)] for s in samples}
        options = {"path": str(write_ranks(tmp_path / "ranks.json", ranks))}
    cfg = build_config({"task": "LaMP_3", "data": data, "method": "rag", "k": 3,
                        "retriever": name, "retriever_options": options, "backend": "fake",
                        "backend_options": {"replies": {"": "5"}}, "out": tmp_path / "run"})
    assert run_experiment(cfg, progress=False).ok
    records = [json.loads(line) for line in
               (tmp_path / "run" / "records.jsonl").read_text("utf-8").splitlines()]
    run = {r["id"]: [x["id"] for x in r["retrieved"]] for r in records}
    assert len(run) == len(samples) and (name == "none" or all(run.values()))
    retriever: object = get_retriever(name, **options) if options else name
    for s in samples:
        pred = personalize(s.input, s.profile, task="LaMP_3", method="rag", k=3,
                           retriever=retriever, sample_id=s.id,  # type: ignore[arg-type]
                           backend=FakeBackend({"": "5"}))
        assert pred.retrieved_ids == run[s.id], s.id
