"""A shape rule of the code that ``make lint`` checks, kept by the test suite too: no function
of the package or the benchmarks above cyclomatic complexity 15 (ruff's C901, also configured
in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def complex_functions(limit: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
         "--select", "C901", "--config", f"lint.mccabe.max-complexity={limit}",
         "src", "benchmarks"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_no_function_is_too_complex() -> None:
    out = complex_functions(15)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_check_finds_complex_functions() -> None:
    # the same check at a much lower limit names functions: it is not vacuous
    out = complex_functions(3)
    assert out.returncode == 1 and "C901" in out.stdout and "src/r2p/" in out.stdout
