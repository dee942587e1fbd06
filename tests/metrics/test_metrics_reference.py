"""Metrics against the reference libraries on the real data, plus hand-computed edge rules."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest
from rouge_score import rouge_scorer
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, mean_squared_error

from r2p.data import load_split
from r2p.errors import DataError
from r2p.metrics import label_index, per_sample, score
from r2p.tasks import get_task


def _noisy(golds: dict[str, str], pool: list[str], seed: int, p_keep: float = 0.5
           ) -> dict[str, str]:
    """Synthetic predictions: keep the gold with probability p_keep, else draw from pool."""
    rng = random.Random(seed)
    return {k: (v if rng.random() < p_keep else rng.choice(pool)) for k, v in golds.items()}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classification_matches_sklearn_on_real_lamp1(shared_data: Path, seed: int) -> None:
    task = get_task("LaMP_1")
    golds = load_split(task, shared_data, "dev").golds()
    # Invalid outputs too: wrong case, other text, padded labels (stripped -> valid).
    preds = _noisy(golds, ["[1]", "[2]", " [2]\n", "[3]", "1", "", "[1] because"], seed)
    labels = list(task.labels or ())
    ids = list(golds)
    g = [label_index(golds[i], labels) for i in ids]
    p = [label_index(preds[i], labels) for i in ids]
    got = score(task, golds, preds)
    assert got["accuracy"] == pytest.approx(accuracy_score(g, p), abs=1e-12)
    ref = f1_score(g, p, average="macro", labels=list(range(len(labels))), zero_division=0)
    assert got["f1"] == pytest.approx(ref, abs=1e-12)
    assert 0 < got["f1"] < 1


@pytest.mark.parametrize("task_name", ["LaMP_2", "LaMP_2N"])
def test_macro_f1_over_all_labels_matches_sklearn(shared_data: Path, task_name: str) -> None:
    task = get_task(task_name)
    labels = list(task.labels or ())
    # Real LaMP_2N golds, padded with synthetic golds over a subset of labels, so some labels
    # have no support and are never predicted (they must still count as 0 in the mean).
    rng = random.Random(7)
    golds = {f"s{i}": rng.choice(labels[:9]) for i in range(200)}
    if task_name == "LaMP_2N":
        golds.update(load_split(task, shared_data, "dev").golds())
    preds = _noisy(golds, [*labels[:11], "Comedy", "not a tag"], seed=3, p_keep=0.4)
    ids = list(golds)
    g = [label_index(golds[i], labels) for i in ids]
    p = [label_index(preds[i], labels) for i in ids]
    ref = f1_score(g, p, average="macro", labels=list(range(len(labels))), zero_division=0)
    assert score(task, golds, preds)["f1"] == pytest.approx(ref, abs=1e-12)


def _reference_lamp3(golds: list[str], preds: list[str]) -> tuple[float, float]:
    """The reference code's mapping, then scikit-learn's MAE and RMSE."""
    ys, xs = [], []
    for g, p in zip(golds, preds):
        y = float(g.strip())
        try:
            x = float(p.strip())
        except ValueError:
            x = 1.0 if abs(1 - y) > abs(5 - y) else 5.0
        ys.append(y)
        xs.append(x)
    return mean_absolute_error(ys, xs), math.sqrt(mean_squared_error(ys, xs))


@pytest.mark.parametrize("seed", [0, 1])
def test_rating_matches_reference_on_real_lamp3(shared_data: Path, seed: int) -> None:
    golds = load_split("LaMP_3", shared_data, "dev").golds()
    preds = _noisy(golds, ["1", "2", "3 ", "4", "5", "4.5", "five", "", "3/5"], seed)
    mae, rmse = _reference_lamp3(list(golds.values()), [preds[k] for k in golds])
    got = score("LaMP_3", golds, preds)
    assert got["MAE"] == pytest.approx(mae, abs=1e-12) and got["MAE"] > 0
    assert got["RMSE"] == pytest.approx(rmse, abs=1e-12)


def test_rouge_matches_rouge_score_on_real_lamp7(shared_data: Path) -> None:
    ds = load_split("LaMP_7", shared_data, "dev")
    golds = ds.golds()
    # Predictions: the user's own first profile tweet (a realistic, imperfect paraphrase),
    # with some exact copies, some empty outputs.
    rng = random.Random(0)
    preds = {s.id: rng.choice([s.profile[0]["text"], golds[s.id], "", s.input]) for s in ds}
    sc = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=False)
    r1, rl = [], []
    for k, g in golds.items():
        s = sc.score(g.strip(), preds[k].strip())
        r1.append(s["rouge1"].fmeasure)
        rl.append(s["rougeL"].fmeasure)
    got = score("LaMP_7", golds, preds)
    assert got["rouge-1"] == pytest.approx(float(np.mean(r1)), abs=1e-12)
    assert got["rouge-L"] == pytest.approx(float(np.mean(rl)), abs=1e-12)
    assert 0 < got["rouge-L"] <= got["rouge-1"] < 1
    first = next(iter(golds))
    assert per_sample("LaMP_7", golds[first], preds[first])["rouge-1"] == pytest.approx(r1[0])


def test_classification_edge_cases_by_hand() -> None:
    golds = {"a": "[1]", "b": "[2]", "c": "[2]", "d": "[1]"}
    preds = {"a": " [1] ", "b": "[1]", "c": "[2] is right", "d": "[1]"}
    # indices: gold 0,1,1,0; pred 0,0,-1,0 -> acc 2/4.
    # label [1]: tp 2, fp 1, fn 0 -> 4/5; label [2]: tp 0 -> 0. macro = 0.4
    got = score("LaMP_1", golds, preds)
    assert got == {"accuracy": 0.5, "f1": pytest.approx(0.4)}
    assert per_sample("LaMP_1", "[2]", "[2] is right") == {"accuracy": 0.0}
    assert per_sample("LaMP_2", "comedy", "Comedy") == {"accuracy": 0.0}  # case-sensitive
    assert label_index("  sci-fi\n", get_task("LaMP_2").labels or ()) == 0


def test_rating_edge_cases_by_hand() -> None:
    golds = {"a": "5", "b": "1", "c": "3", "d": "4", "e": "2"}
    preds = {"a": "4", "b": "one", "c": "", "d": "nan", "e": " 2.5 "}
    # errors: |4-5|=1; unparseable vs 1 -> 5 (err 4); vs 3 -> tie -> 5 (err 2);
    # nan treated as unparseable, vs 4 -> 1 (err 3); |2.5-2| = 0.5
    errs = [1, 4, 2, 3, 0.5]
    got = score("LaMP_3", golds, preds)
    assert got["MAE"] == pytest.approx(sum(errs) / 5)
    assert got["RMSE"] == pytest.approx(math.sqrt(sum(e * e for e in errs) / 5))
    assert per_sample("LaMP_3", "1", "") == {"MAE": 4.0, "RMSE": 4.0}
    with pytest.raises(DataError, match="gold rating of id 'x' is not a number"):
        score("LaMP_3", {"x": "great"}, {"x": "5"})


def test_generation_edge_cases_by_hand() -> None:
    assert per_sample("LaMP_4", "a b c d", "") == {"rouge-1": 0.0, "rouge-L": 0.0}
    # gold 4 tokens, pred "a c b": overlap 3 -> P 1, R 3/4 -> F 6/7; LCS "a b" or "a c" = 2
    got = per_sample("LaMP_5", "a b c d", " a c b ")
    assert got["rouge-1"] == pytest.approx(6 / 7) and got["rouge-L"] == pytest.approx(4 / 7)
    assert per_sample("LaMP_6", "Hello, World", "hello world")["rouge-1"] == 1.0  # tokenizer


def test_id_set_mismatch_and_empty() -> None:
    golds = {str(i): "[1]" for i in range(10)}
    preds = {str(i): "[1]" for i in range(2, 14)}
    with pytest.raises(DataError) as exc:
        score("LaMP_1", golds, preds)
    msg = str(exc.value)
    assert "2 missing from predictions (e.g. 0, 1)" in msg
    assert "4 extra in predictions (e.g. 10, 11, 12)" in msg
    with pytest.raises(DataError, match="nothing to score"):
        score("LaMP_1", {}, {})
