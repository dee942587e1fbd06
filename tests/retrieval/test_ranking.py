"""Ranking files: write/read round trip, the ranking retriever, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from r2p.errors import DataError, RetrievalError
from r2p.retrieval import get_retriever, read_ranks, retrieve_sample, write_ranks
from r2p.tasks import get_task
from r2p.types import Sample

LAMP7 = get_task("LaMP_7")


def _sample(sid: str, *texts: str) -> Sample:
    return Sample(sid, f"Paraphrase: {texts[0]}", [{"id": f"{sid}-{i}", "text": t}
                                                   for i, t in enumerate(texts)])


def test_rank_file_round_trip_reproduces_the_retriever(tmp_path: Path) -> None:
    samples = [_sample("1", "rainy day blues", "sunny beach day", "rain rain rain"),
               _sample("2", "coffee time", "tea time", "coffee and cake", "nap")]
    bm25 = get_retriever("bm25")
    ranks = {s.id: [r.id for r in retrieve_sample(bm25, s, len(s.profile), LAMP7)]
             for s in samples}
    path = write_ranks(tmp_path / "sub" / "ranks.json", ranks)
    assert json.loads(path.read_text("utf-8")) == ranks
    assert read_ranks(path) == ranks
    served = get_retriever("ranking", path=path)
    for s in samples:
        want = retrieve_sample(bm25, s, 2, LAMP7)
        got = retrieve_sample(served, s, 2, LAMP7)
        assert [r.id for r in got] == [r.id for r in want]
        assert [r.score for r in got] == [1.0, 0.5]
        assert got[0].item is s.profile[int(got[0].id.split("-")[1])]


def test_ranking_retriever_errors(tmp_path: Path) -> None:
    path = write_ranks(tmp_path / "r.json", {"1": ["1-0", "ghost"]})
    r = get_retriever("ranking", path=path)
    s = _sample("1", "a", "b")
    with pytest.raises(RetrievalError, match="needs the query id"):
        r.retrieve("a", s.profile, 1, LAMP7)
    with pytest.raises(RetrievalError, match="no ranking for query '9'"):
        r.retrieve("a", s.profile, 1, LAMP7, query_id="9")
    with pytest.raises(RetrievalError, match="'ghost', which is not in"):
        r.retrieve("a", s.profile, 2, LAMP7, query_id="1")
    assert [x.id for x in r.retrieve("a", s.profile, 1, LAMP7, query_id="1")] == ["1-0"]
    assert r.retrieve("a", s.profile, 0, LAMP7, query_id="nope") == []


@pytest.mark.parametrize("content,match", [
    ('{"1": ["a",', "invalid JSON at line 1"),
    ('["a"]', "must be a JSON object"),
    ('{"1": "a"}', "query '1': expected a list"),
    ('{"1": ["a", null]}', "query '1', position 1"),
    ('{"1": ["a", "a"]}', "'a' is listed twice"),
])
def test_bad_ranking_files(tmp_path: Path, content: str, match: str) -> None:
    p = tmp_path / "bad.json"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=match):
        read_ranks(p)


def test_missing_and_non_utf8_ranking_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        read_ranks(tmp_path / "nope.json")
    p = tmp_path / "latin1.json"
    p.write_bytes(b'{"\xe9": []}')
    with pytest.raises(DataError, match="not UTF-8"):
        read_ranks(p)
