"""Fixtures of the report tests (helpers in ``_report_support``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from _report_support import (
    HRT_THOUGHT,
    LOOPY_THOUGHT,
    RETRIEVED,
    lamp7_metrics,
    r2p_trace,
    record,
    write_run,
)


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """A sweep dir: rag k=0/2/4, r2p k=0/4 on LaMP_7, and direct k=0 on LaMP_3."""
    runs = tmp_path / "sweep" / "runs"
    write_run(runs, "rag-k0", method="rag", k=0, metrics=lamp7_metrics(0.30),
              records=[record("a", method="rag"), record("b", method="rag", format_ok=False)])
    write_run(runs, "rag-k2", method="rag", k=2, metrics=lamp7_metrics(0.35),
              records=[record("a", method="rag", retrieved=RETRIEVED[:2]),
                       record("b", method="rag", retrieved=RETRIEVED[:2])])
    write_run(runs, "rag-k4", method="rag", k=4, metrics=lamp7_metrics(0.28),
              records=[record("a", method="rag", retrieved=RETRIEVED)])
    write_run(runs, "r2p-k0", method="r2p", k=0,
              metrics=lamp7_metrics(0.31, tokens=300, interventions=0.5),
              records=[record("a", reasoning=HRT_THOUGHT, completion_tokens=300)])
    write_run(runs, "r2p-k4", method="r2p", k=4,
              metrics=lamp7_metrics(0.40, tokens=500, interventions=1.0),
              records=[record("a", reasoning=HRT_THOUGHT, retrieved=RETRIEVED, interventions=1,
                              trace=r2p_trace(), completion_tokens=400),
                       record("b", reasoning=LOOPY_THOUGHT, retrieved=RETRIEVED,
                              format_ok=False, completion_tokens=600)])
    write_run(runs, "direct-lamp3", task="LaMP_3", method="direct", k=0,
              metrics={"MAE": 0.5, "RMSE": 0.7, "format_ok": 0.5, "gen_tokens_per_query": 3,
                       "interventions_per_query": 0, "seconds_per_query": 0.1, "n": 2,
                       "n_failed": 1},
              records=[record("x", task="LaMP_3", method="direct", answer="5", gold="4",
                              scores={"MAE": 1.0}),
                       record("y", task="LaMP_3", method="direct", answer="4", gold="4",
                              format_ok=False, scores={"MAE": 0.0})])
    (tmp_path / "sweep" / "summary.csv").write_text("run\n")
    return tmp_path / "sweep"


@pytest.fixture
def make_run() -> Callable[..., Path]:
    """The :func:`write_run` helper, as a fixture."""
    return write_run
