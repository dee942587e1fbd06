"""The engine benchmarks refuse a bad ``--methods`` with one line, before any model loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script", ["methods.py", "synthesis_reuse.py"])
@pytest.mark.parametrize(("spec", "says"), [
    ("rag,nope", "unknown method 'nope'"),
    ("rag,r2p[bogus=1]", "method 'r2p' has no option 'bogus'"),
])
def test_a_bad_method_is_one_line_and_a_failure(script: str, spec: str, says: str) -> None:
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--methods", spec],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{script}: ") and says in lines[0]
