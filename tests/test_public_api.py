"""The public API is a list, pinned here; importing r2p stays light."""

import subprocess
import sys

import r2p

EXPECTED = [
    "BackendError", "Completion", "ConfigError", "DataError", "Prediction", "R2PError",
    "Retrieved", "Sample", "Task", "Usage", "get_backend", "get_method", "get_retriever",
    "get_task", "load_split", "personalize", "score", "split_reasoning",
]


def test_public_api_is_pinned_and_resolvable() -> None:
    assert r2p.__all__ == sorted(EXPECTED)
    for name in r2p.__all__:
        assert getattr(r2p, name) is not None, name


def test_import_r2p_loads_no_engine_or_torch() -> None:
    code = (
        "import sys, r2p, r2p.cli.main; "
        "heavy = [m for m in ('torch', 'xllamacpp', 'transformers', 'matplotlib', 'bm25s', "
        "'sentence_transformers', 'httpx') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
