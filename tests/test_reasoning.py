"""The single <think> parser: every shape a model or server produces."""

from r2p.reasoning import Split, merge_reasoning, split_output, split_reasoning


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


# -- split_output: the one split every backend routes its output through -----------------------

def test_output_with_think_tags() -> None:
    assert split_output("<think> weigh [P1] </think>\n[1]", native=True) == Split("weigh [P1]",
                                                                                  "[1]")


def test_output_with_a_reasoning_field() -> None:
    assert split_output(" [1] ", native=True, reasoning_field=" weigh [P1] ") == Split(
        "weigh [P1]", "[1]")
    # a field and an inline block: both are the thought, the field first
    assert split_output("<think>b</think>[1]", native=True, reasoning_field="a") == Split(
        "a\nb", "[1]")


def test_output_inside_a_thought_the_template_opened() -> None:
    assert split_output("weigh [P1]</think> [1]", native=True, started_open=True) == Split(
        "weigh [P1]", "[1]")
    assert split_output("weigh [P1]", native=True, started_open=True) == Split(
        "weigh [P1]", "", closed=False)  # unclosed: no answer


def test_output_with_an_unclosed_thought_of_its_own() -> None:
    assert split_output("<think>still going", native=True) == Split("still going", "",
                                                                    closed=False)


def test_output_with_no_thought() -> None:
    assert split_output(" [1] ", native=True) == Split("", "[1]")
    # not a reasoning model: the text as generated; a field is still the reasoning
    assert split_output(" <think>a</think>[1] ", native=False) == Split(
        "", " <think>a</think>[1] ")
    assert split_output(" [1]", native=False, reasoning_field=" a ") == Split("a", " [1]")


def test_a_continued_prefill_gets_the_raw_continuation() -> None:
    for native in (True, False):
        assert split_output(" a</think> [1]", native=native, continued=True,
                            started_open=True) == Split("", " a</think> [1]")
    # a thought the server's parser moved to its field is put back in front
    assert split_output(" [1]", native=True, continued=True, reasoning_field="a") == Split(
        "", "a</think> [1]")
    assert split_output("", native=True, continued=True, reasoning_field="a b") == Split(
        "", "a b")


def test_merge_reasoning_is_split_output_of_a_native_model() -> None:
    for content, field in (("<think>x</think>y", "f"), ("y", None), ("<think>x", "")):
        assert merge_reasoning(content, field) == split_output(content, native=True,
                                                               reasoning_field=field)
