"""Reading run and sweep directories (the runner's RUN_DIR contract) for the report.

A *run directory* holds ``config.json`` and ``metrics.json`` (required), and usually
``records.jsonl`` (one scored sample per line, read as :class:`r2p.records.RunRecord`) and
``predictions.json``. A *sweep directory*
holds ``runs/<name>/`` run directories (plus ``summary.csv``). :func:`load_runs` accepts any mix
of both and returns one :class:`Run` per run directory; anything else is a :class:`DataError`
naming the path, and malformed files name the file, the line and the field.

Example:
    >>> # runs = load_runs([Path("out/sweep1"), Path("out/run_rag_k4")])
    >>> # runs[0].task, runs[0].method, runs[0].k
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from r2p.errors import DataError
from r2p.records import RunRecord

REQUIRED_CONFIG = ("task", "method", "k")


@dataclass
class Run:
    """One run directory, loaded.

    Attributes:
        path: the run directory.
        config: ``config.json`` as a dict (``task``, ``method``, ``k``, ``retriever``, ...).
        metrics: ``metrics.json`` as a dict (official keys plus ``format_ok`` etc.).
        records: the lines of ``records.jsonl`` (empty when the file is absent).
    """

    path: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    records: list[RunRecord] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The run directory's name."""
        return self.path.name

    @property
    def task(self) -> str:
        """Task name, e.g. ``LaMP_7``."""
        return str(self.config["task"])

    @property
    def method(self) -> str:
        """The method as the report names it: its registry name, with the method options the
        run set in brackets (``r2p[synthesis=user]``), so that runs of one method with other
        options are told apart (and never paired as the same method)."""
        opts = self.config.get("method_options") or {}
        if not opts:
            return self.base_method
        shown = ",".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}"
                         for k, v in sorted(opts.items()))
        return f"{self.base_method}[{shown}]"

    @property
    def base_method(self) -> str:
        """The method's registry name, e.g. ``r2p``."""
        return str(self.config["method"])

    @property
    def k(self) -> int:
        """Number of retrieved profile items put in the prompt."""
        return int(self.config["k"])

    @property
    def retriever(self) -> str:
        """Retriever name (``none`` when unset)."""
        return str(self.config.get("retriever") or "none")

    @property
    def model(self) -> str:
        """``backend:model`` (either part may be empty)."""
        backend = self.config.get("backend") or ""
        model = self.config.get("model") or ""
        return f"{backend}:{model}" if backend and model else str(backend or model or "?")

    def metric(self, key: str) -> float | None:
        """A numeric metric from ``metrics.json``, or ``None`` when absent or not a number."""
        value = self.metrics.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value) if math.isfinite(float(value)) else None

    @property
    def scored_records(self) -> list[RunRecord]:
        """Records of samples that did not fail (failures are never scored)."""
        return [r for r in self.records if not r.error]


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: malformed {what}: {exc.msg} at line {exc.lineno}") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot read {what}: {exc.strerror}") from exc


def _read_records(path: Path) -> list[RunRecord]:
    records: list[RunRecord] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read records: {exc.strerror}") from exc
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {lineno}: malformed JSON: {exc.msg}") from exc
        if not isinstance(rec, dict):
            raise DataError(f"{path}: line {lineno}: a record must be a JSON object")
        try:
            records.append(RunRecord.model_validate(rec))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"])
            more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            raise DataError(f"{path}: line {lineno}: field {where!r}: {err['msg']}{more}"
                            ) from None
    return records


def is_run_dir(path: Path) -> bool:
    """True when ``path`` looks like a run directory (has config.json and metrics.json)."""
    return (path / "config.json").is_file() and (path / "metrics.json").is_file()


def load_run(path: Path) -> Run:
    """Load one run directory.

    Raises:
        DataError: a file is missing or malformed (the message names the file and field).
    """
    path = Path(path)
    if not is_run_dir(path):
        raise DataError(f"{path}: not a run directory (needs config.json and metrics.json)")
    config = _read_json(path / "config.json", "config.json")
    if not isinstance(config, dict):
        raise DataError(f"{path / 'config.json'}: must hold a JSON object")
    for key in REQUIRED_CONFIG:
        if key not in config:
            raise DataError(f"{path / 'config.json'}: missing field {key!r}")
    try:
        int(config["k"])
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{path / 'config.json'}: field 'k' must be an integer, got {config['k']!r}"
        ) from exc
    metrics = _read_json(path / "metrics.json", "metrics.json")
    if not isinstance(metrics, dict):
        raise DataError(f"{path / 'metrics.json'}: must hold a JSON object of metric -> number")
    for key, value in metrics.items():
        if value is not None and not isinstance(value, (int, float)):
            raise DataError(
                f"{path / 'metrics.json'}: field {key!r} must be a number, got {value!r}"
            )
    records_path = path / "records.jsonl"
    records = _read_records(records_path) if records_path.is_file() else []
    return Run(path=path, config=config, metrics=metrics, records=records)


def load_runs(paths: Iterable[Path], skipped: list[Path] | None = None) -> list[Run]:
    """Load every run under ``paths`` (run directories and sweep directories, in order).

    Args:
        paths: run directories and/or sweep directories.
        skipped: when given, receives the sweep sub-directories that are not finished runs
            (no ``metrics.json`` yet); they are left out instead of failing the report.

    Raises:
        DataError: a path is neither a run nor a sweep directory, a sweep holds no runs, or a
            file is malformed; also when no path is given.
    """
    runs: list[Run] = []
    seen: set[Path] = set()
    given = list(paths)
    if not given:
        raise DataError("no run or sweep directory given")
    for raw in given:
        path = Path(raw)
        if not path.exists():
            raise DataError(f"{path}: no such directory")
        if is_run_dir(path):
            found = [path]
        elif (path / "runs").is_dir():
            subdirs = sorted(p for p in (path / "runs").iterdir() if p.is_dir())
            found = [p for p in subdirs if is_run_dir(p)]
            if skipped is not None:
                skipped.extend(p for p in subdirs if not is_run_dir(p))
            if not found:
                raise DataError(f"{path}: sweep directory without any finished run in runs/")
        else:
            raise DataError(
                f"{path}: not a run directory (config.json + metrics.json) "
                "nor a sweep directory (runs/<name>/)"
            )
        for run_path in found:
            key = run_path.resolve()
            if key not in seen:
                seen.add(key)
                runs.append(load_run(run_path))
    return runs


__all__ = ["Run", "is_run_dir", "load_run", "load_runs"]
