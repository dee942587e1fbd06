"""Dense retrieval with the packaged all-MiniLM-L6-v2 (loaded once, offline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from r2p.errors import ConfigError
from r2p.retrieval import get_retriever
from r2p.retrieval.dense import DenseRetriever, default_model_path
from r2p.tasks import get_task

LAMP7 = get_task("LaMP_7")


@pytest.fixture(scope="module")
def dense() -> DenseRetriever:
    r = get_retriever("dense")
    assert isinstance(r, DenseRetriever)
    return r


def test_default_model_is_the_packaged_folder() -> None:
    path = default_model_path()
    assert (path / "modules.json").is_file() and path.name == "model"


def test_paraphrase_ranks_above_unrelated_real_tweets(shared_data: Path, dense: DenseRetriever) -> None:
    samples = json.loads((shared_data / "LaMP_7" / "dev_questions.json").read_text("utf-8"))
    unrelated = [it for s in samples[:3] for it in s["profile"][:3]]
    para = {"id": "para", "text": "Heading to my anthropology lecture on foot, loving how "
                                  "cool it is outside; California weather is the best."}
    prof = [*unrelated[:4], para, *unrelated[4:]]
    query = LAMP7.query(samples[0]["input"])  # the "walking to my Anthro class" tweet
    got = dense.retrieve(query, prof, len(prof), LAMP7, query_id=samples[0]["id"])
    assert got[0].id == "para"
    assert got[0].score > got[1].score + 0.1
    assert -1.0 <= got[-1].score <= got[0].score <= 1.0
    assert len(got) == len(prof) and len({r.id for r in got}) == len(prof)


def test_dense_is_deterministic_cached_and_breaks_ties_by_order(dense: DenseRetriever) -> None:
    prof = [{"id": "a", "text": "I adore my cat"}, {"id": "b", "text": "stock market news"},
            {"id": "c", "text": "I adore my cat"}]
    misses = dense.cache.misses
    one = dense.retrieve("my kitten", prof, 3, LAMP7)
    two = dense.retrieve("my kitten", prof, 3, LAMP7)
    assert dense.cache.misses == misses + 1
    assert [(r.id, r.score) for r in one] == [(r.id, r.score) for r in two]
    assert [r.id for r in one] == ["a", "c", "b"]
    assert dense.retrieve("x", prof, 0, LAMP7) == []


def test_bad_model_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a folder"):
        get_retriever("dense", model=tmp_path / "missing").retrieve(
            "q", [{"id": "a", "text": "t"}], 1, LAMP7)
    with pytest.raises(ConfigError, match="does not look like a sentence-transformers model"):
        get_retriever("dense", model=tmp_path).retrieve("q", [{"id": "a", "text": "t"}], 1, LAMP7)


def test_missing_extra_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from r2p.errors import MissingDependencyError
    from r2p.retrieval import dense as dense_mod

    monkeypatch.setattr(dense_mod, "DEFAULT_MODEL_PACKAGE", "no_such_model_package_r2p")
    with pytest.raises(MissingDependencyError, match=r"pip install 'r2p\[dense\]'"):
        dense_mod.default_model_path()
    (tmp_path / "modules.json").write_text("[]", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import fails
    with pytest.raises(MissingDependencyError, match=r"sentence-transformers.*r2p\[dense\]"):
        dense_mod.load_model(tmp_path)
