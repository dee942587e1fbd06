"""The one registry mechanism (r2p.registry) and the four registries built on it: tasks,
retrievers, methods and backends share one unknown-name error and one option check."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from r2p.backends.registry import REGISTRY as BACKENDS
from r2p.backends.registry import check_options, get_backend
from r2p.errors import ConfigError, MissingDependencyError, UnknownNameError
from r2p.methods.registry import REGISTRY as METHODS
from r2p.methods.registry import get_method
from r2p.registry import Entry, Registry
from r2p.retrieval.registry import REGISTRY as RETRIEVERS
from r2p.retrieval.registry import get_retriever
from r2p.tasks import REGISTRY as TASKS
from r2p.tasks import get_task


class Box:
    def __init__(self, size: int, *, colour: str = "red") -> None:
        self.size, self.colour = size, colour


class Bigger(Box):
    def __init__(self, *, lid: bool = True, **options: Any) -> None:
        super().__init__(**options)
        self.lid = lid


class Plain:
    pass


def fails(x: int = 0) -> None:
    raise TypeError("deep inside")


class Opts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = Field(1, ge=1)


def takes_anything(**options: Any) -> dict[str, Any]:
    return options


def _registry(**kw: Any) -> Registry[Any]:
    return Registry("thing", [
        Entry("box", Box, summary="a box"),
        Entry("big", Box, preset={"size": 9}),
        Entry("fails", fails),
        Entry("modelled", takes_anything, options=f"{__name__}:Opts"),
        Entry("ghost", Box, ("r2p_no_such_module",), "pip install ghost"),
        Entry("bigger", Bigger),
        Entry("plain", Plain),
    ], **kw)


def test_unknown_name_lists_the_names() -> None:
    reg = _registry()
    assert reg.names() == ("box", "big", "fails", "modelled", "ghost", "bigger", "plain")
    with pytest.raises(UnknownNameError, match="unknown thing 'bag'; choose from: big, bigger, box, "):
        reg.get("bag")
    with pytest.raises(UnknownNameError, match="unknown thing '3'"):
        reg.get(3)  # type: ignore[arg-type]
    assert "box" in reg and "bag" not in reg and 3 not in reg


def test_options_checked_against_the_signature() -> None:
    reg = _registry(flag="-x")
    assert reg.get("box", size=2).size == 2
    with pytest.raises(ConfigError, match="thing 'box' has no option 'hue'; its options: "
                                          "size, colour"):
        reg.get("box", size=2, hue="blue")
    with pytest.raises(ConfigError, match=r"thing 'box' needs size \(give -x size=...\)"):
        reg.get("box")
    # the preset comes first, the user's options win
    assert reg.get("big").size == 9 and reg.get("big", size=3).size == 3
    # **options passed on to the base class: the base's options count too
    assert reg.get("bigger", size=1, lid=False).size == 1
    with pytest.raises(ConfigError, match="thing 'bigger' has no option 'hue'; its options: "
                                          "lid, size, colour"):
        reg.get("bigger", size=1, hue=2)
    with pytest.raises(ConfigError, match="thing 'plain' has no option 'x'; its options: none"):
        reg.get("plain", x=1)
    # a TypeError from inside the factory is one ConfigError line
    with pytest.raises(ConfigError, match="thing 'fails': deep inside"):
        reg.get("fails")


def test_types_checked_only_where_the_registry_says() -> None:
    assert _registry().check("box", {"size": "2"}) == {"size": "2"}
    typed = _registry(check_types=True)
    assert typed.check("box", {"size": "2"}) == {"size": 2}
    assert typed.check("bigger", {"size": "2", "lid": "no"}) == {"size": 2, "lid": False}
    with pytest.raises(ConfigError, match="thing 'box' option size: .*got 'two'"):
        typed.check("box", {"size": "two"})


def test_options_model_checks_names_and_values() -> None:
    reg = _registry()
    assert reg.get("modelled", n=3) == {"n": 3}
    with pytest.raises(ConfigError, match="thing 'modelled' has no option 'm'; its options: n"):
        reg.get("modelled", m=1)
    with pytest.raises(ConfigError, match="thing 'modelled' option n: Input should be greater"):
        reg.get("modelled", n=0)


def test_missing_dependency_names_the_install_command() -> None:
    with pytest.raises(MissingDependencyError, match="the 'ghost' thing .*pip install ghost"):
        _registry().get("ghost", size=1)


# --- the four registries go through the same path ------------------------------------------

def test_every_registry_is_a_registry() -> None:
    for reg, kind in ((TASKS, "task"), (RETRIEVERS, "retriever"), (METHODS, "method"),
                      (BACKENDS, "backend")):
        assert isinstance(reg, Registry) and reg.kind == kind


@pytest.mark.parametrize(("build", "kind"), [
    (get_task, "task"), (get_retriever, "retriever"), (get_method, "method"),
    (get_backend, "backend"),
])
def test_unknown_names(build: Any, kind: str) -> None:
    with pytest.raises(UnknownNameError, match=f"^unknown {kind} 'nope'; choose from: "):
        build("nope")


@pytest.mark.parametrize(("build", "name", "kind"), [
    (TASKS.get, "LaMP_7", "task"), (get_retriever, "bm25", "retriever"),
    (get_retriever, "random", "retriever"), (get_method, "rag", "method"),
    (get_method, "think", "method"), (get_method, "direct", "method"),
    (get_method, "r2p", "method"), (get_backend, "fake", "backend"),
])
def test_unknown_options(build: Any, name: str, kind: str) -> None:
    with pytest.raises(ConfigError, match=f"^{kind} '{name}' has no option 'bogus'; its options: "):
        build(name, bogus=1)


def test_names_are_normalized_per_registry() -> None:
    assert get_task(" lamp-7 ").name == "LaMP_7" and get_task("GENERIC").name == "generic"
    assert get_retriever(" BM25 ").name == "bm25"
    with pytest.raises(UnknownNameError):
        get_method("RAG")  # method and backend names are exact
    with pytest.raises(UnknownNameError):
        get_backend("Fake")


def test_retriever_options_listed() -> None:
    with pytest.raises(ConfigError, match="its options: tokenization, k1, b, cache_size$"):
        get_retriever("bm25", seed=1)
    with pytest.raises(ConfigError, match="retriever 'none' has no option 'k'; its options: none"):
        get_retriever("none", k=1)


def test_r2p_options_are_checked_by_the_registry() -> None:
    # R2PMethod takes **options: the registry checks them against R2PConfig's fields
    with pytest.raises(ConfigError, match="^method 'hrt' has no option 'stage_budget'; its "
                                          "options: hrt, rpi, srm, n_candidates"):
        get_method("hrt", stage_budget=3)
    # values: R2PConfig's own validation, before the method is built
    with pytest.raises(ConfigError, match="^R2P option n_candidates: Input should be"):
        METHODS.check("r2p", {"n_candidates": 0})
    with pytest.raises(ConfigError, match="^R2P option selection"):
        get_method("r2p_llm", selection="best")
    assert METHODS.check("hrt", {"n_candidates": 3}) == {
        "hrt": True, "rpi": False, "srm": False, "n_candidates": 3}
    m = get_method("hrt_rpi", n_candidates=3)
    assert m.name == "hrt_rpi" and m.options()["n_candidates"] == 3  # type: ignore[attr-defined]


def test_backend_values_are_typed_and_required_options_named() -> None:
    assert check_options("openai", {"base_url": "http://h/v1", "model": "m",
                                    "timeout": "30"})["timeout"] == 30.0
    with pytest.raises(ConfigError, match=r"backend 'openai' needs base_url, model "
                                          r"\(give --base-url URL, --model NAME\)"):
        check_options("openai", {})
    with pytest.raises(ConfigError, match="backend 'openai' option timeout: .*got 'soon'"):
        check_options("openai", {"base_url": "http://h/v1", "model": "m", "timeout": "soon"})
