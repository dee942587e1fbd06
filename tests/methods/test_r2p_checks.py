"""RPI's checks and corrections: pure functions over text (no model)."""

from __future__ import annotations

from r2p.methods.r2p import corrections
from r2p.methods.r2p.checks import (
    PromptRuns,
    StageWatch,
    echoes_scaffold,
    grounding_check,
    sentence_start,
    stage_order_of,
    strip_scaffold,
)
from r2p.methods.r2p.monitor import STAGE_MARKERS

S1, S2, S3 = STAGE_MARKERS
PROMPT = ("Stage 2 - User profile: in two or three short sentences of your own, how this user "
          "writes.\n[P1] @FantasyDreamer Nope. The only bit I supplied was the tea and cake\n"
          "[P2] off to the gym again, legs day")


def test_copy_is_found_wherever_it_starts_and_cut_at_its_sentence() -> None:
    runs = PromptRuns([PROMPT], 8)
    text = "This user is terse. They wrote [P1] @FantasyDreamer Nope. The only bit I supplied"
    hit = runs.find(text)
    assert hit is not None and hit[1].startswith("p1 fantasydreamer nope the only")
    assert sentence_start(text, hit[0]) == text.index("They wrote")
    # the template's own instructions copied back count too; case and punctuation do not hide it
    assert runs.find("IN TWO OR THREE SHORT SENTENCES OF YOUR OWN, HOW") is not None
    # own words sharing a few words with an item are no copy
    assert runs.find("This user writes short replies about tea and cake, often with mentions.") \
        is None


def test_stage_watch_stops_on_copy_loop_and_markers() -> None:
    runs = PromptRuns([PROMPT], 8)
    w = StageWatch(2, runs, k=2)
    assert w(" [P1] and [P2] show a casual, short style") is False
    assert w(" Short. The only bit I supplied was the tea and cake") is True
    assert w.violation is not None and w.violation.check.name == "copy"
    assert w.violation.cut == len(" Short. ")
    assert w.violation.correction == corrections.for_copy(2)
    w = StageWatch(2, runs, k=2)
    loop = " This user likes short posts a lot. This user likes short posts a lot."
    assert w(loop) is True and w.violation is not None and w.violation.check.name == "loop"
    assert w.violation.correction.then == "next_stage"
    # the next stage's marker ends the stage normally; an earlier one is a violation
    w = StageWatch(2, runs, k=2)
    assert w(f" [P1] is casual.\n{S3} 4") is True and w.violation is None
    assert w.moved_on == len(" [P1] is casual.\n")
    w = StageWatch(2, runs, k=2)
    assert w(f" [P1] is casual.\n{S1} again") is True
    assert w.violation is not None and w.violation.check.name == "stage_order"


def test_injected_corrections_are_not_loops() -> None:
    fix = corrections.for_copy(2).text
    text = f" {fix} writes a lot. {fix} writes little."
    assert StageWatch(2, None, 2)(text) is True  # the correction twice reads as a loop
    assert StageWatch(2, None, 2, injected=(fix,))(text) is False


def test_grounding_does_not_count_corrections() -> None:
    items = ["gift card for mum", "late delivery of a card"]
    fix = corrections.for_grounding(2).text
    assert grounding_check("[P1] and [P2] show a generous user.", items, 0.25).ok
    assert not grounding_check(f"The weather is nice. {fix} likes", items, 0.25, (fix,)).ok
    assert grounding_check(f"The weather is nice. {fix} likes", items, 0.25).ok


def test_corrections_are_typed_values() -> None:
    c = corrections.for_format("a single digit")
    assert (c.reason, c.then) == ("answer_format", "close") and "a single digit" in c.text
    assert corrections.for_loop(3).then == "close" and corrections.for_budget(2).then == \
        "next_stage"
    assert corrections.cite_hint(1) == "[P1]" and corrections.for_copy(0).text.endswith("that")


def test_stage_order_of_finished_thoughts() -> None:
    assert stage_order_of(f"{S1} a\n{S2} b\n{S3} c").ok
    assert not stage_order_of(f"{S1} a\n{S3} c").ok


def test_answers_that_parrot_the_method_are_found_and_cleaned() -> None:
    fix = "Wait, my answer must be one line. Let me state it exactly that way."
    assert echoes_scaffold("Let me state it exactly that way.", [fix])
    assert not echoes_scaffold("peach cobbler wins every time", [fix])
    assert strip_scaffold(f"{fix} peach cobbler wins", [fix]).strip() == "peach cobbler wins"
