"""Reading JSON files fast, and turning every parse failure into one :class:`DataError`.

The official LaMP files are single JSON documents of up to hundreds of MB. They are read as bytes
and parsed in one call by ``msgspec`` when it is installed (as fast as ``json``/``orjson`` and
with the lowest peak memory in ``benchmarks/loading.py``: about 2.2x the file size against 3.2x),
else ``orjson``, else the standard library. The raw bytes are released as soon as parsing ends, so
the peak memory is the parsed objects plus one copy of the file. UTF-8 problems and syntax errors are reported with the file name, the line,
the column and the byte offset.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from r2p.errors import DataError

_BOM = b"\xef\xbb\xbf"
_BYTE_POS = re.compile(r"\(byte (\d+)\)\s*$")


def _parser() -> tuple[str, Any]:
    """Return ``(name, loads)`` of the best available JSON parser (msgspec, orjson, json)."""
    try:
        import msgspec
    except ImportError:  # pragma: no cover - msgspec is a declared dependency
        pass
    else:
        return "msgspec", msgspec.json.decode
    try:
        import orjson
    except ImportError:  # pragma: no cover
        return "json", json.loads
    return "orjson", orjson.loads


PARSER_NAME, _LOADS = _parser()


def read_bytes(path: Path) -> bytes:
    """Read a file's bytes, translating OS errors into :class:`DataError`."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _utf8_error(data: bytes, path: Path, line_offset: int = 0) -> DataError | None:
    """A DataError locating the first invalid UTF-8 byte, or ``None`` when the bytes are valid."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1 + line_offset
        return DataError(
            f"{path}: not valid UTF-8 at byte {exc.start} (line {line}): "
            f"byte 0x{data[exc.start]:02x}; LaMP files must be UTF-8 encoded"
        )
    return None


def _syntax_error(data: bytes, path: Path, exc: ValueError, line_offset: int = 0) -> DataError:
    pos = getattr(exc, "pos", None)  # json / orjson
    msg = getattr(exc, "msg", None) or str(exc)
    if pos is None:  # msgspec: "JSON is malformed: ... (byte N)" or "Input data was truncated"
        m = _BYTE_POS.search(msg)
        if m:
            pos, msg = int(m.group(1)), msg[:m.start()].strip()
        elif "truncated" in msg:
            pos = len(data)
    if isinstance(pos, int):
        line = data.count(b"\n", 0, pos) + 1 + line_offset
        col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
        where = f"line {line}, column {col} (byte {pos})"
        if pos >= len(data.rstrip()):
            msg = f"{msg}; the file looks truncated"
    else:
        where = "unknown position"
    return DataError(f"{path}: invalid JSON at {where}: {msg}")


def parse_json(data: bytes, path: Path, *, line_offset: int = 0) -> Any:
    """Parse JSON bytes; every failure becomes a :class:`DataError` naming ``path``.

    Args:
        data: the raw bytes (a leading UTF-8 byte-order mark is skipped).
        path: the file the bytes came from (for messages only).
        line_offset: added to reported line numbers (JSONL: the line's 0-based index).
    """
    data = data.removeprefix(_BOM)
    if not data.strip():
        raise DataError(f"{path}: empty file (or empty line {line_offset + 1}), expected JSON")
    try:
        return _LOADS(data)
    except ValueError as exc:  # orjson.JSONDecodeError and json.JSONDecodeError are ValueErrors
        raise (_utf8_error(data, path, line_offset) or _syntax_error(data, path, exc, line_offset)
               ) from None
    except RecursionError:
        raise DataError(f"{path}: JSON nested too deeply") from None


def load_json(path: Path) -> Any:
    """Read and parse one JSON file (see :func:`parse_json`)."""
    return parse_json(read_bytes(path), path)


def dump_json(obj: Any, path: Path, *, indent: bool = True) -> None:
    """Write ``obj`` as UTF-8 JSON (non-ASCII kept as is), creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, ensure_ascii=False, indent=2 if indent else None)
    path.write_text(text + "\n", encoding="utf-8")


__all__ = ["PARSER_NAME", "dump_json", "load_json", "parse_json", "read_bytes"]
