"""The :class:`Dataset`: a validated list of samples of one task and split."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from r2p.errors import DataError
from r2p.tasks import Task
from r2p.types import Sample


@dataclass
class Dataset:
    """The samples of one task and split, validated on load.

    Attributes:
        task: the task.
        samples: the samples, in file order (ids unique).
        split: ``train``, ``dev``, ``test`` or a free name (``jsonl``...).
        path: the questions (or JSONL) file it was read from, if any.
        time_based: whether it is LaMP's time-based split.

    Example:
        >>> ds = load_split("LaMP_7", Path("../shared/data"))  # doctest: +SKIP
        >>> len(ds), ds.has_golds, ds.get("610").input[:9]       # doctest: +SKIP
        (300, True, 'Paraphras')
    """

    task: Task
    samples: list[Sample]
    split: str = "dev"
    path: Path | None = None
    time_based: bool = False
    _index: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[str, int] = {}
        for i, s in enumerate(self.samples):
            if s.id in index:
                where = f"{self.path}: " if self.path else ""
                raise DataError(f"{where}record {i} (id {s.id!r}): id: duplicate id, first seen "
                                f"at record {index[s.id]}")
            index[s.id] = i
        self._index = index

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def __repr__(self) -> str:
        return (f"Dataset(task={self.task.name!r}, split={self.split!r}, n={len(self)}, "
                f"has_golds={self.has_golds})")

    def get(self, sample_id: str) -> Sample:
        """The sample with this id.

        Raises:
            DataError: no sample has this id.
        """
        i = self._index.get(str(sample_id))
        if i is None:
            raise DataError(f"no sample with id {sample_id!r} in {self.task.name} "
                            f"{self.split} ({len(self)} samples)")
        return self.samples[i]

    def __contains__(self, sample_id: object) -> bool:
        return sample_id in self._index

    @property
    def ids(self) -> list[str]:
        """Sample ids in file order."""
        return [s.id for s in self.samples]

    @property
    def has_golds(self) -> bool:
        """True when every sample has a gold output (a non-empty dataset)."""
        return bool(self.samples) and all(s.output is not None for s in self.samples)

    @property
    def n_empty_profiles(self) -> int:
        """How many samples have an empty profile (retrieval gives k = 0 for them)."""
        return sum(1 for s in self.samples if not s.profile)

    def golds(self) -> dict[str, str]:
        """``{id: gold output}`` for every sample.

        Raises:
            DataError: some sample has no gold (e.g. the test split).
        """
        if not self.has_golds:
            missing = [s.id for s in self.samples if s.output is None]
            raise DataError(f"{self.task.name} {self.split}: no gold outputs for {len(missing)} "
                            f"of {len(self)} samples (e.g. {', '.join(missing[:3])}); the test "
                            "split has no golds")
        return {s.id: s.output for s in self.samples if s.output is not None}

    def subset(self, limit: int | None = None, ids: list[str] | None = None) -> Dataset:
        """A new Dataset with the first ``limit`` samples, or the samples with ``ids``."""
        samples = [self.get(i) for i in ids] if ids is not None else self.samples
        if limit is not None:
            samples = samples[:max(0, limit)]
        return Dataset(self.task, list(samples), self.split, self.path, self.time_based)


__all__ = ["Dataset"]
