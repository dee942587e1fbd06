"""The single <think> parser: every shape a model or server produces."""

from r2p.reasoning import merge_reasoning, split_reasoning


def test_inline_think_block() -> None:
    s = split_reasoning("<think>\nweigh [P1]\n</think>\n\n[1]")
    assert (s.reasoning, s.answer, s.closed) == ("weigh [P1]", "[1]", True)


def test_template_opened_thought_has_only_closing_tag() -> None:
    s = split_reasoning("the user likes sports</think>sports")
    assert s.reasoning == "the user likes sports"
    assert s.answer == "sports"


def test_unclosed_thought_has_no_answer() -> None:
    s = split_reasoning("<think>still going")
    assert s.closed is False and s.answer == "" and s.reasoning == "still going"
    s2 = split_reasoning("still going", started_open=True)
    assert s2.closed is False and s2.reasoning == "still going"


def test_plain_answer_without_thought() -> None:
    s = split_reasoning("  4 ")
    assert (s.reasoning, s.answer, s.closed) == ("", "4", True)


def test_case_insensitive_tags_and_text_before_block() -> None:
    s = split_reasoning("<THINK>a</Think>b")
    assert (s.reasoning, s.answer) == ("a", "b")


def test_merge_separate_reasoning_field_with_inline() -> None:
    m = merge_reasoning("<think>inline</think>answer", "from field")
    assert m.reasoning == "from field\ninline"
    assert m.answer == "answer"
    assert merge_reasoning("answer", None).reasoning == ""
