"""The run loop end to end on real LaMP-7 data with a scripted backend and a stand-in method:
run-dir files, resume, failures, concurrency and cache sharing. Budget: ~3 s."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from _support import EchoMethod, SlowFakeBackend

from r2p.runner.config import RunConfig, build_config
from r2p.runner.experiment import RunResult, run_experiment
from r2p.runner.resources import Resources
from r2p.runner.store import Store


class StandIns(Resources):
    """Real data, retrieval and store; the given backend and the echo method."""

    def __init__(self, backend: Any) -> None:
        super().__init__()
        self._backend = backend

    def method(self, cfg: RunConfig) -> Any:
        return EchoMethod()

    def backend(self, cfg: RunConfig) -> Any:
        return self._backend


def _cfg(data: Path, out: Path, **over: Any) -> RunConfig:
    base = {"task": "LaMP_7", "data": data, "method": "echo", "retriever": "bm25", "k": 2,
            "backend": "fake", "model": None, "limit": 6, "out": out}
    return build_config(base, over, validate_names=False)


def _run(cfg: RunConfig, backend: Any) -> RunResult:
    return run_experiment(cfg, resources=StandIns(backend), progress=False)


def _preds(out: Path) -> dict[str, str]:
    doc = json.loads((out / "predictions.json").read_text())
    assert doc["task"] == "LaMP_7"
    return {g["id"]: g["output"] for g in doc["golds"]}


def test_run_dir_files_follow_the_contract(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs" / "a"
    res = _run(_cfg(shared_data, out), SlowFakeBackend())
    assert res.ok and res.n_total == 6 and res.n_computed == 6
    preds = _preds(out)
    assert len(preds) == 6 and all(p.startswith("tweet ") for p in preds.values())
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("rouge-1", "rouge-L", "format_ok", "gen_tokens_per_query",
                "interventions_per_query", "seconds_per_query"):
        assert isinstance(metrics[key], float), key
    assert metrics["n"] == 6 and metrics["n_failed"] == 0
    assert 0.0 <= metrics["rouge-1"] < 0.5  # hashes rarely overlap a real tweet
    assert metrics["gen_tokens_per_query"] == 4.0  # "tweet xxxxxx about xxxx"
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert [r["id"] for r in records] == list(preds)
    r0 = records[0]
    assert r0["task"] == "LaMP_7" and r0["gold"] and set(r0["scores"]) == {"rouge-1", "rouge-L"}
    assert len(r0["retrieved"]) == 2 and set(r0["retrieved"][0]) == {"id", "score", "text"}
    assert r0["retrieved_ids"] == [x["id"] for x in r0["retrieved"]]
    assert r0["prompts"][0]["messages"][0]["content"].startswith(r0["retrieved"][0]["text"])
    config = json.loads((out / "config.json").read_text())
    assert config["k"] == 2 and config["task"] == "LaMP_7" and config["limit"] == 6
    assert "pydantic" in config["versions"] and config["model_identity"]["backend"] == "fake"
    assert (tmp_path / "runs" / ".r2p-store.sqlite").is_file()  # default: beside the run dir
    # written from RunConfig: every field but out (the run directory itself), store resolved
    assert list(config) == [*(f for f in RunConfig.model_fields if f != "out"), "versions",
                            "model_identity"]
    assert config["store"] == str(tmp_path / "runs" / ".r2p-store.sqlite")
    assert RunConfig.model_validate({**{k: config[k] for k in RunConfig.model_fields
                                        if k in config}, "out": out}) == \
        _cfg(shared_data, out).model_copy(update={"store": tmp_path / "runs" /
                                                  ".r2p-store.sqlite"})


def test_rerun_skips_finished_samples(shared_data: Path, tmp_path: Path) -> None:
    cfg = _cfg(shared_data, tmp_path / "r")
    first = _run(cfg, SlowFakeBackend())
    again = SlowFakeBackend()
    second = _run(cfg, again)
    assert again.calls == [] and second.n_cached == 6 and second.n_computed == 0
    assert second.metrics["rouge-1"] == first.metrics["rouge-1"]
    # Another run dir with the same settings and store shares the records (computed once).
    other = SlowFakeBackend()
    _run(_cfg(shared_data, tmp_path / "r2", store=cfg.store_path()), other)
    assert other.calls == []
    # A setting that changes the output is a different key: computed again.
    changed = SlowFakeBackend()
    _run(_cfg(shared_data, tmp_path / "r3", store=cfg.store_path(), k=1), changed)
    assert len(changed.calls) == 6


def test_failures_are_recorded_not_scored_and_retried(shared_data: Path, tmp_path: Path) -> None:
    cfg = _cfg(shared_data, tmp_path / "f")
    from r2p.data import load_split

    victim = load_split("LaMP_7", shared_data).samples[3]
    fragment = victim.input[-30:]
    res = _run(cfg, SlowFakeBackend(fail_on=fragment))
    assert not res.ok and res.n_failed == 1
    assert victim.id not in _preds(cfg.out) and len(_preds(cfg.out)) == 5
    metrics = json.loads((cfg.out / "metrics.json").read_text())
    assert metrics["n"] == 5 and metrics["n_failed"] == 1
    with Store(cfg.store_path()) as store:
        statuses = [(sid, st) for _, sid, st in store.rows()]
    assert (victim.id, "failed") in statuses
    healthy = SlowFakeBackend()
    res2 = _run(cfg, healthy)
    assert res2.ok and len(healthy.calls) == 1 and len(_preds(cfg.out)) == 6


def test_concurrency_gives_the_same_predictions(shared_data: Path, tmp_path: Path) -> None:
    serial = _run(_cfg(shared_data, tmp_path / "s", store=tmp_path / "s.sqlite"),
                  SlowFakeBackend())
    parallel = _run(_cfg(shared_data, tmp_path / "p", store=tmp_path / "p.sqlite",
                         concurrency=4), SlowFakeBackend(delay=0.02))
    assert serial.ok and parallel.ok
    assert _preds(tmp_path / "s") == _preds(tmp_path / "p")
    assert list(_preds(tmp_path / "p")) == list(_preds(tmp_path / "s"))  # dataset order


def test_a_ranking_file_replaces_the_retriever_in_a_run(shared_data: Path, tmp_path: Path) -> None:
    """`r2p rank` output drives a later run: the records carry exactly the ranked items."""
    from r2p.data import load_split

    ds = load_split("LaMP_7", shared_data, "dev")
    # rank every profile backwards (last item first): an order no retriever would produce
    ranks = {s.id: [str(p["id"]) for p in reversed(s.profile)] for s in ds.samples[:6]}
    ranks_path = tmp_path / "ranks.json"
    ranks_path.write_text(json.dumps(ranks))
    out = tmp_path / "runs" / "ranked"
    res = _run(_cfg(shared_data, out, retriever="ranking",
                    retriever_options={"path": str(ranks_path)}), SlowFakeBackend())
    assert res.ok and res.n_total == 6
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert len(records) == 6
    for rec in records:
        assert [r["id"] for r in rec["retrieved"]] == ranks[rec["id"]][:2]


def test_cache_key_covers_resolved_method_defaults_and_method_code(tmp_path: Path) -> None:
    """Two runs with the same command line but a method whose defaults differ must not share
    records; the method code's fingerprint is part of the key."""
    from r2p.methods.rag import RAGMethod
    from r2p.runner.experiment import method_code_fingerprint, output_settings
    from r2p.runner.store import record_key
    from r2p.tasks import get_task

    cfg = _cfg(tmp_path, tmp_path / "out")
    task = get_task("LaMP_7")
    a = output_settings(cfg, task, {}, RAGMethod())
    b = output_settings(cfg, task, {}, RAGMethod(max_prompt_tokens=256))
    assert a["method_resolved"]["max_prompt_tokens"] == 512
    assert a["method_code"] == method_code_fingerprint() and len(a["method_code"]) == 16
    assert record_key(a, "1") != record_key(b, "1")
    assert record_key(a, "1") == record_key(output_settings(cfg, task, {}, RAGMethod()), "1")
