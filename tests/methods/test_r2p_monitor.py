"""R2P's monitor: every pure check on hand-built thoughts (no model)."""

from __future__ import annotations

from r2p.methods.r2p import STAGE_MARKERS, find_loops, profile_grounding, stage_coverage
from r2p.methods.r2p.intervene import RPIConfig, check_thought
from r2p.methods.r2p.monitor import (
    approx_tokens,
    cited_items,
    current_stage,
    loop_spans,
    split_stages,
)

S1, S2, S3 = STAGE_MARKERS
ITEMS = ["Love this gift card, perfect present for my mom -> score: 5",
         "Card arrived late and the balance was wrong -> score: 2"]


def test_stage_coverage_orders_and_tolerates_marker_variants() -> None:
    thought = f"{S1} a\n**Stage 2: User profile** b\n  stage 3 — response: c"
    assert stage_coverage(thought) == [1, 2, 3]
    assert stage_coverage(f"{S1} x\n{S3} y\n{S2} z") == [1, 3, 2]
    # a mention inside a sentence is not a marker
    assert stage_coverage(f"{S1} I will reach stage 2 later.") == [1]
    assert stage_coverage("no stages at all") == []
    assert current_stage(f"{S1} a\n{S2} b") == 2


def test_split_stages_returns_each_stage_text() -> None:
    parts = split_stages(f"pre\n{S1} one\n{S2} two\n{S3} three")
    assert parts[0].strip() == "pre"
    assert parts[1].strip() == "one" and parts[2].strip() == "two"
    assert parts[3].strip() == "three"


def test_find_loops_clean_text_has_none() -> None:
    text = ("The user rates gift cards highly. Most reviews are short. "
            "This review is positive, so a high score fits.")
    assert find_loops(text) == []


def test_find_loops_repeated_sentence_with_cut_before_second_copy() -> None:
    sent = "The user likes comedy films a lot."
    text = f"{sent} Something else entirely here. {sent}"
    loops = loop_spans(text)
    assert len(loops) == 1 and "repeated sentence" in loops[0][1]
    assert loops[0][0] == text.rindex(sent)
    # short sentences may recur
    assert find_loops("Yes. Yes. Yes.") == []


def test_find_loops_hesitation_run() -> None:
    text = "Wait, no. Hmm, maybe. Alternatively it is 3. Wait, 4? Actually 5."
    loops = find_loops(text)
    assert any("hesitation run" in d for d in loops)
    assert find_loops("Wait, no. Hmm, maybe. Fine, it is 4.") == []


def test_find_loops_run_on_phrase_without_sentence_breaks() -> None:
    text = " ".join(["the user's answer must be a single digit from one"] * 3)
    loops = find_loops(text)
    assert loops and "repeated phrase" in loops[0]


def test_profile_grounding_citations_overlap_and_none() -> None:
    assert profile_grounding(f"{S2} [P1] and [P2] show a generous user.", ITEMS) == 1.0
    assert profile_grounding("[P1] shows it.", ITEMS) == 0.5
    # out-of-range citations do not count
    assert cited_items("[P9] and [P2]", 2) == [2]
    # lexical overlap alone: words of the first item
    g = profile_grounding("A gift card as a present for mom is loved.", ITEMS)
    assert 0.4 < g <= 1.0
    assert profile_grounding("The weather is nice.", ITEMS) == 0.0
    assert profile_grounding("[P1] anything", []) == 0.0


def test_approx_tokens_counts_words_and_punctuation() -> None:
    assert approx_tokens("Hello, world!") == 4
    assert approx_tokens("") == 0


def _check(thought: str, closing: bool = False, **cfg: object):
    return check_thought(thought, closing=closing, retrieved_texts=ITEMS,
                         cfg=RPIConfig(**cfg))  # type: ignore[arg-type]


def test_check_stage_skipped() -> None:
    thought = f"{S1} one digit.\n\n{S3} 5"
    _checks, bad, fix = _check(thought)
    assert bad is not None and bad.name == "stage_order"
    assert bad.cut == thought.index(S3)
    assert fix.endswith(S2 + " ") and "skipped Stage 2" in fix


def test_check_closed_before_all_stages() -> None:
    _checks, bad, fix = _check(f"{S1} one digit.\n\n{S2} [P1] says 5.", closing=True)
    assert bad is not None and bad.name == "stage_order" and "Stage 3" in bad.detail
    assert fix.endswith(S3 + " ")


def test_check_grounding_only_once_stage_two_is_over() -> None:
    ungrounded = f"{S1} one digit.\n\n{S2} The weather is nice."
    assert _check(ungrounded)[1] is None  # stage 2 still open
    thought = ungrounded + f"\n\n{S3} 5"
    _, bad, fix = _check(thought)
    assert bad is not None and bad.name == "grounding" and bad.cut == thought.index(S3)
    assert "not used the user's profile" in fix
    grounded = f"{S1} one digit.\n\n{S2} [P1] loved a gift card.\n\n{S3} 5"
    checks, bad, _ = _check(grounded)
    assert bad is None and any(c.name == "grounding" and c.ok for c in checks)


def test_check_loop_and_budget() -> None:
    loop = f"{S1} The answer must be one digit only. The answer must be one digit only."
    _, bad, fix = _check(loop)
    assert bad is not None and bad.name == "loop" and "circles" in fix
    assert bad.cut == loop.rindex("The answer")
    # a loop is reported before the budget it also breaks
    long = f"{S1} " + "This is a sentence of the task. " * 6
    _, bad, fix = _check(long, stage_budgets=(10, 200, 160))
    assert bad is not None and bad.name == "loop"
    varied = f"{S1} " + " ".join(f"Point {w} matters here." for w in "abcdefgh")
    _, bad, fix = _check(varied, stage_budgets=(10, 200, 160))
    assert bad is not None and bad.name == "stage_budget"
    assert fix.endswith(S2 + " ") and bad.cut is not None and bad.cut < len(varied)
    _, bad, fix = _check(f"{S1} a.\n{S2} [P1] [P2].\n{S3} " + " ".join(f"w{i}" for i in range(30)),
                         stage_budgets=(100, 100, 10))
    assert bad is not None and bad.name == "stage_budget" and fix.endswith("</think>")


def test_clean_thought_passes_every_check() -> None:
    thought = (f"{S1} one digit from 1 to 5.\n\n{S2} [P1] gave 5 to a gift card, [P2] gave 2 "
               f"for a late card.\n\n{S3} The review is positive, so 5.")
    checks, bad, fix = _check(thought, closing=True)
    assert bad is None and fix == ""
    assert {c.name for c in checks} >= {"stage_order", "grounding", "loop", "stage_budget"}
    assert all(c.ok for c in checks)


def test_injected_corrections_are_not_loops_nor_grounding() -> None:
    inj = ("Wait, I have not used the user's profile yet. Let me look at [P1] and [P2] and "
           "see what they show about this user.")
    thought = (f"{S1} one digit.\n\n{S2} Wait, hmm. {inj} Wait, what. {inj} Hmm, ok."
               f"\n\n{S3} 5")
    # counted as the model's own words, the two copies are a loop and cite [P1], [P2]
    assert _check(thought)[1] is not None
    checks, bad, _ = check_thought(thought, closing=False, retrieved_texts=ITEMS,
                                   cfg=RPIConfig(), injected=(inj,))
    assert bad is not None and bad.name == "grounding"
    assert not any(c.name == "loop" and not c.ok for c in checks)
