"""R2P's flow with a scripted model: stated stage 1, streamed and corrected stages, the
answer step, SRM's candidates and decisions, and the one validated config."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from _r2p_support import S1, S2, S3, staged_model

from r2p.backends.base import GenerationSettings
from r2p.backends.fake import FakeBackend
from r2p.errors import ConfigError
from r2p.methods.r2p import R2PMethod, stage_coverage
from r2p.methods.r2p.config import R2PConfig
from r2p.methods.r2p.hrt import stated_requirements
from r2p.tasks import get_task
from r2p.types import Completion, Message, Retrieved, Sample

RATING, TWEET, NEWS = get_task("LaMP_3"), get_task("LaMP_7"), get_task("LaMP_2N")
REVIEW = Sample("r1", "What is the score of the following review on a scale of 1 to 5? "
                "review: Nice card, arrived on time.", [])
ITEMS = [Retrieved({"id": "p1", "text": "Nice gift card for my mum, she loved it",
                    "score": "4"}, 1.0, 0),
         Retrieved({"id": "p2", "text": "The card came late and the box was torn",
                    "score": "2"}, 0.9, 1)]
TWEET_SAMPLE = Sample("t1", "Paraphrase the following tweet without any explanation before or "
                      "after it: off to the gym now, legs day again", [])
TWEETS = [Retrieved({"id": "a", "text": "lol gym again #legsday"}, 1.0, 0),
          Retrieved({"id": "b", "text": "coffee first then the gym haha"}, 0.9, 1)]
OWN = " [P1] and [P2] show a generous user who rewards a card that arrives well."


def _events(pred: Any, type_: str) -> list[dict[str, Any]]:
    return [e for e in pred.trace if e["type"] == type_]


def test_stage_one_is_stated_and_stages_two_and_three_are_generated() -> None:
    parts: list[str] = []
    fb = FakeBackend(staged_model(OWN, " A good review.", " 4", log=parts))
    pred = R2PMethod(rpi=False, srm=False).predict(REVIEW, RATING, ITEMS, fb)
    assert parts == ["stage2", "stage3", "answer"]
    first = fb.calls[0]["prefill"]
    assert first == f"<think>\n{S1} {stated_requirements(RATING)}\n\n{S2}"
    assert not any(c["stream"] for c in fb.calls)  # no RPI: plain calls
    assert stage_coverage(pred.reasoning) == [1, 2, 3]
    assert pred.answer == "4" and pred.format_ok and pred.interventions == 0
    # the model wrote only the synthesis, the weighing and the answer
    assert pred.usage.completion_tokens == sum(len(t.split()) for t in (OWN, "A good review.",
                                                                        "4"))


def test_a_copy_of_an_item_is_cut_at_once_and_corrected() -> None:
    copied = " Here [P2] The card came late and the box was torn and more and more words"
    fb = FakeBackend(staged_model([copied, " rewards a card that arrives well, as [P1] shows."],
                                  " So 4.", " 4"))
    pred = R2PMethod(srm=False, max_interventions=2).predict(REVIEW, RATING, ITEMS, fb)
    assert fb.calls[0]["stream"] is True
    ivs = _events(pred, "intervention")
    assert [i["reason"] for i in ivs] == ["copy"] and pred.interventions == 1
    # the stream was closed when the copy was seen, before the scripted text ran out
    first = _events(pred, "segment")[0]
    assert first["finish_reason"] == "abort" and "more and more" not in first["text"]
    assert fb.calls[1]["prefill"].endswith(ivs[0]["text"])
    assert "The card came late" not in pred.reasoning
    assert pred.answer == "4"


def test_an_ungrounded_synthesis_gets_a_grounding_correction() -> None:
    fb = FakeBackend(staged_model([" The weather is nice today.",
                                   " rewards a nice card, as the gift card for mum shows."]))
    pred = R2PMethod(srm=False, max_interventions=2).predict(REVIEW, RATING, ITEMS, fb)
    assert [i["reason"] for i in _events(pred, "intervention")] == ["grounding"]
    checks = [e for e in _events(pred, "check") if e["name"] == "grounding"]
    assert [c["ok"] for c in checks] == [False, True]


def test_a_stage_past_its_budget_keeps_its_last_full_sentence() -> None:
    fb = FakeBackend(staged_model(" [P1] is kind. [P2] is harsh about late cards and torn boxes"))
    pred = R2PMethod(srm=False, synthesis_tokens=6).predict(REVIEW, RATING, ITEMS, fb)
    budget = [e for e in _events(pred, "check") if e["name"] == "stage_budget"]
    assert budget and not budget[0]["ok"]
    assert f"{S2} [P1] is kind.\n\n{S3}" in pred.reasoning


def test_the_intervention_cap_ends_the_stage_where_it_was_clean() -> None:
    copy = " As [P2] says The card came late and the box was torn"
    fb = FakeBackend(staged_model([copy, copy]))
    pred = R2PMethod(srm=False, max_interventions=1, copy_words=8).predict(REVIEW, RATING, ITEMS,
                                                                           fb)
    assert pred.interventions == 1
    assert any(e["name"] == "intervention_cap" for e in _events(pred, "check"))
    assert "came late" not in pred.reasoning
    # a check failing again right after its own correction ends the stage, under any cap
    fb = FakeBackend(staged_model([copy, copy]))
    pred = R2PMethod(srm=False, max_interventions=3, copy_words=8).predict(REVIEW, RATING,
                                                                           ITEMS, fb)
    cap = [e for e in _events(pred, "check") if e["name"] == "intervention_cap"]
    assert pred.interventions == 1 and "copy failed again" in cap[0]["detail"]


def test_with_corrections_on_ratings_get_one_format_correction_text_does_not() -> None:
    fb = FakeBackend(staged_model(OWN, answer=[" four stars", " 4"]))
    pred = R2PMethod(srm=False, max_interventions=2).predict(REVIEW, RATING, ITEMS, fb)
    assert [i["reason"] for i in _events(pred, "intervention")] == ["answer_format"]
    assert pred.answer == "4" and pred.format_ok
    # by default no correction: the off-format answer is read as it is (not in the format)
    fb = FakeBackend(staged_model(OWN, answer=[" four stars", " 4"]))
    pred = R2PMethod(srm=False).predict(REVIEW, RATING, ITEMS, fb)
    assert not _events(pred, "intervention") and not pred.format_ok
    fb = FakeBackend(staged_model(" [P1] and [P2] are short and casual, lol gym.",
                                  answer=' "off to the gym, legs day lol"'))
    pred = R2PMethod(srm=False, max_interventions=2).predict(TWEET_SAMPLE, TWEET, TWEETS, fb)
    assert not _events(pred, "intervention")
    assert pred.answer == "off to the gym, legs day lol" and not pred.format_ok


def test_text_srm_checks_the_answer_against_an_unthought_one_and_samples() -> None:
    parts: list[str] = []
    fb = FakeBackend(staged_model(" [P1] and [P2] are short and casual, lol gym.",
                                  answer=[" gym time, legs day lol", " gym again lol legs day"],
                                  unthought=" Off to the gym now, legs day again.", log=parts,
                                  reference=" Here is the paraphrase:"))
    pred = R2PMethod(n_candidates=3).predict(TWEET_SAMPLE, TWEET, TWEETS, fb)
    assert parts == ["stage2", "answer", "unthought", "reference", "answer"]
    reference = fb.calls[3]
    assert reference["prefill"] is None and "legs day again" in reference["messages"][-1]["content"]
    sample_call = fb.calls[-1]
    assert sample_call["n"] == 1 and sample_call["temperature"] == 0.7
    cands = _events(pred, "candidate")
    assert [c["answer"] for c in cands] == ["gym time, legs day lol",
                                            "Off to the gym now, legs day again.",
                                            "", "gym again lol legs day"]
    assert not cands[2]["format_ok"]  # the reference answered a preamble only: no candidate
    decision = pred.trace[-1]
    assert decision["how"] == "similarity" and pred.answer == cands[decision["chosen"]]["answer"]
    # generation has no stage 3 inside the thought: its response is the answer
    assert pred.reasoning.rstrip().endswith(S3)


def test_llm_selection_falls_back_to_similarity_on_an_invalid_pick() -> None:
    script = staged_model(" [P1] is short.", answer=[" gym time lol", " gym again lol"],
                          unthought=" Off to the gym.")

    def reply(messages: list[Message], prefill: str | None) -> str:
        if "candidate" in messages[-1]["content"].lower() and prefill is None:
            return ""
        return script(messages, prefill)

    pred = R2PMethod(selection="llm", n_candidates=3).predict(TWEET_SAMPLE, TWEET, TWEETS, FakeBackend(reply))
    assert pred.method == "r2p_llm"
    assert any(e["name"] == "selection" and not e["ok"] for e in _events(pred, "check"))
    assert pred.trace[-1]["how"] == "similarity"


def test_labels_without_log_probabilities_vote_over_sampled_answers() -> None:
    fb = FakeBackend(staged_model(" [P1] and [P2] are sports stories.",
                                  answer=[" sports", " politics", " sports"]))
    news = Sample("n1", "Which category does this news article relate to? article: The team "
                  "won the final.", [])
    items = [Retrieved({"id": "a", "title": "Team wins", "text": "league final",
                        "category": "sports"}, 1.0, 0)]
    pred = R2PMethod(n_candidates=3).predict(news, NEWS, items, fb)
    assert fb.calls[-1]["n"] == 2
    assert pred.trace[-1]["how"] == "vote" and pred.answer == "sports"


class LogprobFake(FakeBackend):
    """A fake engine that returns token log-probabilities for the answer's digit."""

    logprobs = True

    def __init__(self, dists: list[dict[str, float]], **kw: Any) -> None:
        super().__init__(**kw)
        self.dists = dists

    def _generate(self, messages: Sequence[Message], prefill: str | None,
                  settings: GenerationSettings) -> Completion:
        c = super()._generate(messages, prefill, settings)
        if settings.top_logprobs:
            import math

            dist = self.dists.pop(0) if len(self.dists) > 1 else self.dists[0]
            c.choices[0].top_logprobs = [[(" ", -0.01)], [(d, math.log(p))
                                                         for d, p in dist.items()]]
        return c


def test_ratings_decide_by_the_answer_distribution_and_think_again_when_unsure() -> None:
    sure = LogprobFake([{"4": 0.9, "5": 0.1}], replies=staged_model(OWN))
    pred = R2PMethod().predict(REVIEW, RATING, ITEMS, sure)
    decision = pred.trace[-1]
    assert decision["how"] == "distribution" and pred.answer == "4"
    assert len(_events(pred, "candidate")) == 1  # confident: no second thought
    unsure = LogprobFake([{"4": 0.5, "5": 0.5}, {"5": 0.9, "4": 0.1}],
                         replies=staged_model(OWN, answer=[" 4", " 5"]))
    pred = R2PMethod(extra_thoughts=1).predict(REVIEW, RATING, ITEMS, unsure)
    cands = _events(pred, "candidate")
    assert len(cands) == 2 and cands[1]["distribution"] == {"5": 0.9, "4": 0.1}
    assert pred.answer == "5" and pred.trace[-1]["distribution"]["5"] > 0.6
    # the second thought is sampled (its own seed, the sampling temperature)
    assert {c["temperature"] for c in unsure.calls} == {0.0, 0.7}


CITATION = get_task("LaMP_1")
PAPER = Sample("c1", 'For an author who has written the paper with the title "Fast tensor '
               'search", which reference is related? Just answer with [1] or [2] without '
               'explanation. [1]: "Graph databases" [2]: "Tensor decompositions"', [])
PAPERS = [Retrieved({"id": "p1", "title": "Sparse tensor methods", "abstract": "tensors"},
                    1.0, 0)]


def test_positional_labels_are_read_in_both_option_orders_and_averaged() -> None:
    # the model leans to [1] in both orders; the content says [2] (0.7 when it is listed first)
    fb = LogprobFake([{"[1]": 0.6, "[2]": 0.4}, {"[1]": 0.7, "[2]": 0.3}],
                     replies=staged_model(" [P1] is about tensors.", answer=" [1]"))
    pred = R2PMethod(option_order=True).predict(PAPER, CITATION, PAPERS, fb)
    assert pred.answer == "[2]" and pred.trace[-1]["distribution"] == {"[2]": 0.55, "[1]": 0.45}
    check = [e for e in _events(pred, "check") if e["name"] == "option_order"]
    assert len(check) == 1 and check[0]["ok"] is False
    flipped = fb.calls[-1]["messages"][-1]["content"]
    assert '[1]: "Tensor decompositions" [2]: "Graph databases"' in flipped
    assert fb.calls[-1]["prefill"] == fb.calls[-2]["prefill"]  # after the same thought
    # the chosen label was written (as [1]) with the options reversed: in format, not repaired
    assert pred.format_ok and pred.raw_output.strip() == "[1]"
    # off (the default), or a task whose labels are no positions: one order only
    off = LogprobFake([{"[1]": 0.6, "[2]": 0.4}],
                      replies=staged_model(" [P1] is about tensors.", answer=" [1]"))
    assert R2PMethod().predict(PAPER, CITATION, PAPERS, off).answer == "[1]"
    assert len(off.calls) == len(fb.calls) - 1
    assert get_task("LaMP_3").reorder is None and get_task("LaMP_2N").reorder is None


def test_without_probabilities_the_reversed_answer_joins_the_vote() -> None:
    # calls: the answer after the thought ([1]), with the options reversed ([1], i.e. [2]),
    # one sample ([2])
    fb = FakeBackend(staged_model(" [P1] is about tensors.", answer=[" [1]", " [1]", " [2]"]))
    pred = R2PMethod(option_order=True).predict(PAPER, CITATION, PAPERS, fb)
    assert [c["answer"] for c in _events(pred, "candidate")] == ["[1]", "[2]", "[2]"]
    assert pred.answer == "[2]" and pred.trace[-1]["how"] == "vote"


def test_one_config_validates_every_option() -> None:
    with pytest.raises(ConfigError, match="unknown R2P option 'stage_budget'; choose from"):
        R2PMethod(stage_budget=3)
    with pytest.raises(ConfigError, match="R2P option n_candidates"):
        R2PMethod(n_candidates=0)
    with pytest.raises(ConfigError, match="R2P option selection"):
        R2PMethod(selection="best")
    with pytest.raises(ConfigError, match="R2P option copy_words"):
        R2PConfig(copy_words="x")
    cfg = R2PConfig(synthesis_tokens=10)
    assert cfg.budgets("generation") == (10, 0, 64) and cfg.budgets("rating").response == 24
    assert R2PConfig(answer_cue="A:").answer_cue == ("A:",)
    assert R2PMethod(srm=False).options()["answer_cue"] == ["Answer:", "Final answer: "]


def test_a_text_candidate_that_is_a_piece_of_the_prompt_is_no_answer() -> None:
    fb = FakeBackend(staged_model(" [P1] is casual.", answer=" The user's past texts:",
                                  unthought=" off to the gym, legs day lol"))
    pred = R2PMethod().predict(TWEET_SAMPLE, TWEET, TWEETS, fb)
    copies = [e for e in _events(pred, "check") if e["name"] == "candidate_copy"]
    assert copies and copies[0]["candidate"] == 0
    assert pred.answer == "off to the gym, legs day lol"
    # a candidate repeating the request (a paraphrase keeps its words) stays a candidate
    fb = FakeBackend(staged_model(" [P1] is casual.", answer=" off to the gym now, legs day again",
                                  unthought=" gym"))
    pred = R2PMethod().predict(TWEET_SAMPLE, TWEET, TWEETS, fb)
    assert not [e for e in _events(pred, "check") if e["name"] == "candidate_copy"]
