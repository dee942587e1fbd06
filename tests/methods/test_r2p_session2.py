"""SRM early stop, the answer cue as an option, and repairs that skip restated formats."""

from __future__ import annotations

import pytest

from r2p.backends.fake import FakeBackend
from r2p.errors import ConfigError
from r2p.methods.answers import stated_choice
from r2p.methods.r2p import STAGE_MARKERS, R2PMethod
from r2p.methods.r2p.selfref import text_decided, vote_decided
from r2p.methods.registry import get_method
from r2p.tasks import get_task
from r2p.types import Retrieved, Sample

S1, S2, S3 = STAGE_MARKERS
NEWS = get_task("LaMP_2N")
NEWS_SAMPLE = Sample("n1", "Which category does this news article relate to? "
                     "article: The home team won the final match last night.", [])
NEWS_ITEMS = [Retrieved({"id": f"a{i}", "title": t, "text": t, "category": "sports"}, 1.0, i)
              for i, t in enumerate(["Team wins the league final", "Star striker joins club"])]
TWEET = get_task("LaMP_7")
TWEET_SAMPLE = Sample("t1", "Paraphrase the following tweet: I am at the beach and the "
                      "weather is great", [])
TWEET_ITEMS = [Retrieved({"id": "u1", "text": "lovin the sun today!! #beachlife"}, 1.0, 0)]
RATING = get_task("LaMP_3")
REVIEW = Sample("r1", "What is the score of the following review on a scale of 1 to 5? "
                "review: Nice card, arrived on time.", [])
REVIEW_ITEMS = [Retrieved({"id": "p1", "text": "Nice gift card", "score": "4"}, 1.0, 0)]

GROUNDED = "[P1] and [P2] are sports stories: team, final, league, striker, club."


def _thought(stage2: str, answer: str) -> str:
    return f"a label.\n{S2} {stage2}\n{S3} {answer}.</think>{answer}"


def _checks(pred: object, name: str) -> list[dict]:
    return [e for e in pred.trace  # type: ignore[attr-defined]
            if e["type"] == "check" and e["name"] == name]


def _n_thoughts(pred: object) -> int:
    return len([e for e in pred.trace if e["type"] == "candidate"])  # type: ignore[attr-defined]


def test_vote_decided_is_exact() -> None:
    # 2 grounded votes (weight 1.5 each) vs at most 1.5 from the last candidate: decided
    assert vote_decided(["a", "a"], [1.0, 1.0], [True, True], 1)
    # 2 ungrounded votes (1.0) can still lose to one grounded candidate (1.5)
    assert not vote_decided(["a", "a"], [0.0, 0.0], [True, True], 1)
    assert not vote_decided(["a", "b"], [1.0, 1.0], [True, True], 1)
    assert not vote_decided(["a", "a"], [1.0, 1.0], [False, False], 1)
    assert vote_decided(["a"], [0.0], [True], 0)
    assert text_decided(["x", "x"], [True, True], 3)
    assert not text_decided(["x", "x"], [True, True], 4)  # 2 of 4 is no strict majority
    assert not text_decided(["x", "x"], [False, False], 3)


def test_agreeing_grounded_candidates_stop_srm_early() -> None:
    fb = FakeBackend([_thought(GROUNDED, "sports")] * 3)
    pred = R2PMethod(rpi=False, n_candidates=3).predict(NEWS_SAMPLE, NEWS, NEWS_ITEMS, fb)
    assert pred.answer == "sports" and _n_thoughts(pred) == 2 and len(fb.calls) == 2
    stop = [e for e in pred.trace if e["type"] == "check" and e["name"] == "srm_early_stop"]
    assert len(stop) == 1 and "2 of 3" in stop[0]["detail"]
    # without early stop all three are generated, and the answer is the same
    fb = FakeBackend([_thought(GROUNDED, "sports")] * 3)
    pred3 = R2PMethod(rpi=False, n_candidates=3, early_stop=False).predict(
        NEWS_SAMPLE, NEWS, NEWS_ITEMS, fb)
    assert pred3.answer == "sports" and _n_thoughts(pred3) == 3
    assert pred3.usage.completion_tokens > pred.usage.completion_tokens


def test_ungrounded_agreement_does_not_stop_the_vote() -> None:
    fb = FakeBackend([_thought("Hard to say.", "politics"), _thought("No idea.", "politics"),
                      _thought(GROUNDED, "sports")])
    pred = R2PMethod(rpi=False, n_candidates=3).predict(NEWS_SAMPLE, NEWS, NEWS_ITEMS, fb)
    # the third, grounded candidate outweighs two ungrounded ones: stopping would have been wrong
    assert _n_thoughts(pred) == 3 and pred.answer == "sports"


def test_identical_text_candidates_stop_early_and_need_no_selection_call() -> None:
    fb = FakeBackend([_thought("[P1] writes lowercase.", "lovin the beach weather")] * 2
                     + ["should not be used"] * 2)
    pred = R2PMethod(rpi=False, n_candidates=3).predict(TWEET_SAMPLE, TWEET, TWEET_ITEMS, fb)
    assert pred.answer == "lovin the beach weather" and len(fb.calls) == 2
    assert next(e for e in pred.trace if e["type"] == "decision")["how"] == "single"


def test_answer_cue_is_an_option_of_r2p_and_think() -> None:
    script = ["One digit.", f"{S2} [P1] gave 4 to a gift card.", f"{S3} So 4.</think>", " 4"]
    fb = FakeBackend(list(script))
    R2PMethod(srm=False, answer_cue="Rating: ").predict(REVIEW, RATING, REVIEW_ITEMS, fb)
    assert fb.calls[-1]["prefill"].endswith("</think>\n\nRating: ")
    fb = FakeBackend(list(script))
    R2PMethod(srm=False, answer_cue="").predict(REVIEW, RATING, REVIEW_ITEMS, fb)
    assert fb.calls[-1]["prefill"].endswith("</think>\n\n")
    fb = FakeBackend(["the user likes it", "4"])  # the thought never closes: answer asked for
    pred = get_method("think", answer_cue="Score: ", max_thought_tokens=8).predict(
        REVIEW, RATING, REVIEW_ITEMS, fb)
    assert fb.calls[-1]["prefill"].endswith("</think>\n\nScore: ") and pred.answer == "4"
    assert get_method("r2p", answer_cue="").options()["answer_cue"] == [""]
    assert get_method("r2p").options()["answer_cue"] == ["Answer:", "Final answer: "]
    with pytest.raises(ConfigError, match="answer_cue"):
        R2PMethod(answer_cue=3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="answer_cue"):
        get_method("think", answer_cue=[])
    with pytest.raises(ConfigError, match="early_stop"):
        R2PMethod(early_stop="no")  # type: ignore[arg-type]


def test_stated_choice_skips_sentences_that_name_several_labels() -> None:
    lamp1 = get_task("LaMP_1")
    assert stated_choice(lamp1, "The answer is [1] or [2]. [2] matches the user.").text == "[2]"
    assert stated_choice(lamp1, "It is either [1] or [2].") is None
    assert stated_choice(RATING, "I must answer with 1, 2, 3, 4 or 5.") is None
    assert stated_choice(RATING, "The user often gives 5. The rating is 4.").text == "4"
    assert stated_choice(NEWS, "Not politics or crime. I choose sports.").text == "sports"


def test_rating_repair_ignores_a_paraphrased_format_line() -> None:
    # a capped rating thought whose stage 3 restates the format in its own words: the old
    # repair took the "1" of "1, 2, 3, 4 or 5"
    fb = FakeBackend([f"x\n{S2} [P1] gave 4.\n{S3} I need one of 1, 2, 3, 4 or 5. "
                      f"This user would give 4.</think>great card!"])
    pred = R2PMethod(rpi=False, srm=False).predict(REVIEW, RATING, REVIEW_ITEMS, fb)
    assert pred.answer == "4" and not pred.format_ok


def test_a_text_answer_citing_a_profile_item_is_no_answer_and_is_asked_again() -> None:
    fb = FakeBackend(["the tweet.", f"{S2} [P1] writes lowercase with hashtags.",
                      f"{S3} lovin the beach.</think>[P1] lovin the sun today!! #beachlife",
                      "lovin the beach weather #beachlife"])
    pred = R2PMethod(srm=False).predict(TWEET_SAMPLE, TWEET, TWEET_ITEMS, fb)
    fmt = _checks(pred, "answer_format")
    assert not fmt[0]["ok"] and "method's own text" in fmt[0]["detail"]
    assert pred.answer == "lovin the beach weather #beachlife"


def test_a_second_cue_is_tried_only_when_the_first_gives_no_answer() -> None:
    think = ["One digit.", f"{S2} [P1] gave 4 to a gift card.", f"{S3} So 4.</think>"]
    fb = FakeBackend([*think, "", "4"])  # nothing after "Answer:", then "4"
    pred = R2PMethod(srm=False).predict(REVIEW, RATING, REVIEW_ITEMS, fb)
    assert fb.calls[-2]["prefill"].endswith("</think>\n\nAnswer:")
    assert fb.calls[-1]["prefill"].endswith("</think>\n\nFinal answer: ")
    present = [e for e in pred.trace if e.get("name") == "answer_present"]
    assert len(present) == 1 and not present[0]["ok"] and pred.answer == "4" and pred.format_ok
    assert pred.interventions == 0  # asking again is no intervention
    fb = FakeBackend([*think, "4"])
    R2PMethod(srm=False).predict(REVIEW, RATING, REVIEW_ITEMS, fb)
    assert len(fb.calls) == 4  # a valid first answer: no second cue
    fb = FakeBackend(["the user likes it", "", "5"])  # think: same fallback
    pred = get_method("think", max_thought_tokens=8).predict(REVIEW, RATING, REVIEW_ITEMS, fb)
    assert [c["prefill"][-14:] for c in fb.calls[1:]] == ["</think>\n\nAnswer:"[-14:],
                                                         "\n\nFinal answer: "[-14:]]
    assert pred.answer == "5"


def test_an_answer_with_a_parroted_correction_keeps_its_own_part() -> None:
    # the loop correction "I am going in circles. I have my answer now." closes the thought in
    # stage 3; the model appends it to its tweet: the tweet is kept, not the whole line refused
    loopy = f"{S3} lovin the beach. lovin the beach weather today. lovin the beach weather today."
    fb = FakeBackend(["the tweet.", f"{S2} [P1] writes lowercase with hashtags.", loopy,
                      " lovin the beach weather. I am going in circles.",
                      "I am going in circles."])  # the format retry only parrots
    pred = R2PMethod(srm=False).predict(TWEET_SAMPLE, TWEET, TWEET_ITEMS, fb)
    fmt = _checks(pred, "answer_format")
    assert "own text removed" in fmt[0]["detail"] and not fmt[0]["ok"]
    assert len(fb.calls) == 5  # no second cue once a valid answer is in hand
    assert pred.answer == "lovin the beach weather." and not pred.format_ok


def test_a_format_retry_that_makes_it_worse_keeps_the_earlier_valid_answer() -> None:
    fb = FakeBackend(["the tweet.", f"{S2} [P1] writes lowercase with hashtags.",
                      f"{S3} lovin the beach.</think>1. lovin the beach weather #beachlife",
                      "Wait, my answer must be the paraphrased tweet on a single line"])
    pred = R2PMethod(srm=False).predict(TWEET_SAMPLE, TWEET, TWEET_ITEMS, fb)
    assert pred.interventions == 1  # the format correction was tried ...
    assert pred.answer == "lovin the beach weather #beachlife"  # ... and its echo not taken


def test_text_answers_need_a_letter_and_contracted_echoes_are_caught() -> None:
    from r2p.methods.answers import normalize_text
    from r2p.methods.r2p.intervene import echoes_scaffold

    for junk in (".", "1.", "...", "17", "- -"):
        assert not normalize_text(TWEET, junk).valid, junk
    assert normalize_text(TWEET, "Über 9000!").valid and normalize_text(TWEET, "ok").valid
    fix = "I am going in circles. I have my answer now."
    assert echoes_scaffold("I'm going in circles.", [fix])
    assert echoes_scaffold("I’m going in circles.", [fix])  # typographic apostrophe
    assert not echoes_scaffold("I'm going to the beach today", [fix])
