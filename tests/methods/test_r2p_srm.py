"""SRM: support-weighted votes, LLM pick/merge and similarity selection (FakeBackend)."""

from __future__ import annotations

from r2p.backends.fake import FakeBackend
from r2p.methods.r2p import STAGE_MARKERS, R2PMethod
from r2p.methods.r2p.selfref import most_similar, rouge_l, weighted_vote
from r2p.tasks import get_task
from r2p.types import Retrieved, Sample

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


def test_most_similar_picks_the_consensus_text() -> None:
    texts = ["sunny day at the beach with friends", "dogs bark at night",
             "a sunny day at the beach", "beach day with friends, sunny"]
    i, means = most_similar(texts)
    assert i != 1 and means[1] == min(means)
    assert rouge_l("a b c", "a b c") == 1.0
    assert most_similar(["only"]) == (0, [1.0])


NEWS = get_task("LaMP_2N")
NEWS_SAMPLE = Sample("n1", "Which category does this news article relate to? "
                     "article: The home team won the final match last night.", [])
NEWS_ITEMS = [Retrieved({"id": f"a{i}", "title": t, "text": t, "category": "sports"}, 1.0, i)
              for i, t in enumerate(["Team wins the league final", "Star striker joins club"])]


def _thought(stage2: str, answer: str) -> str:
    return f"a label.\n{S2} {stage2}\n{S3} {answer}.</think>{answer}"


def test_srm_vote_on_labels_records_candidates_and_decision() -> None:
    fb = FakeBackend([
        _thought("[P1] and [P2] are all sports stories: team, final, league.", "sports"),
        _thought("Nothing relevant.", "politics"),
        _thought("Hard to say.", "politics"),
    ])
    method = R2PMethod(rpi=False, n_candidates=3, seed=7)
    pred = method.predict(NEWS_SAMPLE, NEWS, NEWS_ITEMS, fb)
    assert pred.method == "hrt_srm"
    assert [c["seed"] for c in fb.calls] == [7, 8, 9]
    assert all(c["temperature"] == 0.7 for c in fb.calls)
    cands = [e for e in pred.trace if e["type"] == "candidate"]
    assert [c["answer"] for c in cands] == ["sports", "politics", "politics"]
    assert cands[0]["support"] == 1.0 and cands[1]["support"] < 0.25
    decision = [e for e in pred.trace if e["type"] == "decision"]
    assert len(decision) == 1 and decision[0]["how"] == "vote" and decision[0]["chosen"] == 0
    assert pred.answer == "sports" and "[P1] and [P2]" in pred.reasoning
    # every event of a candidate's thought is tagged with its index
    segs = [e for e in pred.trace if e["type"] == "segment"]
    assert [e["candidate"] for e in segs] == [0, 1, 2]


TWEET = get_task("LaMP_7")
TWEET_SAMPLE = Sample("t1", "Paraphrase the following tweet without any explanation before "
                      "or after it: I am at the beach and the weather is great", [])
TWEET_ITEMS = [Retrieved({"id": "u1", "text": "lovin the sun today!! #beachlife"}, 1.0, 0)]


def test_srm_llm_selection_merges_candidates_for_text() -> None:
    fb = FakeBackend([
        _thought("[P1] writes lowercase with hashtags.", "lovin the beach, great weather"),
        _thought("[P1] uses #beachlife.", "great weather at the beach #beachlife"),
        "lovin the great weather at the beach #beachlife",
    ])
    pred = R2PMethod(rpi=False, n_candidates=2).predict(TWEET_SAMPLE, TWEET, TWEET_ITEMS, fb)
    assert pred.method == "hrt_srm" and pred.n_calls == 3
    select = fb.calls[2]
    assert select["prefill"] is None and select["temperature"] == 0.0
    shown = select["messages"][-1]["content"]
    assert "[C1] lovin the beach, great weather" in shown
    assert "[C2] great weather at the beach #beachlife" in shown
    assert "[P1] lovin the sun today!! #beachlife" in shown
    decision = next(e for e in pred.trace if e["type"] == "decision")
    assert decision["how"] == "llm" and "merged" in decision["detail"]
    assert pred.answer == "lovin the great weather at the beach #beachlife"
    assert decision["chosen"] == 1  # the closest candidate by ROUGE-L


def test_srm_similarity_selection_needs_no_extra_call() -> None:
    fb = FakeBackend([
        _thought("[P1].", "great weather at the beach today"),
        _thought("[P1].", "my cat hates mondays"),
        _thought("[P1].", "the weather at the beach is great today"),
    ])
    method = R2PMethod(rpi=False, n_candidates=3, selection="similarity")
    pred = method.predict(TWEET_SAMPLE, TWEET, TWEET_ITEMS, fb)
    assert pred.method == "hrt_srm_sim" and pred.n_calls == 3
    decision = next(e for e in pred.trace if e["type"] == "decision")
    assert decision["how"] == "similarity" and decision["chosen"] in (0, 2)
    assert pred.answer in ("great weather at the beach today",
                           "the weather at the beach is great today")


def test_srm_invalid_llm_selection_falls_back_to_similarity() -> None:
    fb = FakeBackend([
        _thought("[P1].", "great weather at the beach today"),
        _thought("[P1].", "weather at the beach is great"),
        "\n\n",
    ])
    pred = R2PMethod(rpi=False, n_candidates=2).predict(TWEET_SAMPLE, TWEET, TWEET_ITEMS, fb)
    decision = next(e for e in pred.trace if e["type"] == "decision")
    assert decision["how"] == "similarity"
    assert any(e["type"] == "check" and e["name"] == "selection" and not e["ok"]
               for e in pred.trace)


def test_full_r2p_runs_rpi_inside_every_candidate() -> None:
    clean = ["a digit.", f"{S2} [P1] and [P2] show sports fans.", f"{S3} sports.</think>sports"]
    fb = FakeBackend(clean * 2)
    pred = R2PMethod(n_candidates=2).predict(NEWS_SAMPLE, NEWS, NEWS_ITEMS, fb)
    assert pred.method == "r2p" and pred.n_calls == 6 and pred.answer == "sports"
    assert all(c["stop"] == ["\n\n"] for c in fb.calls)
    assert [c["seed"] for c in fb.calls] == [0, 0, 0, 1, 1, 1]


def test_srm_vote_representative_prefers_a_candidate_in_the_required_format() -> None:
    """Two candidates agree on "sports"; the first said it off format ("Sports."), the second
    exactly: the prediction's raw answer and format_ok come from the second."""
    fb = FakeBackend([
        f"a label.\n{S2} [P1] and [P2] are sports stories.\n{S3} sports.</think>Sports.",
        f"a label.\n{S2} [P1] and [P2] are sports stories.\n{S3} sports.</think>sports",
        _thought("Hard to say.", "politics"),
    ])
    pred = R2PMethod(rpi=False, n_candidates=3).predict(NEWS_SAMPLE, NEWS, NEWS_ITEMS, fb)
    decision = next(e for e in pred.trace if e["type"] == "decision")
    assert decision["how"] == "vote" and decision["chosen"] == 1
    assert pred.answer == "sports" and pred.format_ok is True
