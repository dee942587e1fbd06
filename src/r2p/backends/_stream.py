"""A :class:`~r2p.backends.base.Stream` over an engine call that pushes chunks to a callback.

The engine call runs in a background thread; chunks travel through a queue to the iterating
caller. ``close()`` makes the next callback return True (llama.cpp then cancels the request) and
waits for the call to end, so closing early frees the engine's slot.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from r2p.errors import (
    BackendError,
    BadResponseError,
    ConfigError,
    ContextLengthError,
    R2PError,
)
from r2p.types import Completion, Usage

_DONE = object()

# run(on_chunk) -> final response or None; on_chunk(chunk) -> True to stop the engine.
RunFn = Callable[[Callable[[dict[str, Any]], bool]], Any]
SplitFn = Callable[[str], tuple[str, str]]


def translate_error(err: dict[str, Any], where: str) -> R2PError:
    """Turn a llama.cpp ``{"code", "message", "type"}`` error into an r2p error."""
    message = str(err.get("message", err))
    etype = str(err.get("type", ""))
    if etype == "exceed_context_size_error" or "context size" in message:
        return ContextLengthError(f"{where}: {message}")
    if etype == "invalid_request_error" or err.get("code") == 400:
        return ConfigError(f"{where}: invalid request: {message}")
    return BadResponseError(f"{where}: llama.cpp error ({etype or err.get('code')}): {message}")


class ThreadStream:
    """Iterate text chunks of an OpenAI-shaped completion stream produced in another thread.

    Args:
        run: calls the engine with a chunk callback; returns None or a final response dict
            (an ``{"error": ...}`` dict is raised as a translated error).
        split: maps the full text to ``(answer, reasoning)`` for :meth:`result`.
        where: a label for error messages.
    """

    def __init__(self, run: RunFn, split: SplitFn | None = None, where: str = "stream") -> None:
        self._split = split or (lambda text: (text, ""))
        self._where = where
        self._queue: queue.Queue[Any] = queue.Queue()
        self._stop = threading.Event()
        self._parts: list[str] = []
        self._finish: str | None = None
        self._usage = Usage()
        self._error: BaseException | None = None
        self._finished = False
        self._t0 = time.perf_counter()
        self._seconds = 0.0
        self._thread = threading.Thread(target=self._work, args=(run,), daemon=True)
        self._thread.start()

    def _on_chunk(self, chunk: dict[str, Any]) -> bool:
        self._queue.put(chunk)
        return self._stop.is_set()

    def _work(self, run: RunFn) -> None:
        try:
            final = run(self._on_chunk)
            if isinstance(final, dict):
                self._queue.put(final)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._queue.put(exc)
        finally:
            self._queue.put(_DONE)

    def _absorb(self, chunk: Any) -> str:
        if isinstance(chunk, BaseException):
            raise BackendError(f"{self._where}: stream failed: {chunk}") from chunk
        if not isinstance(chunk, dict):
            raise BadResponseError(f"{self._where}: unexpected stream chunk {chunk!r:.200}")
        if "error" in chunk:
            err = chunk["error"]
            raise translate_error(err if isinstance(err, dict) else {"message": err},
                                  self._where)
        text = ""
        for ch in chunk.get("choices") or []:
            piece = ch.get("text")
            if piece is None:
                piece = (ch.get("delta") or {}).get("content")
            text += piece or ""
            if ch.get("finish_reason"):
                self._finish = str(ch["finish_reason"])
        usage = chunk.get("usage")
        timings = chunk.get("timings") or {}
        if not usage and timings.get("prompt_n") is not None:
            # llama.cpp's timings_per_token: usage so far, known even if the stream is closed
            cache_n = int(timings.get("cache_n") or 0)
            self._usage = Usage(int(timings["prompt_n"]) + cache_n, cache_n,
                                int(timings.get("predicted_n") or 0))
        if usage:
            cached = timings.get("cache_n",
                                 (usage.get("prompt_tokens_details") or {}).get("cached_tokens"))
            self._usage = Usage(int(usage.get("prompt_tokens", 0)), int(cached or 0),
                                int(usage.get("completion_tokens", 0)))
        if text:
            self._parts.append(text)
        return text

    def __iter__(self) -> Iterator[str]:
        while not self._finished:
            item = self._queue.get()
            if item is _DONE:
                self._finish_up()
                return
            if self._stop.is_set():
                continue  # closed: drain without yielding
            try:
                text = self._absorb(item)
            except BaseException:
                self.close()
                raise
            if text:
                yield text

    def _finish_up(self) -> None:
        self._finished = True
        self._seconds = time.perf_counter() - self._t0
        self._thread.join()

    def close(self) -> None:
        """Stop generation now; waits until the engine has released the request."""
        if self._finished:
            return
        self._stop.set()
        while True:
            item = self._queue.get()
            if item is _DONE:
                break
        self._finish_up()

    def result(self) -> Completion:
        """The completion so far; consumes the rest of the stream unless it was closed."""
        if not self._finished:
            for _ in self:
                pass
        text = "".join(self._parts)
        answer, reasoning = self._split(text)
        finish = "abort" if self._stop.is_set() else (self._finish or "stop")
        usage = self._usage
        if finish == "abort" or not usage.completion_tokens:
            usage = Usage(usage.prompt_tokens, usage.cached_tokens,
                          usage.completion_tokens or len(self._parts))
        return Completion(answer, reasoning, finish, usage, self._seconds)


__all__ = ["ThreadStream", "translate_error"]
