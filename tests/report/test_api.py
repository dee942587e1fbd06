"""The report package's public API, its lazy matplotlib import, and the missing-extra error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import r2p.report
from r2p.errors import MissingDependencyError
from r2p.report import build_report


def test_public_api_is_pinned() -> None:
    assert r2p.report.__all__ == ["build_report"]


def test_import_does_not_load_matplotlib() -> None:
    code = ("import sys, r2p.report, r2p.cli.report; "
            "sys.exit(1 if 'matplotlib' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_missing_matplotlib_names_the_extra(sweep: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(MissingDependencyError, match=r"pip install 'r2p\[report\]'"):
        build_report([sweep], tmp_path / "rep")
