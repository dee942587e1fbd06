"""Fixes found in the quality study's traces (Qwen2.5-0.5B): the method's own text (corrections,
the closing line, the format hint) is never taken for the model's answer; loop corrections move
on; think-tag debris is no answer; v2 prompts are the default."""

from __future__ import annotations

from r2p.backends.fake import FakeBackend
from r2p.methods.answers import normalize_text
from r2p.methods.r2p import STAGE_MARKERS, R2PMethod
from r2p.methods.r2p.hrt import PROMPT_VERSION, hrt_messages
from r2p.methods.r2p.intervene import echoes_scaffold, strip_scaffold
from r2p.tasks import get_task
from r2p.types import Retrieved, Sample

S1, S2, S3 = STAGE_MARKERS
RATING = get_task("LaMP_3")
TWEET = get_task("LaMP_7")
REVIEW = Sample("q1", "What is the score of the following review on a scale of 1 to 5? "
                "review: A lovely gift card, my niece was thrilled.", [])
TWEET_Q = Sample("t", "Paraphrase the following tweet: sunny day at the beach", [])
ITEMS = [
    Retrieved({"id": "p1", "text": "Love this gift card, perfect present for my mom",
               "score": "4"}, 2.0, 0),
    Retrieved({"id": "p2", "text": "Card arrived late and the balance was wrong",
               "score": "4"}, 1.0, 1),
]


def _checks(pred: object, name: str) -> list[dict]:
    return [e for e in pred.trace  # type: ignore[attr-defined]
            if e["type"] == "check" and e["name"] == name]


def test_v2_is_the_default_and_asks_for_citations_and_a_last_line_answer() -> None:
    assert PROMPT_VERSION == "v2" and R2PMethod().prompt_version == "v2"
    for task in ("LaMP_1", "LaMP_2N", "LaMP_3", "LaMP_7", "LaMP_4"):
        user = hrt_messages(get_task(task), REVIEW, ITEMS)[-1]["content"]
        assert "citing at least two of them" in user
        assert "final answer alone on the last line" in user
    v1 = hrt_messages(RATING, REVIEW, ITEMS, version="v1")[-1]["content"]
    assert "citing them as [P1], [P2], ..." in v1  # v1 is kept as it was


def test_think_tag_lines_are_not_a_text_answer() -> None:
    for debris in ("[/think]", "<think>\n", "</think>", "< /think >"):
        assert not normalize_text(TWEET, debris).valid
    a = normalize_text(TWEET, "</think>\nbeach day!")
    assert a.text == "beach day!" and a.valid and not a.format_ok  # two raw lines
    assert normalize_text(TWEET, "I [think] so").text == "I [think] so"


def test_echo_and_strip_scaffold() -> None:
    fix = "Wait, I have not used the user's profile yet. Let me look at [P1] and [P2]."
    assert echoes_scaffold("Please note that you have not used the user's profile yet.", [fix])
    assert not echoes_scaffold("beach day in the sun with my girls", [fix, TWEET.format_hint])
    assert echoes_scaffold("The paraphrased tweet on a single line, no quotes.",
                           [TWEET.format_hint])
    text = f"So 4. {fix}\nTime to give the answer: {RATING.format_hint}."
    out = strip_scaffold(text, [fix, f"Time to give the answer: {RATING.format_hint}.",
                                RATING.format_hint])
    assert "4" in out and "1 to 5" not in out and "profile" not in out


def test_repair_after_the_cap_ignores_the_closing_line_that_names_the_format() -> None:
    # stage 3 states nothing; the closing line "Time to give the answer: a single digit from
    # 1 to 5" must not be read as the answer "1": the profile prior (4) is used instead
    fb = FakeBackend([
        "I must give one digit.",
        f"{S2} [P1] gave 4 to a gift card; [P2] gave 4 too.",
        f"{S3} Hmm. Wait. Hmm. Wait. Hmm.",  # hesitation run -> cap (0 interventions allowed)
        "no idea",
        "still no idea",  # asked once more, after the second cue
    ])
    pred = R2PMethod(srm=False, max_interventions=0).predict(REVIEW, RATING, ITEMS, fb)
    assert "Time to give the answer" in pred.reasoning
    repair = _checks(pred, "answer_repair")
    assert len(repair) == 1 and not repair[0]["ok"] and "most frequent" in repair[0]["detail"]
    assert pred.answer == "4" and not pred.format_ok


def test_parroted_correction_is_no_text_answer_and_the_draft_is_used() -> None:
    fb = FakeBackend([
        "Keep the meaning.",
        f"{S2} The weather is nice.",
        f"{S3} sunny.",  # ungrounded stage 2 -> the one allowed intervention
        "[P1] and [P2] write short lines about cards.",
        # the answer after </think> is a copy of the correction
        f"{S3} beach day in the sun!</think>Please note that I have not used the user's "
        "profile yet.",
    ])
    pred = R2PMethod(srm=False, max_interventions=1).predict(TWEET_Q, TWEET, ITEMS, fb)
    fmt = _checks(pred, "answer_format")
    assert fmt and not fmt[-1]["ok"] and "repeats the method's own text" in fmt[-1]["detail"]
    assert pred.answer == "beach day in the sun!" and not pred.format_ok


def test_draft_lines_that_restate_the_format_are_skipped() -> None:
    fb = FakeBackend([f"x\n{S2} [P1].\n{S3} beach day in the sun!\n"
                      f"The paraphrased tweet on a single line, no quotes, no explanation."
                      f"</think>\n[/think]"])
    pred = R2PMethod(rpi=False, srm=False).predict(TWEET_Q, TWEET, ITEMS, fb)
    assert pred.answer == "beach day in the sun!" and not pred.format_ok


def test_loop_in_stage_two_moves_on_to_stage_three_in_one_correction() -> None:
    fb = FakeBackend([
        "One digit.",
        f"{S2} [P1] gave 4 to a gift card. [P1] gave 4 to a gift card. [P2] gave 4.",
        "This review is glowing, so 4.</think>4",
    ])
    pred = R2PMethod(srm=False).predict(REVIEW, RATING, ITEMS, fb)
    inj = [e for e in pred.trace if e["type"] == "intervention"]
    assert [e["reason"] for e in inj] == ["loop"]
    assert fb.calls[2]["prefill"].endswith("I am going in circles.\n\n" + S3 + " ")
    assert pred.answer == "4" and pred.format_ok and pred.interventions == 1


def test_loop_in_stage_three_closes_the_thought_keeping_the_first_draft() -> None:
    fb = FakeBackend([
        "Keep the meaning.",
        f"{S2} [P1] writes short happy lines; [P2] complains about cards.",
        f"{S3} beach day in the sun! beach day in the sun! beach day in the sun!",
        "beach day in the sun!",
    ])
    pred = R2PMethod(srm=False).predict(TWEET_Q, TWEET, ITEMS, fb)
    assert [e["reason"] for e in pred.trace if e["type"] == "intervention"] == ["loop"]
    last = fb.calls[-1]["prefill"]
    assert last.endswith("I have my answer now.\n</think>\n\nAnswer:")
    assert pred.answer == "beach day in the sun!" and pred.format_ok


def test_grounding_correction_leaves_a_sentence_for_the_model_to_finish() -> None:
    fb = FakeBackend([
        "One digit.",
        f"{S2} The weather is nice.",
        f"{S3} 3.",
        "loved this gift card, and [P2] gave 4 as well.",
        f"{S3} 4.</think>4",
    ])
    pred = R2PMethod(srm=False).predict(REVIEW, RATING, ITEMS, fb)
    inj = [e for e in pred.trace if e["type"] == "intervention"]
    assert inj[0]["reason"] == "grounding" and inj[0]["text"].endswith("[P1] shows that this user")
    assert pred.answer == "4"


def test_a_bare_preamble_is_no_text_answer() -> None:
    assert not normalize_text(TWEET, ", the answer is:").valid
    assert normalize_text(TWEET, "The answer is: beach day").text == "beach day"
    assert normalize_text(TWEET, "the answer is simple, go").text == "the answer is simple, go"


def test_draft_prefers_an_introduced_answer_and_skips_stubs() -> None:
    from r2p.methods.r2p.method import draft_of
    stage3 = "1. beach day, the user is happy\nFinal answer: beach day in the sun!\n2. ok\n17."
    assert draft_of(TWEET, stage3, []).text == "beach day in the sun!"  # type: ignore[union-attr]
    assert draft_of(TWEET, "1. sunny beach day today\n17.", []).text == "sunny beach day today"  # type: ignore[union-attr]
    assert draft_of(TWEET, "17.\nok", []) is None


def test_the_answer_is_asked_for_with_a_cue_after_the_closed_thought() -> None:
    from r2p.methods.r2p.intervene import ANSWER_CUE
    fb = FakeBackend(["One digit.", f"{S2} [P1] gave 4 to a gift card; [P2] gave 4 too.",
                      f"{S3} A glowing review: 4.</think>", " 4"])
    pred = R2PMethod(srm=False).predict(REVIEW, RATING, ITEMS, fb)
    assert fb.calls[-1]["prefill"].endswith("</think>\n\n" + ANSWER_CUE)
    assert pred.answer == "4" and pred.format_ok
