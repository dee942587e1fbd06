"""The task registry: names, label sets and retrieval queries cut as the reference code does."""

import pytest

from r2p.errors import UnknownNameError
from r2p.tasks import MOVIE_TAGS, NEWS_CATEGORIES, TASKS, get_task


def test_every_lamp_task_is_registered_with_consistent_fields() -> None:
    assert set(TASKS) == {f"LaMP_{k}" for k in ("1", "2", "2N", "3", "4", "5", "6", "7")}
    for t in TASKS.values():
        assert t.metrics
        assert (t.labels is None) == (t.kind == "generation")
        if t.output_field is not None:
            assert t.output_field in t.profile_fields
    assert len(MOVIE_TAGS) == 15 and len(NEWS_CATEGORIES) == 15


def test_lookup_is_tolerant_and_unknown_names_list_choices() -> None:
    assert get_task("lamp-7").name == "LaMP_7"
    with pytest.raises(UnknownNameError, match="LaMP_7"):
        get_task("LaMP_9")


def test_queries_are_cut_from_the_input() -> None:
    lamp1 = get_task("LaMP_1").query(
        'For an author who has written the paper with the title "X", which reference is '
        'related? Just answer with [1] or [2] without explanation. [1]: "Alpha beta" [2]: "Gamma"'
    )
    assert lamp1 == "Alpha beta Gamma"
    assert get_task("LaMP_3").query("What is the score ... review: Great card.") == "Great card."
    assert get_task("LaMP_7").query("Paraphrase the following tweet: a: b") == "a: b"
    assert get_task("LaMP_2N").query("categories: [a, b] article: Text here") == "Text here"


def test_index_text_joins_the_task_fields() -> None:
    item = {"id": "1", "title": "T", "abstract": "A"}
    assert get_task("LaMP_5").index_text(item) == "T A"
    assert get_task("LaMP_7").index_text({"id": "2", "text": "tweet"}) == "tweet"
