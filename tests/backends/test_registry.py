"""Backend registry: names, lazy construction, clear errors; `r2p backends`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from r2p.backends.fake import FakeBackend
from r2p.backends.registry import BACKENDS, BackendSpec, get_backend
from r2p.cli.main import main
from r2p.errors import ConfigError, MissingDependencyError, UnknownNameError


def test_names() -> None:
    assert {"llamacpp", "openai", "hf", "fake"} <= set(BACKENDS)


def test_get_fake_with_options() -> None:
    b = get_backend("fake", replies=["hi"])
    assert isinstance(b, FakeBackend)
    assert b.generate([{"role": "user", "content": "x"}]).text == "hi"


def test_unknown_name_lists_valid() -> None:
    with pytest.raises(UnknownNameError) as info:
        get_backend("llama")
    msg = str(info.value)
    assert "'llama'" in msg and "fake, hf, llamacpp, openai" in msg


def test_unknown_option_lists_accepted() -> None:
    with pytest.raises(ConfigError, match="no option 'thread'.*threads"):
        get_backend("llamacpp", thread=2)


def test_missing_dependency_names_install(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = BackendSpec("ghost", "r2p_no_such_module:Ghost", ("r2p_no_such_module",),
                       "pip install ghost-engine", "test only")
    monkeypatch.setitem(BACKENDS, "ghost", spec)
    assert not spec.installed()
    with pytest.raises(MissingDependencyError, match="pip install ghost-engine"):
        get_backend("ghost")


def test_registry_import_loads_no_engine() -> None:
    code = ("import sys, r2p.backends.registry as r; r.BACKENDS['llamacpp'].installed(); "
            "print(sorted(m for m in ('xllamacpp', 'httpx', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_cli_backends_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "INSTALLED", "DESCRIPTION"]
    for name in BACKENDS:
        assert any(line.startswith(name + " ") for line in lines)


def test_cli_backends_json_marks_missing(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    spec = BackendSpec("ghost", "x:Y", ("r2p_no_such_module",), "pip install ghost", "test")
    monkeypatch.setitem(BACKENDS, "ghost", spec)
    assert main(["backends", "--json"]) == 0
    table = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert table["ghost"]["installed"] is False
    assert table["fake"]["installed"] is True
    assert table["ghost"]["install"] == "pip install ghost"
