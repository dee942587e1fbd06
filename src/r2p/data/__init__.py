"""Data: readers for the LaMP files and generic JSONL into validated :class:`Dataset` objects.

Example:
    >>> from r2p.data import load_split
    >>> ds = load_split("LaMP_7", "../shared/data", "dev")  # doctest: +SKIP
"""

from __future__ import annotations

from r2p.data.dataset import Dataset
from r2p.data.lamp import (
    SPLITS,
    demo_dir,
    describe_id_mismatch,
    find_split,
    load_jsonl,
    load_path,
    load_questions,
    load_split,
    read_outputs,
    write_predictions,
)

__all__ = [
    "SPLITS",
    "Dataset",
    "demo_dir",
    "describe_id_mismatch",
    "find_split",
    "load_jsonl",
    "load_path",
    "load_questions",
    "load_split",
    "read_outputs",
    "write_predictions",
]
