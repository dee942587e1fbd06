"""``r2p retrieve`` and ``r2p rank`` on the real data, through the real dispatcher."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from rank_bm25 import BM25Okapi

from r2p.cli.main import main
from r2p.tasks import get_task


def r2p(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        *argv: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["r2p"])
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _first(shared_data: Path, folder: str) -> dict:
    return json.loads((shared_data / folder / "dev_questions.json").read_text("utf-8"))[0]


def test_retrieve_table_shows_query_items_and_scores(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s = _first(shared_data, "LaMP_7")
    rc, out, err = r2p(monkeypatch, capsys, "retrieve", "--task", "LaMP_7", "--data",
                       shared_data, "--split", "dev", "--retriever", "bm25", "--k", "4",
                       "--id", s["id"], "--width", "40")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"task LaMP_7  sample {s['id']}  retriever bm25  k=4")
    query = " ".join(get_task("LaMP_7").query(s["input"]).split())
    assert lines[1].startswith("query: ") and lines[1].endswith("...")
    assert query.startswith(lines[1][len("query: "):-3]) and len(lines[1]) == len("query: ") + 80
    rows = lines[3:]
    assert len(rows) == 4
    scores = [float(r.split()[1]) for r in rows]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert all(len(r.split(None, 3)[3]) <= 40 for r in rows)
    assert any(r.endswith("...") for r in rows)


def test_retrieve_json_lamp_mode_matches_rank_bm25(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s = _first(shared_data, "LaMP_3")
    task = get_task("LaMP_3")
    rc, out, err = r2p(monkeypatch, capsys, "retrieve", "--task", "LaMP_3", "--data",
                       shared_data, "--retriever", "bm25", "--tokenization", "lamp", "--k", "2",
                       "--id", s["id"], "--json")
    assert rc == 0, err
    got = json.loads(out)
    assert got["query"] == task.query(s["input"]) and got["k"] == 2
    texts = [task.index_text(i) for i in s["profile"]]
    ref = BM25Okapi([t.split() for t in texts]).get_scores(got["query"].split())
    best = max(range(len(texts)), key=lambda i: (ref[i], -i))
    assert got["retrieved"][0]["id"] == s["profile"][best]["id"]
    assert got["retrieved"][0]["score"] == pytest.approx(ref[best])
    assert [r["rank"] for r in got["retrieved"]] == [1, 2]


def test_rank_writes_a_file_that_ranking_retriever_serves(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = tmp_path / "ranks.json"
    rc, out, err = r2p(monkeypatch, capsys, "rank", "--task", "LaMP_1", "--data", shared_data,
                       "--retriever", "bm25", "--k", "3", "--out", out_path)
    assert rc == 0, err
    assert json.loads(out)["queries"] == 100
    ranks = json.loads(out_path.read_text("utf-8"))
    questions = json.loads((shared_data / "LaMP_1" / "dev_questions.json").read_text("utf-8"))
    assert list(ranks) == [q["id"] for q in questions]
    for q in questions:
        ids = {p["id"] for p in q["profile"]}
        assert len(ranks[q["id"]]) == 3 and set(ranks[q["id"]]) <= ids
    q = questions[5]
    rc, out, err = r2p(monkeypatch, capsys, "retrieve", "--task", "LaMP_1", "--data",
                       shared_data, "--retriever", "ranking", "--ranks", out_path, "--k", "3",
                       "--id", q["id"], "--json")
    assert rc == 0, err
    assert [r["id"] for r in json.loads(out)["retrieved"]] == ranks[q["id"]]
    rc, out, err = r2p(monkeypatch, capsys, "rank", "--task", "LaMP_1", "--data", shared_data,
                       "--out", tmp_path / "full.json")
    full = json.loads((tmp_path / "full.json").read_text("utf-8"))
    assert full[q["id"]][:3] == ranks[q["id"]] and len(full[q["id"]]) == len(q["profile"])


@pytest.mark.parametrize("extra,message", [
    (["--id", "no-such-id"], "no sample with id 'no-such-id'"),
    (["--retriever", "bm99"], "unknown retriever 'bm99'; choose from: bm25"),
    (["--seed", "3"], "--seed applies to the random retriever only"),
    (["--retriever", "ranking"], "needs --ranks"),
    (["--retriever", "recency"], "has no 'date' field"),
    (["--k", "-1"], "--k must be 0 or more"),
])
def test_retrieve_user_errors_are_one_line(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    extra: list[str], message: str
) -> None:
    rc, out, err = r2p(monkeypatch, capsys, "retrieve", "--task", "LaMP_7", "--data",
                       shared_data, *extra)
    assert rc == 2 and out == ""
    assert err.startswith("r2p: error: ") and message in err and err.count("\n") == 1


def test_bad_data_folder_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = r2p(monkeypatch, capsys, "rank", "--task", "LaMP_7", "--data",
                     tmp_path / "nowhere", "--out", tmp_path / "r.json")
    assert rc == 2 and "r2p: error:" in err
    assert not (tmp_path / "r.json").exists()
