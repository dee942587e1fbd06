"""HTTP plumbing for the ``openai`` backend: a server pool, bounded retries, error translation.

Kept apart from :mod:`r2p.backends.openai` so the wire format (payloads, parsing) and the
transport policy (which server, when to retry, what an HTTP failure means) stay small and
separately testable.

Policy:
    * three time limits (:class:`Timeouts`): connecting, waiting for the next byte (a stall),
      and one attempt's total time; a server that connects but does not answer in time is
      retried once only (a hung server rarely recovers in seconds), then
      :class:`~r2p.errors.ServerTimeoutError`;
    * transient failures (refused/broken connections, timeouts, HTTP 429 and 5xx, and a 200
      answer that is not a valid completion: not JSON, no choices, no text) are retried with
      exponential backoff, a bounded number of times;
    * a server that refuses connections is taken out of rotation for ``down_s`` seconds; while
      another server is healthy, the retry goes there at once (no backoff);
    * anything else (4xx) fails at once with a specific :class:`~r2p.errors.BackendError`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from r2p.errors import (
    BackendError,
    BadResponseError,
    ContextLengthError,
    ModelNotFoundError,
    RateLimitError,
    ServerTimeoutError,
    ServerUnreachableError,
)
from r2p.redact import redact_url

T = TypeVar("T")

_CONTEXT_HINTS = ("context length", "context size", "context_length", "exceed_context",
                  "maximum context", "too many tokens", "prompt is too long")


#: Attempts a request gets when the server keeps timing out (connected, no answer in time).
TIMEOUT_ATTEMPTS = 2


@dataclass(frozen=True)
class Timeouts:
    """The time limits of one HTTP attempt, in seconds.

    Attributes:
        connect: to open the connection (a host that does not answer counts as unreachable).
        read: the longest wait for the next byte. A non-streamed answer arrives in one piece
            when the generation is done, so this is also the longest a non-streamed
            generation may take.
        total: one attempt, from sending to the last byte (a server trickling bytes cannot
            hold a request longer; for streams, the whole stream).

    Example:
        >>> Timeouts(connect=5, read=60, total=30).httpx().read  # never above the total
        30
    """

    connect: float = 5.0
    read: float = 60.0
    total: float = 300.0

    def httpx(self) -> httpx.Timeout:
        """The per-operation limits for :class:`httpx.Client` (each at most ``total``)."""
        return httpx.Timeout(connect=min(self.connect, self.total),
                             read=min(self.read, self.total),
                             write=min(self.read, self.total), pool=self.total)

    def describe(self, exc: BaseException) -> str:
        """What ran out, in words, for an httpx timeout ``exc``."""
        if isinstance(exc, httpx.ConnectTimeout):
            return f"no connection within {min(self.connect, self.total):g} s"
        return (f"no answer within {min(self.read, self.total):g} s (read_timeout; raise it "
                "for long non-streamed generations)")


class Transient(Exception):
    """A failure worth retrying. ``kind`` is ``"unreachable"``, ``"timeout"``, ``"status"`` or
    ``"bad"`` (a 200 answer that is not a valid completion)."""

    def __init__(self, kind: str, url: str, detail: str, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{kind} {url}: {detail}")
        self.kind, self.url, self.detail = kind, url, detail
        self.status, self.retry_after = status, retry_after


@dataclass
class ServerState:
    """Health of one server in a :class:`ServerPool`."""

    url: str
    healthy: bool = True
    failures: int = 0
    down_until: float = 0.0
    last_error: str = ""
    requests: int = 0


class ServerPool:
    """Round-robin over one or more base URLs; unreachable servers leave the rotation a while.

    Args:
        urls: API base URLs (e.g. ``http://127.0.0.1:8080/v1``).
        down_s: how long a server that refused a connection stays out of rotation before it
            is tried again.

    Example:
        >>> pool = ServerPool(["http://a/v1", "http://b/v1"])
        >>> pool.mark_down("http://a/v1", "refused")
        >>> pool.pick()
        'http://b/v1'
    """

    def __init__(self, urls: list[str], *, down_s: float = 30.0) -> None:
        self._states = [ServerState(u) for u in urls]
        self._next = 0
        self._down_s = down_s
        self._lock = threading.Lock()

    @property
    def urls(self) -> list[str]:
        """The base URLs, in the order given."""
        return [s.url for s in self._states]

    def pick(self) -> str:
        """The next healthy server (round-robin); when all are down, the one down longest."""
        now = time.monotonic()
        with self._lock:
            n = len(self._states)
            for i in range(n):
                s = self._states[(self._next + i) % n]
                if s.healthy or now >= s.down_until:
                    self._next = (self._next + i + 1) % n
                    s.requests += 1
                    return s.url
            s = min(self._states, key=lambda st: st.down_until)
            s.requests += 1
            return s.url

    def _state(self, url: str) -> ServerState:
        return next(s for s in self._states if s.url == url)

    def mark_down(self, url: str, error: str) -> None:
        """Take ``url`` out of rotation for ``down_s`` seconds."""
        with self._lock:
            s = self._state(url)
            s.healthy, s.failures, s.last_error = False, s.failures + 1, error
            s.down_until = time.monotonic() + self._down_s

    def mark_up(self, url: str) -> None:
        """Put ``url`` back in rotation (it just answered)."""
        with self._lock:
            s = self._state(url)
            s.healthy, s.down_until = True, 0.0

    def any_healthy(self, besides: str | None = None) -> bool:
        """Whether a server other than ``besides`` is currently in rotation."""
        now = time.monotonic()
        with self._lock:
            return any((s.healthy or now >= s.down_until) and s.url != besides
                       for s in self._states)

    def health(self) -> list[dict[str, Any]]:
        """One dict per server: url (credentials redacted), healthy, failures, requests,
        last_error."""
        with self._lock:
            return [{"url": redact_url(s.url), "healthy": s.healthy, "failures": s.failures,
                     "requests": s.requests, "last_error": s.last_error}
                    for s in self._states]


def error_message(body: str) -> str:
    """The human part of an error body (``{"error": {"message": ...}}`` or plain text)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()[:300]
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("detail") or err)[:300]
        if isinstance(err, str):
            return err[:300]
        if "detail" in data:
            return str(data["detail"])[:300]
    return body.strip()[:300]


def join_url(base: str, path: str) -> str:
    """``base`` with ``path`` appended to its path; a query string stays at the end.

    Example:
        >>> join_url("https://h/v1?api-version=2", "/chat/completions")
        'https://h/v1/chat/completions?api-version=2'
    """
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=parts.path + path))


def translate_status(status: int, body: str, url: str, model: str) -> BackendError:
    """Turn a non-retryable HTTP failure into r2p's error for it (the URL redacted)."""
    msg = error_message(body)
    url = redact_url(url)
    low = body.lower()
    if any(h in low for h in _CONTEXT_HINTS):
        return ContextLengthError(f"{url}: the prompt does not fit the model's context: {msg}")
    if "model_not_found" in low or ("model" in low and ("does not exist" in low
                                                        or status == 404)):
        return ModelNotFoundError(f"{url}: model {model!r} not found on the server: {msg}")
    if status in (401, 403):
        return BackendError(f"{url}: HTTP {status} (check the API key): {msg}")
    if status == 404:
        return BackendError(f"{url}: HTTP 404 (wrong base URL or endpoint?): {msg}")
    return BackendError(f"{url}: HTTP {status}: {msg}")


def final_error(exc: Transient, attempts: int) -> BackendError:
    """The error raised once retries for a transient failure are exhausted (URL redacted)."""
    where = f"{redact_url(exc.url)} after {attempts} attempt(s)"
    if exc.kind == "status" and exc.status == 429:
        return RateLimitError(f"rate limited (HTTP 429) by {where}: {exc.detail}")
    if exc.kind == "status":
        return BadResponseError(f"server error HTTP {exc.status} from {where}: {exc.detail}")
    if exc.kind == "bad":
        return BadResponseError(f"bad response from {where}: {exc.detail}")
    if exc.kind == "timeout":
        return ServerTimeoutError(f"timed out waiting for {where}: {exc.detail}")
    return ServerUnreachableError(f"cannot reach {where}: {exc.detail}")


def _retry_after(resp: httpx.Response) -> float | None:
    try:
        return float(resp.headers.get("retry-after", ""))
    except ValueError:
        return None


def send(client: httpx.Client, pool: ServerPool, method: str, path: str,
         payload: dict[str, Any] | None, *, model: str, headers: dict[str, str],
         stream: bool = False, max_retries: int = 3, backoff_s: float = 0.5,
         max_backoff_s: float = 8.0, on_url: Callable[[str], str] | None = None,
         timeouts: Timeouts | None = None) -> httpx.Response:
    """Send one request through ``pool`` with bounded retries; return the OK response.

    Args:
        path: appended to the chosen base URL (or to ``on_url(base)`` when given, e.g. to reach
            a server-root endpoint such as ``/props``).
        stream: return the response unread (the caller iterates and closes it).
        max_retries: retries after the first attempt for transient failures (each other
            server in the pool adds one more, so failover is always tried).

    Raises:
        ServerUnreachableError, RateLimitError, BadResponseError: after the retries.
        ContextLengthError, ModelNotFoundError, BackendError: at once for other 4xx answers.
    """
    return fetch(client, pool, method, path, payload, _identity, model=model, headers=headers,
                 stream=stream, max_retries=max_retries, backoff_s=backoff_s,
                 max_backoff_s=max_backoff_s, on_url=on_url, timeouts=timeouts)


def _identity(resp: httpx.Response) -> httpx.Response:
    return resp


def fetch(client: httpx.Client, pool: ServerPool, method: str, path: str,
          payload: dict[str, Any] | None, parse: Callable[[httpx.Response], T], *, model: str,
          headers: dict[str, str], stream: bool = False, max_retries: int = 3,
          backoff_s: float = 0.5, max_backoff_s: float = 8.0,
          on_url: Callable[[str], str] | None = None, timeouts: Timeouts | None = None) -> T:
    """Like :func:`send`, but ``parse(response)`` runs inside each attempt: a
    :class:`~r2p.errors.BadResponseError` it raises (a 200 answer that is not JSON, has no
    choices or no text) is retried like a 5xx, then raised as ``BadResponseError``.

    With ``timeouts``, a non-streamed body must arrive within ``timeouts.total`` (the stall
    limit is the client's read timeout); a timed-out request gets :data:`TIMEOUT_ATTEMPTS`
    attempts at most, then :class:`~r2p.errors.ServerTimeoutError`.
    """
    limits = timeouts or Timeouts()

    def attempt() -> T:
        base = pool.pick()
        url = join_url(on_url(base) if on_url else base, path)
        resp = _open(client, pool, base, method, url, payload, headers, stream, limits)
        if resp.status_code >= 400:
            raise _failure(resp, pool, base, model)
        pool.mark_up(base)
        try:
            return parse(resp)
        except BadResponseError as e:
            resp.close()
            raise Transient("bad", base, str(e)) from e

    policy = _RetryPolicy(pool, max_retries + len(pool.urls), backoff_s, max_backoff_s)
    retrying = Retrying(retry=retry_if_exception_type(Transient), wait=policy.wait,
                        stop=policy.stop, reraise=True)
    try:
        return retrying(attempt)
    except Transient as e:
        raise final_error(e, retrying.statistics.get("attempt_number", policy.attempts)) \
            from None


def _open(client: httpx.Client, pool: ServerPool, base: str, method: str, url: str,
          payload: dict[str, Any] | None, headers: dict[str, str], stream: bool,
          limits: Timeouts) -> httpx.Response:
    """Send one request to ``base``; a transport failure or timeout is a :class:`Transient`
    (an unreachable server is marked down in ``pool``)."""
    try:
        req = client.build_request(method, url, json=payload, headers=headers)
        started = time.monotonic()
        resp = client.send(req, stream=True)
        if not stream:
            resp = _read_within(resp, started + limits.total, limits.total, base)
        return resp
    except httpx.ConnectTimeout as e:  # the host does not answer at all: unreachable
        pool.mark_down(base, repr(e))
        raise Transient("unreachable", base, f"{limits.describe(e)} ({e!r})") from e
    except httpx.TimeoutException as e:
        raise Transient("timeout", base, limits.describe(e)) from e
    except httpx.TransportError as e:  # refused, reset, broken mid-response
        pool.mark_down(base, repr(e))
        raise Transient("unreachable", base, repr(e)) from e


def _failure(resp: httpx.Response, pool: ServerPool, base: str, model: str) -> Exception:
    """The error an HTTP error answer stands for: 429 and 5xx are :class:`Transient`
    (retried), any other status is translated at once (:func:`translate_status`)."""
    try:
        body = resp.read().decode("utf-8", "replace")
    except httpx.HTTPError:
        body = ""
    finally:
        resp.close()
    pool.mark_up(base)  # it answered
    if resp.status_code == 429 or resp.status_code >= 500:
        return Transient("status", base, error_message(body) or f"HTTP {resp.status_code}",
                         resp.status_code, _retry_after(resp))
    return translate_status(resp.status_code, body, base, model)


class _RetryPolicy:
    """When :func:`fetch` waits and stops: at once to another healthy server after an
    unreachable one, a server's Retry-After (capped), otherwise exponential backoff; stop
    after ``attempts`` or :data:`TIMEOUT_ATTEMPTS` timeouts."""

    def __init__(self, pool: ServerPool, attempts: int, backoff_s: float,
                 max_backoff_s: float) -> None:
        self.pool, self.attempts = pool, attempts
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self.timed_out = 0

    @staticmethod
    def _transient(rs: RetryCallState) -> Transient | None:
        exc = rs.outcome.exception() if rs.outcome else None
        return exc if isinstance(exc, Transient) else None

    def wait(self, rs: RetryCallState) -> float:
        exc = self._transient(rs)
        if exc is not None:
            if exc.kind == "unreachable" and self.pool.any_healthy(besides=exc.url):
                return 0.0
            if exc.retry_after is not None:
                return min(exc.retry_after, self.max_backoff_s)
        return float(min(self.max_backoff_s, self.backoff_s * 2 ** (rs.attempt_number - 1)))

    def stop(self, rs: RetryCallState) -> bool:
        exc = self._transient(rs)
        if exc is not None and exc.kind == "timeout":
            self.timed_out += 1
            if self.timed_out >= TIMEOUT_ATTEMPTS:
                return True
        return rs.attempt_number >= self.attempts


def _read_within(resp: httpx.Response, deadline: float, total: float,
                 base: str) -> httpx.Response:
    """Read ``resp``'s body, giving up at ``deadline`` (``time.monotonic()``); return a
    response holding the body."""
    if resp.is_stream_consumed:  # already read (an in-memory transport): nothing to wait for
        return resp
    chunks: list[bytes] = []
    try:
        for chunk in resp.iter_raw():
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise Transient("timeout", base,
                                f"the answer took longer than {total:g} s (timeout)")
    finally:
        resp.close()
    return httpx.Response(resp.status_code, headers=resp.headers, content=b"".join(chunks),
                          request=resp.request)


def parse_json(resp: httpx.Response, what: str) -> dict[str, Any]:
    """The response body as a JSON object, or :class:`BadResponseError` naming ``what``."""
    where = redact_url(str(resp.request.url))
    try:
        data = resp.json()
    except ValueError:
        raise BadResponseError(f"{where}: {what} is not JSON: {resp.text[:200]!r}") from None
    if not isinstance(data, dict):
        raise BadResponseError(f"{where}: {what} is not a JSON object: {data!r:.200}")
    return data


def _lines(resp: httpx.Response, deadline: float | None, total: float | None
           ) -> Iterator[str]:
    """The body's lines as they arrive; :class:`ServerTimeoutError` past ``deadline`` (checked
    on every chunk, so a server trickling bytes without line breaks is caught too)."""
    buf = ""
    for text in resp.iter_text():
        if deadline is not None and time.monotonic() > deadline:
            raise ServerTimeoutError(f"{redact_url(str(resp.request.url))}: the stream took "
                                     f"longer than {total:g} s (timeout)")
        buf += text
        *lines, buf = buf.split("\n")
        for line in lines:
            yield line.rstrip("\r")
    if buf:
        yield buf.rstrip("\r")


def iter_sse(resp: httpx.Response, *, deadline: float | None = None,
             total: float | None = None,
             on_done: Callable[[], None] | None = None) -> Iterator[dict[str, Any]]:
    """The JSON events of a server-sent-event stream, until ``data: [DONE]`` (``on_done`` is
    called when it comes); with ``deadline`` (``time.monotonic()``),
    :class:`ServerTimeoutError` once it passes."""
    for line in _lines(resp, deadline, total):
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            if on_done is not None:
                on_done()
            return
        try:
            event = json.loads(data)
        except ValueError:
            raise BadResponseError(f"{redact_url(str(resp.request.url))}: stream event is not "
                                   f"JSON: {data[:200]!r}") from None
        if isinstance(event, dict) and "error" in event:
            raise BadResponseError(f"{redact_url(str(resp.request.url))}: error in stream: "
                                   f"{error_message(data)}")
        if isinstance(event, dict):
            yield event


__all__ = ["TIMEOUT_ATTEMPTS", "ServerPool", "ServerState", "Timeouts", "Transient", "error_message", "fetch", "final_error",
           "iter_sse", "join_url", "parse_json", "send", "translate_status"]
