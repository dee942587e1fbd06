"""Report files are written atomically: a final file (report.md, report.html, plots/*.png) is
never opened for writing, only renamed into place from a temporary name in the same folder, so
a kill while writing leaves the previous report whole instead of a 0-byte file."""

from __future__ import annotations

import builtins
import io
from pathlib import Path
from typing import Any

import pytest

from r2p.report import build_report


def test_report_files_are_only_ever_renamed_into_place(
    sweep: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report"
    first = build_report([sweep], out)
    finals = {p.resolve() for p in first.values()}
    assert {"report.md", "report.html"} <= set(first) and any(
        k.endswith(".png") for k in first)
    real_open = builtins.open
    opened: list[str] = []

    def guarded_open(file: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        if isinstance(file, (str, Path)) and any(c in mode for c in "wax+"):
            opened.append(Path(file).name)
            assert Path(file).resolve() not in finals, f"{file} opened for writing in place"
        return real_open(file, mode, *args, **kw)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)
    again = build_report([sweep], out)
    assert set(again) == set(first)
    assert opened and all(name.startswith(".") and name.endswith(".tmp") for name in opened)
    leftovers = [p.name for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    assert (out / "report.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
