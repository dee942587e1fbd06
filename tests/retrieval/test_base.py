"""BaseRetriever: every retriever's k check, empty-profile guard and top-k selection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from r2p.errors import ConfigError
from r2p.retrieval import RETRIEVERS, Retriever, get_retriever
from r2p.retrieval.base import BaseRetriever
from r2p.tasks import Task, get_task
from r2p.types import ProfileItem

LAMP3 = get_task("LaMP_3")
# no dates: recency would fail if it ever looked at this profile
PROFILE = [{"id": f"i{j}", "text": f"great card {j}", "score": "5"} for j in range(3)]


class Counting(BaseRetriever):
    """Scores = the negated position (profile order); counts the calls."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def scores(self, query: str, profile: list[ProfileItem], task: Task, *,
               query_id: str | None = None) -> list[float]:
        self.calls += 1
        return [float(-i) for i in range(len(profile))]


def _every_retriever(tmp_path: Path) -> dict[str, Any]:
    ranks = tmp_path / "ranks.json"
    ranks.write_text(json.dumps({"q": ["i2", "i0"]}))
    options: dict[str, dict[str, Any]] = {"ranking": {"path": ranks}}
    return {name: get_retriever(name, **options.get(name, {})) for name in RETRIEVERS}


def test_every_registered_retriever_shares_the_base(tmp_path: Path) -> None:
    for name, r in _every_retriever(tmp_path).items():
        assert isinstance(r, BaseRetriever) and isinstance(r, Retriever) and r.name == name


@pytest.mark.parametrize("k", [-1, 1.5, True, "2", None])
def test_every_retriever_rejects_a_bad_k(tmp_path: Path, k: Any) -> None:
    for r in _every_retriever(tmp_path).values():
        with pytest.raises(ConfigError, match="k must be a non-negative integer"):
            r.retrieve("q", PROFILE, k, LAMP3, query_id="q")
        with pytest.raises(ConfigError, match="k must be a non-negative integer"):
            r.retrieve("q", [], k, LAMP3, query_id="q")  # checked even with nothing to rank


def test_k0_and_an_empty_profile_never_reach_the_scores(tmp_path: Path) -> None:
    for r in _every_retriever(tmp_path).values():
        # recency (no dates) and ranking (no query id) would raise if they ranked anything
        assert r.retrieve("q", PROFILE, 0, LAMP3) == []
        assert r.retrieve("q", [], 3, LAMP3) == []
    c = Counting()
    assert c.retrieve("q", [], 2, LAMP3) == [] and c.retrieve("q", PROFILE, 0, LAMP3) == []
    assert c.calls == 0


def test_top_k_of_the_scores_best_first_ties_in_profile_order() -> None:
    c = Counting()
    got = c.retrieve("q", PROFILE, 2, LAMP3)
    assert [r.id for r in got] == ["i0", "i1"] and [r.rank for r in got] == [0, 1]
    assert [r.score for r in got] == [0.0, -1.0] and c.calls == 1
    assert [r.id for r in c.retrieve("q", PROFILE, 10, LAMP3)] == ["i0", "i1", "i2"]


def test_ranking_and_none_keep_their_own_order(tmp_path: Path) -> None:
    rs = _every_retriever(tmp_path)
    assert [r.id for r in rs["ranking"].retrieve("x", PROFILE, 5, LAMP3, query_id="q")] == \
        ["i2", "i0"]  # the file's order, only the items it lists
    assert rs["none"].retrieve("q", PROFILE, 3, LAMP3) == []


def test_a_retriever_without_scores_says_so() -> None:
    class Empty(BaseRetriever):
        name = "empty"

    with pytest.raises(NotImplementedError, match="Empty gives no scores"):
        Empty().retrieve("q", PROFILE, 1, LAMP3)
