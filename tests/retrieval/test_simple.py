"""recency, random and none retrievers; the registry; retrieve_sample."""

from __future__ import annotations

import sys

import pytest

from r2p.errors import ConfigError, RetrievalError, UnknownNameError
from r2p.retrieval import RETRIEVERS, get_retriever, retrieve_sample
from r2p.retrieval.simple import parse_date
from r2p.tasks import get_task
from r2p.types import Sample

LAMP3 = get_task("LaMP_3")


def _items(n: int) -> list[dict[str, str]]:
    return [{"id": f"i{j}", "text": f"text {j}", "score": "5"} for j in range(n)]


def test_recency_latest_first_ties_in_profile_order() -> None:
    prof = [
        {"id": "a", "text": "x", "score": "1", "date": "2012-05-01"},
        {"id": "b", "text": "x", "score": "1", "date": "2014-01-31"},
        {"id": "c", "text": "x", "score": "1", "date": "2013"},
        {"id": "d", "text": "x", "score": "1", "date": "2014-01-31T00:00:00Z"},
        {"id": "e", "text": "x", "score": "1", "date": "June 3, 2013"},
    ]
    got = get_retriever("recency").retrieve("q", prof, 10, LAMP3)
    assert [r.id for r in got] == ["b", "d", "e", "c", "a"]
    assert got[0].score == got[1].score > got[2].score
    assert [r.id for r in get_retriever("recency").retrieve("q", prof, 2, LAMP3)] == ["b", "d"]


def test_recency_without_dates_is_a_clear_error() -> None:
    prof = [{"id": "a", "text": "x", "score": "1", "date": "2012-05-01"},
            {"id": "b", "text": "x", "score": "1"}]
    with pytest.raises(RetrievalError, match=r"profile item 'b' \(query q7\) has no 'date'"):
        get_retriever("recency").retrieve("q", prof, 1, LAMP3, query_id="q7")
    prof[1]["date"] = "yesterday-ish"
    with pytest.raises(RetrievalError, match="unreadable 'date' 'yesterday-ish'"):
        get_retriever("recency").retrieve("q", prof, 1, LAMP3)


def test_parse_date_forms() -> None:
    assert parse_date("1970-01-02") == 86400.0
    assert parse_date("1970") == 0.0
    assert parse_date("01/02/1970") == 86400.0
    assert parse_date(5) == 5.0
    with pytest.raises(ValueError):
        parse_date("")


def test_random_is_seeded_without_replacement_and_per_query() -> None:
    prof = _items(30)
    r = get_retriever("random", seed=1)
    a = [x.id for x in r.retrieve("q", prof, 30, LAMP3, query_id="s1")]
    assert sorted(a) == sorted(i["id"] for i in prof)  # a permutation: no repeats
    assert a == [x.id for x in get_retriever("random", seed=1).retrieve(
        "other text", prof, 30, LAMP3, query_id="s1")]  # same (seed, id): same draw
    assert a[:5] == [x.id for x in r.retrieve("q", prof, 5, LAMP3, query_id="s1")]
    assert a != [x.id for x in get_retriever("random", seed=2).retrieve(
        "q", prof, 30, LAMP3, query_id="s1")]
    assert a != [x.id for x in r.retrieve("q", prof, 30, LAMP3, query_id="s2")]
    assert a != [i["id"] for i in prof]


def test_random_draws_are_roughly_uniform() -> None:
    prof = _items(5)
    r = get_retriever("random", seed=0)
    first = [r.retrieve("q", prof, 1, LAMP3, query_id=str(n))[0].id for n in range(500)]
    counts = {i["id"]: first.count(i["id"]) for i in prof}
    assert all(60 < c < 140 for c in counts.values()), counts


def test_none_and_k_zero() -> None:
    prof = _items(3)
    assert get_retriever("none").retrieve("q", prof, 4, LAMP3) == []
    for name in ("bm25", "random"):
        assert get_retriever(name).retrieve("q", prof, 0, LAMP3) == []


def test_registry_names_and_errors() -> None:
    assert set(RETRIEVERS) == {"bm25", "recency", "random", "dense", "none", "ranking"}
    with pytest.raises(UnknownNameError, match="choose from: bm25, dense, none, random"):
        get_retriever("bm26")
    with pytest.raises(ConfigError, match="seed must be an integer"):
        get_retriever("random", seed="x")
    with pytest.raises(ConfigError, match="ranking file"):
        get_retriever("ranking")


def test_retrieve_sample_cuts_the_query_and_handles_empty_profiles() -> None:
    task = get_task("LaMP_3")
    inp = "What is the score of the following review? review: the battery died fast"
    prof = [{"id": "x", "text": "great gift card", "score": "5"},
            {"id": "y", "text": "battery died after a week", "score": "1"}]
    got = retrieve_sample(get_retriever("bm25"), Sample("s", inp, prof), 1, task)
    assert [r.id for r in got] == ["y"]
    assert retrieve_sample(get_retriever("bm25"), Sample("s", inp, []), 4, task) == []


@pytest.mark.parametrize("n,k", [(200, 1), (200, 7), (200, 24), (200, 25), (200, 200), (9, 3)])
def test_top_k_is_the_stable_descending_order_with_many_ties(n: int, k: int) -> None:
    import numpy as np

    from r2p.retrieval.base import top_k

    rng = np.random.default_rng(n + k)
    scores = rng.integers(0, 5, size=n).astype(float)  # heavy ties
    prof = [{"id": str(i)} for i in range(n)]
    got = top_k(scores, prof, k)
    want = sorted(range(n), key=lambda i: (-scores[i], i))[:k]
    assert [int(r.id) for r in got] == want
    assert [r.rank for r in got] == list(range(k))


def test_public_api_is_pinned_and_import_is_light() -> None:
    import subprocess

    import r2p.retrieval

    assert r2p.retrieval.__all__ == ["RETRIEVERS", "Retriever", "get_retriever", "read_ranks",
                                     "retrieve_sample", "write_ranks"]
    code = ("import sys, r2p.retrieval; "
            "print(sorted(m for m in ('numpy', 'bm25s', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
