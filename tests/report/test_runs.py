"""Loading run and sweep directories, and the clear errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _report_support import lamp7_metrics, record, write_run

from r2p.errors import DataError, R2PError
from r2p.report.runs import load_runs


def test_sweep_and_run_dirs_load_in_order(sweep: Path) -> None:
    runs = load_runs([sweep, sweep / "runs" / "rag-k2"])  # the run given twice is loaded once
    assert [r.name for r in runs] == sorted(p.name for p in (sweep / "runs").iterdir())
    rag2 = next(r for r in runs if r.name == "rag-k2")
    assert (rag2.task, rag2.method, rag2.k, rag2.retriever) == ("LaMP_7", "rag", 2, "bm25")
    assert rag2.model == "llamacpp:smollm2"
    assert rag2.metric("rouge-1") == pytest.approx(0.35)
    assert [r.id for r in rag2.records] == ["a", "b"]


def test_unfinished_sweep_run_is_skipped_and_reported(sweep: Path) -> None:
    (sweep / "runs" / "zz-running").mkdir()
    skipped: list[Path] = []
    runs = load_runs([sweep], skipped)
    assert [p.name for p in skipped] == ["zz-running"]
    assert "zz-running" not in {r.name for r in runs}


def test_not_a_run_dir_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="not a run directory.*nor a sweep directory"):
        load_runs([tmp_path / "empty"])
    with pytest.raises(DataError, match="no such directory"):
        load_runs([tmp_path / "missing"])
    with pytest.raises(DataError, match="no run or sweep directory"):
        load_runs([])


def test_malformed_metrics_json_names_the_file(tmp_path: Path) -> None:
    run = write_run(tmp_path, "bad", metrics=lamp7_metrics(0.3))
    (run / "metrics.json").write_text('{"rouge-1": 0.3,')
    with pytest.raises(R2PError, match=r"bad[/\\]metrics.json: malformed metrics.json"):
        load_runs([run])
    (run / "metrics.json").write_text('{"rouge-1": "high"}')
    with pytest.raises(DataError, match=r"metrics.json: field 'rouge-1' must be a number"):
        load_runs([run])
    (run / "metrics.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="must hold a JSON object"):
        load_runs([run])


def test_bad_config_and_records_name_field_and_line(tmp_path: Path) -> None:
    run = write_run(tmp_path, "r", metrics=lamp7_metrics(0.3), records=[record("a")])
    cfg = json.loads((run / "config.json").read_text())
    del cfg["method"]
    (run / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(DataError, match=r"config.json: missing field 'method'"):
        load_runs([run])
    cfg["method"], cfg["k"] = "rag", "four"
    (run / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(DataError, match=r"field 'k' must be an integer"):
        load_runs([run])
    cfg["k"] = 4
    (run / "config.json").write_text(json.dumps(cfg))
    with (run / "records.jsonl").open("a") as f:
        f.write("{not json\n")
    with pytest.raises(DataError, match=r"records.jsonl: line 2: malformed JSON"):
        load_runs([run])


def test_records_are_read_through_the_model_and_drift_names_line_and_field(
        tmp_path: Path) -> None:
    bad_event = {"type": "check", "name": "loop", "ok": True, "stage": None}  # no detail
    run = write_run(tmp_path, "r", metrics=lamp7_metrics(0.3),
                    records=[record("a"), record("b", trace=[bad_event])])
    with pytest.raises(DataError, match=r"records.jsonl: line 2: field 'trace.0.check.detail'"
                                        r": Field required"):
        load_runs([run])
    rec = record("b")
    rec["latency"] = rec.pop("latency_s")
    (run / "records.jsonl").write_text(json.dumps(record("a")) + "\n" + json.dumps(rec) + "\n")
    with pytest.raises(DataError, match=r"line 2: field 'latency_s': Field required \(and 1 "
                                        r"more\)"):
        load_runs([run])
    (run / "records.jsonl").write_text(json.dumps(record("a")) + "\n")
    (r,) = load_runs([run])[0].records
    assert (r.id, r.usage.completion_tokens, r.retrieved) == ("a", 20, [])


def test_a_method_with_options_is_named_with_them_and_not_paired_as_the_plain_one(
        tmp_path: Path) -> None:
    from r2p.report.compare import compare_all
    from r2p.report.tables import method_rank
    from r2p.report.yield_ import intervenes

    recs = [record("a", method="r2p", answer="x", gold="x")]
    write_run(tmp_path, "plain", method="r2p", records=recs, metrics=lamp7_metrics(0.5))
    write_run(tmp_path, "user", method="r2p", records=recs, metrics=lamp7_metrics(0.5),
              method_options={"synthesis": "user", "n_candidates": 3})
    write_run(tmp_path, "rag", method="rag", records=recs, metrics=lamp7_metrics(0.4))
    runs = {r.name: r for r in load_runs([tmp_path / n for n in ("plain", "user", "rag")])}
    assert runs["user"].method == "r2p[n_candidates=3,synthesis=user]"
    assert runs["user"].base_method == runs["plain"].method == "r2p"
    assert intervenes(runs["user"].method)
    assert method_rank("r2p") < method_rank(runs["user"].method) < method_rank("r2p_llm")
    pairs = {(c.method, c.baseline) for c in compare_all(list(runs.values()), "rag")}
    assert pairs == {("r2p", "rag"), ("r2p[n_candidates=3,synthesis=user]", "rag")}
