"""Ranking files: ``{query_id: [profile_item_id, ...]}``, best first, as in the LaMP workflow.

``r2p rank`` writes one (:func:`write_ranks`); the ``ranking`` retriever reads one and serves its
order instead of ranking again, so an expensive ranking (dense, or one from another tool) is
computed once and reused by every later run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from r2p.atomic import write_text_atomic
from r2p.errors import ConfigError, DataError, RetrievalError
from r2p.retrieval.base import BaseRetriever
from r2p.tasks import Task
from r2p.types import ProfileItem, Retrieved


def read_ranks(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """Read a ranking file.

    Returns:
        query id -> profile item ids, best first (ids as strings).

    Raises:
        DataError: the file is missing, not UTF-8 JSON, or not ``{str: [id, ...]}`` (names the
            query and the position of the bad entry).
    """
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{p}: ranking file not found") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{p}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{p}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") \
            from None
    except OSError as exc:
        raise DataError(f"{p}: cannot read ranking file: {exc.strerror}") from None
    if not isinstance(raw, dict):
        raise DataError(
            f"{p}: a ranking file must be a JSON object {{query_id: [profile_item_id, ...]}}, "
            f"got {type(raw).__name__}"
        )
    ranks: dict[str, list[str]] = {}
    for qid, ids in raw.items():
        if not isinstance(ids, list):
            raise DataError(
                f"{p}: query {qid!r}: expected a list of profile item ids, "
                f"got {type(ids).__name__}"
            )
        out: list[str] = []
        for pos, item_id in enumerate(ids):
            if isinstance(item_id, bool) or not isinstance(item_id, (str, int)):
                raise DataError(
                    f"{p}: query {qid!r}, position {pos}: profile item id must be a string, "
                    f"got {item_id!r}"
                )
            out.append(str(item_id))
        if len(set(out)) != len(out):
            dup = next(i for i in out if out.count(i) > 1)
            raise DataError(f"{p}: query {qid!r}: profile item id {dup!r} is listed twice")
        ranks[str(qid)] = out
    return ranks


def write_ranks(path: str | os.PathLike[str], ranks: Mapping[str, Sequence[str]]) -> Path:
    """Write a ranking file ``{query_id: [profile_item_id, ...]}`` (UTF-8 JSON), atomically."""
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    payload = {str(q): [str(i) for i in ids] for q, ids in ranks.items()}
    write_text_atomic(p, json.dumps(payload, ensure_ascii=False, indent=1) + "\n")
    return p


class RankingRetriever(BaseRetriever):
    """Serves the order stored in a ranking file instead of ranking.

    Needs the query id (``retrieve(..., query_id=sample.id)``; :func:`retrieve_sample` passes it).
    The score of the item at rank ``r`` is ``1 / (r + 1)``. A file listing fewer items than ``k``
    gives only the listed items. The order is already made, so this retriever has no scores:
    it overrides :meth:`~r2p.retrieval.base.BaseRetriever.rank` (the base still checks ``k`` and
    returns ``[]`` for ``k = 0`` or an empty profile).

    Args:
        path: the ranking file (from ``r2p rank``).

    Raises:
        RetrievalError: no ``query_id`` given, the query is not in the file, or the file names an
            item that is not in the profile.
    """

    name = "ranking"

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is None:
            raise ConfigError("the ranking retriever needs a ranking file: path=RANKS.json")
        self.path = Path(path)
        self.ranks = read_ranks(self.path)

    def rank(
        self,
        query: str,
        profile: list[ProfileItem],
        k: int,
        task: Task,
        *,
        query_id: str | None = None,
    ) -> list[Retrieved]:
        """The first ``k`` items the file lists for ``query_id``."""
        if query_id is None:
            raise RetrievalError(
                f"the ranking retriever ({self.path}) needs the query id (query_id=sample id)"
            )
        ids = self.ranks.get(str(query_id))
        if ids is None:
            raise RetrievalError(f"{self.path}: no ranking for query {query_id!r}")
        by_id = {str(item.get("id")): item for item in profile}
        out: list[Retrieved] = []
        for rank, item_id in enumerate(ids[:k]):
            item = by_id.get(item_id)
            if item is None:
                raise RetrievalError(
                    f"{self.path}: query {query_id!r} ranks profile item {item_id!r}, "
                    "which is not in that query's profile"
                )
            out.append(Retrieved(item=item, score=1.0 / (rank + 1), rank=rank))
        return out


__all__ = ["RankingRetriever", "read_ranks", "write_ranks"]
