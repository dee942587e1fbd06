"""Answer extraction: one normalizer per task kind, and the format_ok measure."""

from __future__ import annotations

import pytest

from r2p.methods.answers import normalize
from r2p.tasks import get_task


@pytest.mark.parametrize(
    ("task", "raw", "text", "ok", "valid"),
    [
        # exact labels comply
        ("LaMP_1", "[2]", "[2]", True, True),
        ("LaMP_1", "  [1]\n", "[1]", True, True),
        ("LaMP_2N", "sports", "sports", True, True),
        # tolerant of case, brackets, quotes and "The answer is ..."
        ("LaMP_1", "Answer: 1", "[1]", False, True),
        ("LaMP_1", "The answer is [2].", "[2]", False, True),
        ("LaMP_1", "Between 1 and 2, I pick [2]", "[2]", False, True),
        ("LaMP_1", "reference 2", "[2]", False, True),
        ("LaMP_1", "neither", "neither", False, False),
        ("LaMP_2N", "Sports", "sports", False, True),
        ("LaMP_2N", '"politics"', "politics", False, True),
        ("LaMP_2N", "**Answer:** Style & Beauty", "style & beauty", False, True),
        ("LaMP_2N", "The category is: crime.", "crime", False, True),
        ("LaMP_2N", "I think this is about politics, not sports", "politics", False, True),
        ("LaMP_2", "it is a dark comedy", "dark comedy", False, True),
        # whole words only: "transaction" does not mention "action"
        ("LaMP_2", "a transaction about classic cars", "classic", False, True),
        ("LaMP_2", "a transaction", "a transaction", False, False),
        # ratings: the first valid digit, scale mentions ignored
        ("LaMP_3", "4", "4", True, True),
        ("LaMP_3", "4.0", "4", False, True),
        ("LaMP_3", "On a scale of 1 to 5, I would give it 4.", "4", False, True),
        ("LaMP_3", "3 out of 5", "3", False, True),
        ("LaMP_3", "Rating: 2/5", "2", False, True),
        ("LaMP_3", "four stars", "4", False, True),
        ("LaMP_3", "10", "10", False, False),
        ("LaMP_3", "", "", False, False),
        # generated text: first clean line
        ("LaMP_7", "a clean tweet", "a clean tweet", True, True),
        ("LaMP_7", 'Here is the paraphrased tweet:\n"Hello world"', "Hello world", False, True),
        ("LaMP_7", '"Hello world"', "Hello world", False, True),
        ("LaMP_7", "Paraphrased tweet: off to class", "off to class", False, True),
        ("LaMP_7", '**Paraphrase:** "Hi" she said', '"Hi" she said', False, True),
        ("LaMP_7", "line one\n(This keeps the tone.)", "line one", False, True),
        ("LaMP_4", "Headline: Storm hits coast", "Storm hits coast", False, True),
        ("LaMP_7", "   \n ", "", False, False),
    ],
)
def test_normalize_cases(task: str, raw: str, text: str, ok: bool, valid: bool) -> None:
    ans = normalize(get_task(task), raw)
    assert (ans.text, ans.format_ok, ans.valid) == (text, ok, valid)


def test_reasoning_is_stripped_before_normalizing() -> None:
    t = get_task("LaMP_3")
    assert normalize(t, "<think>maybe 2 or 3</think>5").text == "5"
    assert normalize(t, "<think>maybe 2 or 3</think>5").format_ok is True
    # thought opened by the prompt, closed in the output
    assert normalize(t, "scores 1..5 considered</think>\n4", started_open=True).text == "4"


def test_unclosed_thought_has_no_answer() -> None:
    ans = normalize(get_task("LaMP_2N"), "<think>it could be sports or politics")
    assert ans.text == "" and not ans.valid and not ans.format_ok


def test_label_earliest_mention_prefers_longest_at_same_position() -> None:
    # "dark comedy" and "comedy" both occur; the longer label starting first wins
    assert normalize(get_task("LaMP_2"), "this film: dark comedy").text == "dark comedy"


def test_lamp1_answer_quoting_an_option_maps_to_its_label() -> None:
    inp = ('For an author who has written the paper with the title "X", which reference is '
           'related? Just answer with [1] or [2] without explanation. '
           '[1]: "Gstring: A Novel Approach For Efficient Search In Graph Databases" '
           '[2]: "Process fault detection based on modeling and estimation methods"')
    t = get_task("LaMP_1")
    # cut off by the token limit mid-title, still clearly option [1]
    cut = 'The reference to "Gstring: A Novel Approach For Efficient Search In Graph Dat'
    assert normalize(t, cut, task_input=inp).text == "[1]"
    assert normalize(t, "process fault detection based on modeling", task_input=inp).text == "[2]"
    # too short to tell, and without the input there is nothing to map to
    assert normalize(t, "Gstring", task_input=inp).valid is False
    assert normalize(t, cut).valid is False
