"""RPI's intervention loop driven by the scripted FakeBackend through the real method code."""

from __future__ import annotations

import pytest

from r2p.backends.fake import FakeBackend
from r2p.errors import ConfigError
from r2p.methods.r2p import STAGE_MARKERS, R2PMethod
from r2p.tasks import get_task
from r2p.types import Retrieved, Sample

S1, S2, S3 = STAGE_MARKERS
TASK = get_task("LaMP_3")
SAMPLE = Sample("q1", "What is the score of the following review on a scale of 1 to 5? "
                "review: A lovely gift card, my niece was thrilled.", [])
RETRIEVED = [
    Retrieved({"id": "p1", "text": "Love this gift card, perfect present for my mom",
               "score": "5"}, 2.0, 0),
    Retrieved({"id": "p2", "text": "Card arrived late and the balance was wrong",
               "score": "2"}, 1.0, 1),
]


def _run(replies: list[str], **opts: object) -> tuple[object, FakeBackend]:
    fb = FakeBackend(replies)
    method = R2PMethod(srm=False, **opts)  # type: ignore[arg-type]
    pred = method.predict(SAMPLE, TASK, RETRIEVED, fb)
    assert fb.remaining == 0, "every scripted reply must be consumed"
    return pred, fb


def _events(pred: object, type_: str) -> list[dict]:
    return [e for e in pred.trace if e["type"] == type_]  # type: ignore[attr-defined]


def test_clean_thought_triggers_no_intervention() -> None:
    pred, fb = _run([
        "I must give one digit from 1 to 5.",
        f"{S2} [P1] gave 5 to a gift card she loved; [P2] gave 2 for a late card.",
        f"{S3} This review is glowing, like [P1], so 5.</think>5",
    ])
    assert pred.answer == "5" and pred.format_ok
    assert pred.interventions == 0 and not _events(pred, "intervention")
    assert pred.n_calls == 3 and pred.method == "hrt_rpi"
    assert fb.calls[0]["prefill"] == "<think>\n" + S1 + " "
    # each continuation's prefill extends the previous one byte for byte
    for prev, nxt in zip(fb.calls, fb.calls[1:]):
        assert nxt["prefill"].startswith(prev["prefill"])
    assert all(c["stop"] == ["\n\n"] for c in fb.calls)
    assert pred.retrieved_ids == ["p1", "p2"]
    assert [e["stage"] for e in _events(pred, "segment")] == [1, 2, 3]
    checks = _events(pred, "check")
    assert checks and all(c["ok"] for c in checks)
    assert any(c["name"] == "answer_format" for c in checks)


def test_drift_triggers_one_injection_and_the_continuation_follows_it() -> None:
    pred, fb = _run([
        "I must give one digit from 1 to 5.",
        f"{S2} The weather is nice today and I like trains.",
        f"{S3} The answer is 4.",  # stage 2 never used the profile: cut here
        "[P1] shows a 5 for a gift card she loved, so this user is generous.",
        f"{S3} A glowing review from a generous user: 5.</think>5",
    ])
    interventions = _events(pred, "intervention")
    assert len(interventions) == 1 and pred.interventions == 1
    inj = interventions[0]
    assert inj["reason"] == "grounding"
    assert "not used the user's profile" in inj["text"]
    # the call after the intervention continues from the injected text
    assert fb.calls[3]["prefill"].endswith(inj["text"])
    # ... cut back to the clean boundary: the ungrounded stage 3 is gone
    assert "The answer is 4." not in fb.calls[3]["prefill"]
    assert fb.calls[3]["prefill"][len("<think>\n") + inj["position"]:] == inj["text"]
    assert fb.calls[3]["prefill"][:len("<think>\n") + inj["position"]] == fb.calls[2][
        "prefill"][:len("<think>\n") + inj["position"]]
    assert pred.answer == "5" and pred.format_ok
    assert "[P1] shows a 5" in pred.reasoning and "The answer is 4." not in pred.reasoning
    failed = [c for c in _events(pred, "check") if not c["ok"]]
    assert [c["name"] for c in failed] == ["grounding"]


def test_cap_closes_the_thought_and_asks_for_the_answer() -> None:
    pred, fb = _run([
        "I must give one digit from 1 to 5.",
        f"{S2} Wait. Hmm. Wait. Hmm. Wait.",  # hesitation run -> intervention 1
        "Wait. Hmm. Wait.",  # loops again -> cap reached -> close
        "4",
    ], max_interventions=1)
    assert pred.interventions == 1
    cap = [c for c in _events(pred, "check") if c["name"] == "intervention_cap"]
    assert len(cap) == 1 and not cap[0]["ok"]
    last = fb.calls[-1]["prefill"]
    assert last.endswith("</think>\n\nAnswer:") and "Time to give the answer" in last
    assert TASK.format_hint in last
    assert pred.answer == "4" and pred.n_calls == 4


def test_skipped_stage_is_reinstated() -> None:
    pred, fb = _run([
        "I must give one digit from 1 to 5.",
        f"{S3} 5.",
        "[P1] and [P2] show a user who rewards good gift cards.",
        f"{S3} 5.</think>5",
    ])
    inj = _events(pred, "intervention")
    assert [e["reason"] for e in inj] == ["stage_order"]
    assert fb.calls[2]["prefill"].endswith(S2 + " ")
    assert pred.answer == "5"


def test_stage_budget_moves_on_to_the_next_stage() -> None:
    pred, fb = _run([
        "One digit from 1 to 5 is required. Nothing else may be written. Only the digit.",
        "[P1] gave 5 to a loved gift card.",
        f"{S3} So 5.</think>5",
    ], stage_budgets=(8, 200, 160))
    inj = _events(pred, "intervention")
    assert [e["reason"] for e in inj] == ["stage_budget"]
    assert fb.calls[1]["prefill"].endswith("That is enough for this stage.\n\n" + S2 + " ")
    assert "Only the digit." not in fb.calls[1]["prefill"]
    assert pred.answer == "5"


def test_answer_off_format_is_corrected_once() -> None:
    pred, fb = _run([
        "One digit.",
        f"{S2} [P1] gave 5 to a gift card.",
        f"{S3} 5.</think>The score is 5 because the user loves gift cards.",
        "5",
    ])
    inj = _events(pred, "intervention")
    assert [e["reason"] for e in inj] == ["answer_format"]
    assert fb.calls[-1]["prefill"].endswith(inj[0]["text"] + "\n</think>\n\nAnswer:")
    assert pred.answer == "5" and pred.format_ok


def test_without_rpi_one_call_and_checks_only_recorded() -> None:
    fb = FakeBackend([f"1\n{S3} 5</think>5"])
    pred = R2PMethod(rpi=False, srm=False).predict(SAMPLE, TASK, RETRIEVED, fb)
    assert pred.method == "hrt" and pred.n_calls == 1 and pred.interventions == 0
    assert fb.calls[0]["stop"] is None
    failed = [e for e in pred.trace if e["type"] == "check" and not e["ok"]]
    assert failed and failed[0]["name"] == "stage_order"  # stage 2 skipped, but not acted on
    assert pred.answer == "5"


def test_native_reasoning_backend_is_not_prefilled_and_gets_a_follow_up_turn() -> None:
    fb = FakeBackend([
        f"<think>{S1} a digit.\n{S2} nothing to say.\n{S3} 4</think>4",
        f"<think>{S1} a digit.\n{S2} [P1] loved a gift card.\n{S3} 5</think>5",
    ], native_reasoning=True)
    pred = R2PMethod(srm=False).predict(SAMPLE, TASK, RETRIEVED, fb)
    assert all(c["prefill"] is None for c in fb.calls)
    assert pred.interventions == 1 and pred.answer == "5"
    follow_up = fb.calls[1]["messages"][-1]
    assert follow_up["role"] == "user" and "profile" in follow_up["content"]
    assert "[P1] loved" in pred.reasoning


def test_names_and_option_errors() -> None:
    assert R2PMethod().name == "r2p"
    assert R2PMethod(selection="similarity").name == "r2p_sim"
    assert R2PMethod(srm=False).name == "hrt_rpi"
    assert R2PMethod(rpi=False, srm=False).name == "hrt"
    assert R2PMethod(hrt=False, srm=False).name == "think_rpi"
    with pytest.raises(ConfigError, match="selection"):
        R2PMethod(selection="best")
    with pytest.raises(ConfigError, match="n_candidates"):
        R2PMethod(n_candidates=0)
    with pytest.raises(ConfigError, match="stage_budgets"):
        R2PMethod(stage_budgets=(1, 2))
    with pytest.raises(ConfigError, match="stage_budgets"):
        R2PMethod(stage_budgets="a,b,c")
    assert R2PMethod(stage_budgets="10, 20,30").stage_budgets == (10, 20, 30)
    with pytest.raises(ConfigError, match="bogus"):
        R2PMethod(bogus=1)


def test_invalid_rating_is_repaired_from_the_thought_and_recorded() -> None:
    fb = FakeBackend([f"x\n{S2} [P1].\n{S3} I would say 4 stars.</think>great!"])
    pred = R2PMethod(rpi=False, srm=False).predict(SAMPLE, TASK, RETRIEVED, fb)
    assert pred.answer == "4" and not pred.format_ok
    repair = [e for e in pred.trace if e["type"] == "check" and e["name"] == "answer_repair"]
    assert len(repair) == 1 and "stage 3" in repair[0]["detail"]


def test_invalid_label_falls_back_to_the_users_most_frequent_label() -> None:
    task = get_task("LaMP_2N")
    items = [Retrieved({"id": str(i), "title": "t", "text": "x", "category": c}, 1.0, i)
             for i, c in enumerate(["sports", "politics", "sports"])]
    fb = FakeBackend([f"x\n{S2} [P1].\n{S3} no idea.</think>no idea"])
    pred = R2PMethod(rpi=False, srm=False).predict(SAMPLE, task, items, fb)
    assert pred.answer == "sports" and not pred.format_ok


def test_empty_text_answer_is_taken_from_the_draft_in_stage_three_or_left_empty() -> None:
    task = get_task("LaMP_7")
    sample = Sample("t", "Paraphrase the following tweet: sunny day at the beach", [])
    fb = FakeBackend([f"x\n{S2} [P1].\n{S3} Draft:\nbeach day in the sun!</think>\n\n", "",
                      ""])  # no answer after either cue
    pred = R2PMethod(rpi=False, srm=False).predict(sample, task, RETRIEVED, fb)
    assert pred.answer == "beach day in the sun!" and not pred.format_ok
    fb = FakeBackend([f"x\n{S2} [P1].\n{S3}</think>\n\n", "Stage 3 - Response: again",
                      "Stage 3 - Response: again"])
    pred = R2PMethod(rpi=False, srm=False).predict(sample, task, RETRIEVED, fb)
    assert pred.answer == "" and not pred.format_ok  # no draft: no invented text


def test_rating_without_stage_three_falls_back_to_the_profile_prior() -> None:
    items = [*RETRIEVED, Retrieved({"id": "p3", "text": "ok", "score": "2"}, 0.5, 2)]
    fb = FakeBackend([f"a digit from 1 to 5.\n{S2} [P1].</think>no idea"])
    pred = R2PMethod(rpi=False, srm=False).predict(SAMPLE, TASK, items, fb)
    assert pred.answer == "2" and not pred.format_ok  # p2 and p3 say 2; never "1" of "1 to 5"
