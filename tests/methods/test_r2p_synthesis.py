"""The user's synthesis (``synthesis="user"``): written once per profile version over a
sample of the history, reused by every later thought of that user, never served stale."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from _r2p_support import S1, S2, S3, staged_model

from r2p.backends.fake import FakeBackend
from r2p.errors import ConfigError
from r2p.methods.r2p import R2PMethod
from r2p.methods.r2p.synthesis import (
    HISTORY_REQUEST,
    SYNTHESES,
    Synthesis,
    SynthesisCache,
    as_history,
    history_sample,
)
from r2p.tasks import get_task
from r2p.types import Retrieved, Sample

RATING = get_task("LaMP_3")
PROFILE = [{"id": f"p{i}", "text": f"review number {i} of a gift card", "score": str(1 + i % 5)}
           for i in range(9)]
OWN = " [P1] and [P2] show a generous user who rewards a card that arrives well."


def _review(i: int, profile: list[dict[str, Any]] = PROFILE) -> Sample:
    return Sample(f"r{i}", "What is the score of the following review on a scale of 1 to 5? "
                  f"review: card {i} arrived on time.", profile)


def _retrieved(profile: list[dict[str, Any]]) -> list[Retrieved]:
    return [Retrieved(profile[0], 1.0, 0), Retrieved(profile[1], 0.9, 1)]


def _checks(pred: Any) -> list[dict[str, Any]]:
    return [e for e in pred.trace if e["type"] == "check" and e["name"] == "user_synthesis"]


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    SYNTHESES.clear()


def test_the_synthesis_is_written_once_and_reused_by_later_queries() -> None:
    parts: list[str] = []
    fb = FakeBackend(staged_model(OWN, " A fair review.", " 4", log=parts))
    m = R2PMethod(synthesis="user", srm=False)
    first = m.predict(_review(1), RATING, _retrieved(PROFILE), fb)
    assert parts == ["stage2", "stage3", "answer"]
    # written from the history sample, with no request in its prompt
    prompt = fb.calls[0]["messages"][-1]["content"]
    assert HISTORY_REQUEST in prompt and "card 1 arrived" not in prompt
    assert all(f"review number {i} " in prompt for i in (0, 3, 5, 8))
    assert [c["ok"] for c in _checks(first)] == [True] and "writing" in _checks(first)[0]["detail"]
    n_first = len(fb.calls)

    parts.clear()
    second = R2PMethod(synthesis="user", srm=False).predict(  # a new instance, as a server
        _review(2), RATING, _retrieved(PROFILE), fb)
    assert parts == ["stage3", "answer"]  # stage 2 was not generated again
    assert len(fb.calls) - n_first == 2 and second.n_calls == 2
    stage3_prefill = fb.calls[n_first]["prefill"]
    # prefilled, the sample's citations renamed (they do not name this query's items)
    assert f"{S2} [H1] and [H2] show a generous user who rewards a card that arrives well.\n\n{S3}" \
        in stage3_prefill
    assert "card 2 arrived" in fb.calls[n_first]["messages"][-1]["content"]
    assert "reused" in _checks(second)[0]["detail"] and _checks(second)[0]["ok"]
    assert second.usage.completion_tokens < first.usage.completion_tokens
    assert second.answer == "4" and "generous user" in second.reasoning


def test_a_changed_profile_gets_a_new_synthesis() -> None:
    fb = FakeBackend(staged_model(OWN, " A fair review.", " 4"))
    m = R2PMethod(synthesis="user", srm=False)
    m.predict(_review(1), RATING, _retrieved(PROFILE), fb)
    grown = [*PROFILE, {"id": "p9", "text": "a late card, box torn", "score": "1"}]
    pred = m.predict(_review(2, grown), RATING, _retrieved(grown), fb)
    assert "writing" in _checks(pred)[0]["detail"] and len(SYNTHESES) == 2
    # other options that shape stage 2 are part of the key as well
    pred = R2PMethod(synthesis="user", srm=False, synthesis_tokens=32).predict(
        _review(3), RATING, _retrieved(PROFILE), fb)
    assert "writing" in _checks(pred)[0]["detail"]


def test_query_mode_is_the_default_and_writes_stage_two_every_time() -> None:
    parts: list[str] = []
    fb = FakeBackend(staged_model(OWN, " A fair review.", " 4", log=parts))
    for i in range(2):
        pred = R2PMethod(srm=False).predict(_review(i), RATING, _retrieved(PROFILE), fb)
        assert not _checks(pred)
    assert parts.count("stage2") == 2 and len(SYNTHESES) == 0


def test_no_profile_or_no_continuable_thought_writes_its_own_stage_two() -> None:
    parts: list[str] = []
    fb = FakeBackend(staged_model(OWN, " A fair review.", " 4", log=parts))
    pred = R2PMethod(synthesis="user", srm=False).predict(_review(1, []), RATING, [], fb)
    assert _checks(pred)[0]["ok"] is False and "empty" in _checks(pred)[0]["detail"]
    assert parts[0] == "stage2" and len(SYNTHESES) == 0


def test_corrections_inside_the_synthesis_stay_the_methods_own_text() -> None:
    fb = FakeBackend(staged_model([" The weather is nice today.",
                                   " rewards every gift card, as review number 2 shows."]))
    m = R2PMethod(synthesis="user", srm=False, max_interventions=2)
    first = m.predict(_review(1), RATING, _retrieved(PROFILE), fb)
    assert [e["reason"] for e in first.trace if e["type"] == "intervention"] == ["grounding"]
    key = _checks(first)[0]["detail"].split("key ")[1][:12]
    cached = next(s for k, s in SYNTHESES._entries.items() if k.startswith(key))
    assert cached.injected and cached.injected[0] in cached.text


def test_an_empty_synthesis_is_kept_and_said_on_every_query_that_uses_it() -> None:
    # the model pastes its prompt back from its first word: RPI cuts the stage at once
    fb = FakeBackend(staged_model(" " + HISTORY_REQUEST + " It is long.", " A fair review.", " 4"))
    preds = [R2PMethod(synthesis="user", srm=False).predict(_review(i), RATING,
                                                            _retrieved(PROFILE), fb)
             for i in (1, 2)]
    for pred in preds:
        failed = [c for c in _checks(pred) if not c["ok"]]
        assert len(failed) == 1 and "synthesis is empty" in failed[0]["detail"]
    assert len(SYNTHESES) == 1 and next(iter(SYNTHESES._entries.values())).text == ""
    assert "reused" in _checks(preds[1])[0]["detail"]


def test_user_synthesis_needs_hrt_and_a_valid_item_count() -> None:
    with pytest.raises(ConfigError, match="R2P options: synthesis='user' .* needs hrt=True"):
        R2PMethod(synthesis="user", hrt=False)
    with pytest.raises(ConfigError, match="R2P option synthesis_items"):
        R2PMethod(synthesis="user", synthesis_items=0)
    with pytest.raises(ConfigError, match="R2P option synthesis"):
        R2PMethod(synthesis="session")


def test_history_sample_spreads_over_the_profile() -> None:
    items = [{"id": str(i)} for i in range(7)]
    assert [x["id"] for x in history_sample(items, 3)] == ["0", "3", "6"]
    assert [x["id"] for x in history_sample(items, 1)] == ["6"]
    assert history_sample(items[:2], 4) == items[:2]
    assert history_sample([], 4) == []


def test_history_citations_are_renamed() -> None:
    assert as_history("As [P1] and [P12] show, kind (P2).") == "As [H1] and [H12] show, kind (P2)."
    assert as_history("no citations here") == "no citations here"


def test_concurrent_requests_for_one_key_compute_it_once() -> None:
    cache = SynthesisCache()
    calls: list[int] = []

    def slow() -> Synthesis:
        calls.append(1)
        time.sleep(0.05)
        return Synthesis("likes tea", 1.0, "k", 2)

    got: list[tuple[Synthesis, bool]] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("k", slow)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and sorted(f for _, f in got) == [False, False, False, True]


def test_a_failed_synthesis_is_not_cached_and_the_lru_bound_holds() -> None:
    cache = SynthesisCache(max_entries=2)

    def boom() -> Synthesis:
        raise RuntimeError("engine down")

    with pytest.raises(RuntimeError):
        cache.get("k", boom)
    s, fresh = cache.get("k", lambda: Synthesis("x", 0.0, "k", 1))
    assert fresh and s.text == "x"
    for key in ("a", "b"):
        cache.get(key, lambda: Synthesis("y", 0.0, "k", 1))
    assert len(cache) == 2 and cache.get("k", lambda: Synthesis("z", 0.0, "k", 1))[1]


def test_a_native_thought_that_can_be_continued_reuses_it_and_a_follow_up_one_does_not() -> None:
    native = FakeBackend(staged_model(OWN, " A fair review.", " 4"), native_reasoning=True,
                         thought_prefill=True)
    for i in range(2):
        pred = R2PMethod(synthesis="user", srm=False).predict(_review(i), RATING,
                                                              _retrieved(PROFILE), native)
    assert "reused" in _checks(pred)[0]["detail"]
    chat_only = FakeBackend([f"<think>{S1} one digit.\n{S2} [P1] is kind.\n{S3} 4</think>4"],
                            native_reasoning=True)
    pred = R2PMethod(synthesis="user", srm=False).predict(_review(3), RATING,
                                                          _retrieved(PROFILE), chat_only)
    assert _checks(pred)[0]["ok"] is False and "cannot continue" in _checks(pred)[0]["detail"]
    assert pred.answer == "4"
