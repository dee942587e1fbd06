"""Fixtures shared by every test module.

``shared_data``: the real LaMP-format data beside the repository (``../shared/data``, or
``$R2P_SHARED/data``). Tests that need it fail, not skip, when it is missing.

Every test starts with R2P's process-wide cache of users' syntheses empty, so no test sees
another's.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = Path(os.environ.get("R2P_SHARED", REPO.parent / "shared"))
    data = (root if root.is_absolute() else (REPO / root)).resolve() / "data"
    if not data.is_dir():
        pytest.fail(f"real data not found at {data}: set R2P_SHARED to the shared folder")
    return data


@pytest.fixture(autouse=True)
def _no_cached_syntheses() -> None:
    from r2p.methods.r2p.synthesis import SYNTHESES

    SYNTHESES.clear()
