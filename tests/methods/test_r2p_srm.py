"""SRM's decision rules: support-weighted votes, consensus, label distributions."""

from __future__ import annotations

from r2p.methods.r2p import STAGE_MARKERS
from r2p.methods.r2p.selfref import (
    combine,
    consensus,
    label_distribution,
    rouge_l,
    weighted_vote,
)

S1, S2, S3 = STAGE_MARKERS


def test_weighted_vote_lets_grounded_reasoning_beat_a_bare_majority() -> None:
    i, tallies = weighted_vote(["sports", "politics", "politics"], [1.0, 0.0, 0.0],
                               [True, True, True])
    assert i == 0 and tallies == {"sports": 1.5, "politics": 1.0}
    # with equal support the majority wins
    i, _ = weighted_vote(["sports", "politics", "politics"], [0.5, 0.5, 0.5],
                         [True, True, True])
    assert i == 1
    # invalid candidates carry no weight
    i, tallies = weighted_vote(["x", "x", "4"], [1.0, 1.0, 0.0], [False, False, True])
    assert i == 2 and tallies == {"4": 0.5}
    # no valid candidate: the first one, no tallies
    assert weighted_vote(["a", "b"], [0.0, 0.0], [False, False]) == (0, {})


def test_weighted_vote_tie_goes_to_better_support_then_order() -> None:
    i, _ = weighted_vote(["3", "4"], [0.2, 0.3], [True, True])
    assert i == 1
    i, _ = weighted_vote(["3", "4"], [0.3, 0.3], [True, True])
    assert i == 0


def test_consensus_picks_the_consensus_text() -> None:
    texts = ["sunny day at the beach with friends", "dogs bark at night",
             "a sunny day at the beach", "beach day with friends, sunny"]
    i, means = consensus(texts)
    assert i != 1 and means[1] == min(means)
    assert rouge_l("a b c", "a b c") == 1.0
    assert consensus(["only"]) == (0, [1.0])


def test_label_distribution_walks_shared_tokens_to_the_choice() -> None:
    tops = [[(" ", -0.1), (" A", -2.0)], [("5", -0.5), ("4", -1.0), ("x", -1.0)]]
    dist = label_distribution(("1", "2", "3", "4", "5"), tops)
    assert dist is not None and list(dist) == ["5", "4"] and abs(sum(dist.values()) - 1) < 1e-9
    news = label_distribution(("sports", "science & technology", "style & beauty"),
                              [[(" Sports", -0.2), (" style", -1.7)]])
    assert news is not None and max(news, key=news.__getitem__) == "sports"
    assert label_distribution(("[1]", "[2]"), [[(" I", -0.1)]] * 50) is None
    assert combine([{"4": 1.0}], [0.0]) == {"4": 1.0}


def test_consensus_counts_the_request_as_a_reference() -> None:
    drifted, faithful = "gym rats unite, legs forever", "off to the gym now, legs day"
    assert consensus([drifted, faithful])[0] == 0  # alone, a tie goes to the first
    assert consensus([drifted, faithful], ["off to the gym now legs day again"])[0] == 1
