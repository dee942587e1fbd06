"""R2P's monitor: every pure check on hand-built thoughts (no model)."""

from __future__ import annotations

from r2p.methods.r2p import STAGE_MARKERS, find_loops, profile_grounding, stage_coverage
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
