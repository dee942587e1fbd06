"""direct / rag / think with the fake backend, the reference shots, and the method registry.

Budget: well under 2 s (no model).
"""

from __future__ import annotations

import pytest

from r2p.backends.fake import FakeBackend
from r2p.errors import ConfigError, UnknownNameError
from r2p.methods.base import Method
from r2p.methods.direct import DirectMethod
from r2p.methods.rag import RAGMethod
from r2p.methods.registry import METHODS, get_method
from r2p.methods.shots import ApproxCounter, build_prompt
from r2p.methods.think import ThinkMethod
from r2p.tasks import get_task
from r2p.types import Prediction, Retrieved, Sample

LAMP3_INPUT = ("What is the score of the following review on a scale of 1 to 5? just answer "
               "with 1, 2, 3, 4, or 5 without further explanation. review: Great gift card")


def _ret(*items: dict[str, str]) -> list[Retrieved]:
    return [Retrieved(item=dict(it), score=1.0 / (i + 1), rank=i) for i, it in enumerate(items)]


PROFILE3 = _ret({"id": "a", "text": "great card for my mom", "score": "5"},
                {"id": "b", "text": "the card arrived broken", "score": "2"})


class WordCounter:
    """A counter where every whitespace word is one token (makes budgets easy to reason on)."""

    def count(self, text: str) -> int:
        return len(text.split())

    def truncate(self, text: str, max_tokens: int) -> str:
        return " ".join(text.split()[: max(max_tokens, 0)])


# --- shots: the reference prompt format --------------------------------------------------------

def test_shots_format_per_task() -> None:
    lamp3 = build_prompt(get_task("LaMP_3"), "Q review: x", [p.item for p in PROFILE3])
    assert lamp3 == ('5 is the score for "great card for my mom" , and 2 is the score for '
                     '"the card arrived broken" . Q review: x')
    n = build_prompt(get_task("LaMP_2N"), "Which? article: y",
                     [{"id": "1", "title": "T", "text": "body", "category": "sports"}])
    assert n == 'the category for the article: "body" is "sports" . Which? article: y'
    m = build_prompt(get_task("LaMP_2"), "Which tag? description: z",
                     [{"id": "1", "description": "a film", "tag": "comedy"}])
    assert m == 'the tag for the movie: "a film" is "comedy" . Which tag? description: z'
    h = build_prompt(get_task("LaMP_4"), "Generate: w",
                     [{"id": "1", "title": "Head", "text": "story"}])
    assert h == '"Head" is the title for "story" . Generate: w'
    t = build_prompt(get_task("LaMP_5"), "Generate a title: v",
                     [{"id": "1", "title": "Paper", "abstract": "we study"}])
    assert t == '"Paper" is a title for "we study" . Following the given patterns Generate a title: v'
    tw = build_prompt(get_task("LaMP_7"), "Paraphrase: u",
                      [{"id": "1", "text": "hi all"}, {"id": "2", "text": "bye"}])
    assert tw == ('"hi all" , and "bye"  are written by a person. Following the given patterns '
                  "Paraphrase: u")


def test_lamp1_titles_go_after_the_first_title() -> None:
    inp = ('For an author who has written the paper with the title "X", which reference is '
           'related? [1]: "A" [2]: "B"')
    out = build_prompt(get_task("LaMP_1"), inp,
                       [{"id": "1", "title": "P one", "abstract": "..."},
                        {"id": "2", "title": "P two", "abstract": "..."}])
    assert out == ('For an author who has written the paper with the title, and "P one", and '
                   '"P two" "X", which reference is related? [1]: "A" [2]: "B"')


def test_k0_gives_the_input_unchanged() -> None:
    assert build_prompt(get_task("LaMP_3"), LAMP3_INPUT, []) == LAMP3_INPUT


def test_budget_split_evenly_with_carry_over() -> None:
    # budget 40 words, input 6 words -> 34 for the shots. LaMP-7's tail is 9 words, the final
    # "." 1, one ", and " joiner 2: (34 - 10 - 2) // 2 = 11 per item. The wrapper '" " ' is
    # 2 words, so each item may keep 9 words of text.
    c = WordCounter()
    long = " ".join(f"w{i}" for i in range(50))
    short = "tiny text"
    inp = "Paraphrase the tweet: a b c"
    out = build_prompt(get_task("LaMP_7"), inp, [{"id": "1", "text": short},
                                                {"id": "2", "text": long}],
                       max_length=40, counter=c)
    first, second = out.split(" , and ")
    assert first == '"tiny text"'
    kept = second.split('"')[1].split()
    # the 2-word first item leaves 11 - 2 - 2 = 7 unused: the second keeps 9 + 7 = 16 words
    assert kept == [f"w{i}" for i in range(16)]


def test_long_items_are_truncated_to_the_budget() -> None:
    c = ApproxCounter()
    text = "word " * 2000
    items = [{"id": str(i), "text": text, "score": "3"} for i in range(4)]
    out = build_prompt(get_task("LaMP_3"), LAMP3_INPUT, items, max_length=512, counter=c)
    assert c.count(out) <= 512 + 8  # the budget, up to the reference's rounding slack
    assert out.count("is the score for") == 4
    assert out.endswith(LAMP3_INPUT)


def test_approx_counter_truncates_at_piece_boundaries() -> None:
    c = ApproxCounter()
    assert c.count("") == 0
    assert c.truncate("alpha, beta gamma", 2) == "alpha,"
    assert c.truncate("alpha beta", 0) == ""
    assert c.count("internationalization") == 4  # 20 letters: 1 + 19 // 6


# --- direct and rag ---------------------------------------------------------------------------

def test_rag_sends_one_user_message_with_the_reference_prompt() -> None:
    fb = FakeBackend(["4"])
    s = Sample("q1", LAMP3_INPUT, [p.item for p in PROFILE3])
    pred = RAGMethod().predict(s, get_task("LaMP_3"), PROFILE3, fb)
    assert isinstance(pred, Prediction)
    assert pred.answer == "4" and pred.format_ok and pred.method == "rag"
    assert pred.retrieved_ids == ["a", "b"]
    call = fb.calls[0]
    assert call["messages"] == [{"role": "user", "content": build_prompt(
        get_task("LaMP_3"), LAMP3_INPUT, [p.item for p in PROFILE3])}]
    assert call["prefill"] is None and call["max_tokens"] == 8 and call["temperature"] == 0.0
    assert pred.prompts[0]["messages"] == call["messages"]
    assert pred.n_calls == 1 and pred.usage.completion_tokens == 1
    types = [e["type"] for e in pred.trace]
    assert types == ["segment", "check", "decision"]
    assert pred.trace[1]["name"] == "answer_format" and pred.trace[1]["ok"] is True


def test_rag_normalizes_and_flags_format() -> None:
    fb = FakeBackend(["The score is 5 out of 5."])
    pred = RAGMethod(system="Be brief.").predict(Sample("q", LAMP3_INPUT, []),
                                                 get_task("LaMP_3"), PROFILE3, fb)
    assert pred.answer == "5" and pred.format_ok is False
    assert pred.raw_output == "The score is 5 out of 5."
    assert fb.calls[0]["messages"][0] == {"role": "system", "content": "Be brief."}


def test_rag_keeps_a_native_thought_out_of_the_answer() -> None:
    fb = FakeBackend(["<think>the user rates high</think>5"], native_reasoning=True)
    pred = RAGMethod().predict(Sample("q", LAMP3_INPUT, []), get_task("LaMP_3"), [], fb)
    assert pred.answer == "5" and pred.reasoning == "the user rates high"


def test_direct_ignores_retrieved_items() -> None:
    fb = FakeBackend(["[1]"])
    inp = 'the title "X", which? [1]: "A" [2]: "B"'
    pred = DirectMethod().predict(Sample("q", inp, []), get_task("LaMP_1"),
                                  _ret({"id": "p", "title": "T", "abstract": "z"}), fb)
    assert fb.calls[0]["messages"] == [{"role": "user", "content": inp}]
    assert pred.retrieved_ids == [] and pred.answer == "[1]" and pred.method == "direct"


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        RAGMethod(max_prompt_tokens=0)
    with pytest.raises(ConfigError):
        ThinkMethod(max_thought_tokens=-1)
    with pytest.raises(ConfigError):
        RAGMethod(temperature=5)


# --- think ------------------------------------------------------------------------------------

def _checks(pred: Prediction) -> dict[str, dict[str, object]]:
    return {e["name"]: e for e in pred.trace if e["type"] == "check"}


def test_think_prefills_and_splits_thought_from_answer() -> None:
    fb = FakeBackend(["The user gave 5 to a great card for mom.\n</think>\n\n5"])
    s = Sample("q", LAMP3_INPUT, [])
    pred = ThinkMethod(max_thought_tokens=50).predict(s, get_task("LaMP_3"), PROFILE3, fb)
    assert fb.calls[0]["prefill"] == "<think>\n"
    assert fb.calls[0]["max_tokens"] == 50 + 8
    assert pred.reasoning == "The user gave 5 to a great card for mom."
    assert pred.answer == "5" and pred.format_ok is True and pred.n_calls == 1
    checks = _checks(pred)
    assert checks["thought_closed"]["ok"] is True
    assert checks["thought_budget"]["ok"] is True and checks["loop"]["ok"] is True
    assert checks["grounding"]["ok"] is True and checks["grounding"]["value"] > 0
    assert checks["answer_format"]["ok"] is True
    seg = [e for e in pred.trace if e["type"] == "segment"]
    assert [e["part"] for e in seg] == ["thought", "answer"]


def test_think_closes_an_unfinished_thought_and_asks_for_the_answer() -> None:
    rambling = " ".join(["hmm"] * 100)
    fb = FakeBackend([rambling, "3"])
    pred = ThinkMethod(max_thought_tokens=20).predict(
        Sample("q", LAMP3_INPUT, []), get_task("LaMP_3"), PROFILE3, fb)
    assert fb.calls[0]["max_tokens"] == 28
    second = fb.calls[1]["prefill"]
    assert second.startswith("<think>\n") and second.endswith("\n</think>\n\nAnswer:")
    assert pred.answer == "3" and pred.n_calls == 2
    assert pred.format_ok is False  # the raw output never gave an answer by itself
    checks = _checks(pred)
    assert checks["thought_closed"]["ok"] is False
    assert "not closed" in str(checks["thought_closed"]["detail"])
    assert checks["thought_budget"]["value"] == 28 and checks["thought_budget"]["ok"] is False
    forced = [e for e in pred.trace if e["type"] == "segment" and e.get("forced")]
    assert len(forced) == 1


def test_think_asks_for_a_missing_answer() -> None:
    fb = FakeBackend(["short thought</think>", "[2]"])
    inp = 'the title "X", which? [1]: "A" [2]: "B"'
    pred = ThinkMethod().predict(Sample("q", inp, []), get_task("LaMP_1"), [], fb)
    assert pred.answer == "[2]" and pred.n_calls == 2 and pred.format_ok is False
    assert _checks(pred)["answer_present"]["ok"] is False
    assert "grounding" not in _checks(pred)  # nothing retrieved, nothing to ground in


def test_think_records_loops_and_ignored_profile() -> None:
    loop = "I should check the score again. " * 4
    fb = FakeBackend([loop + "</think>4"])
    pred = ThinkMethod().predict(Sample("q", LAMP3_INPUT, []), get_task("LaMP_3"),
                                 _ret({"id": "z", "text": "quantum chromodynamics", "score": "1"}),
                                 fb)
    checks = _checks(pred)
    assert checks["loop"]["ok"] is False and "repeated" in str(checks["loop"]["detail"])
    assert checks["grounding"]["ok"] is False and checks["grounding"]["value"] == 0.0
    assert pred.answer == "4"


def test_think_uses_native_reasoning_without_prefill() -> None:
    fb = FakeBackend(["<think>considering [P1]</think>\nsports"], native_reasoning=True)
    inp = "Which category? article: the match"
    pred = ThinkMethod().predict(Sample("q", inp, []), get_task("LaMP_2N"), [], fb)
    assert fb.calls[0]["prefill"] is None
    assert pred.reasoning == "considering [P1]" and pred.answer == "sports"
    assert pred.format_ok is True


# --- registry ---------------------------------------------------------------------------------

def test_registry_names_and_errors() -> None:
    assert METHODS == ("direct", "rag", "think", "hrt", "hrt_rpi", "r2p", "r2p_llm")
    for name in ("direct", "rag", "think"):
        m = get_method(name)
        assert isinstance(m, Method) and m.name == name
    with pytest.raises(UnknownNameError, match="choose from"):
        get_method("cot")
    with pytest.raises(ConfigError, match="no_such"):
        get_method("rag", no_such=1)
    assert get_method("think", max_thought_tokens=64).max_thought_tokens == 64  # type: ignore


@pytest.mark.parametrize(
    ("name", "hrt", "rpi", "srm", "selection"),
    [("hrt", True, False, False, "similarity"), ("hrt_rpi", True, True, False, "similarity"),
     ("r2p", True, True, True, "similarity"), ("r2p_llm", True, True, True, "llm")],
)
def test_registry_builds_r2p_ablations(name: str, hrt: bool, rpi: bool, srm: bool,
                                       selection: str) -> None:
    m = get_method(name)
    assert type(m).__name__ == "R2PMethod" and m.name == name
    c = m.config  # type: ignore[attr-defined]
    assert (c.hrt, c.rpi, c.srm, c.selection) == (hrt, rpi, srm, selection)


def test_registry_user_options_override_presets() -> None:
    m = get_method("r2p", n_candidates=5)
    assert m.config.n_candidates == 5  # type: ignore[attr-defined]
