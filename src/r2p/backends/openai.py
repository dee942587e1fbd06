"""``openai``: any OpenAI-compatible server (vLLM, SGLang, llama.cpp server, Ollama, hosted APIs).

Speaks the chat-completions wire format over :mod:`httpx`, with bounded retries and failover
across several servers (see :mod:`r2p.backends._http`). Continuing a partly written assistant
turn (``prefill``) differs per server kind, so it is an option:

============================  =================================================================
``continue_final_message``    trailing assistant message + ``continue_final_message: true``,
                              ``add_generation_prompt: false`` (vLLM, SGLang)
``trailing_assistant``        trailing assistant message (llama.cpp server); llama.cpp answers
                              PREFIX + continuation, the prefix is stripped
``prefix``                    assistant message with ``"prefix": true`` (DeepSeek beta API)
``raw_completions``           the prompt is rendered by the server's own template endpoint
                              (llama.cpp ``/apply-template``, vLLM ``/tokenize`` with messages),
                              turned into token ids, the prefill's ids appended, and the ids
                              sent to ``/v1/completions``; for templates that rewrite or drop a
                              think block in the assistant turn
``auto`` (default)            ``trailing_assistant`` when ``/props`` says llama.cpp, otherwise
                              ``continue_final_message``
============================  =================================================================

Example:
    >>> from r2p.backends.openai import OpenAIBackend
    >>> b = OpenAIBackend("http://127.0.0.1:8080", "my-model")  # doctest: +SKIP
    >>> b.generate([{"role": "user", "content": "hi"}], prefill="Hello").text  # doctest: +SKIP
    ' there! How can I help?'
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from r2p.backends import _http
from r2p.backends.base import BaseBackend, GenerationSettings
from r2p.errors import (
    BackendError,
    BadResponseError,
    ConfigError,
    ServerTimeoutError,
    ServerUnreachableError,
)
from r2p.reasoning import THINK_OPEN, join_prefill, split_output
from r2p.redact import redact_url
from r2p.types import Choice, Completion, Message, Usage

PREFILL_MODES = ("auto", "continue_final_message", "trailing_assistant", "prefix",
                 "raw_completions")


def _normalize_url(url: str) -> str:
    """API base URL: strip a trailing slash; a bare ``scheme://host:port`` gets ``/v1``. A
    query string (``?api-version=...``) is kept and sent with every request."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"openai backend: base_url {redact_url(url)!r} is not an http(s) URL")
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit(parts._replace(path=path, fragment=""))


def _origin(url: str) -> str:
    """``scheme://host:port`` of a base URL (where llama.cpp/vLLM put /props, /tokenize),
    with the base URL's query string."""
    return urlunsplit(urlsplit(url)._replace(path=""))


def _env_values(option: str, names: dict[str, str] | None) -> dict[str, str]:
    """``{field: os.environ[var]}`` for an ``*_env`` option ``{field: var}``."""
    out: dict[str, str] = {}
    for field, var in (names or {}).items():
        value = os.environ.get(var)
        if not value:
            raise ConfigError(f"openai backend: {option}: environment variable {var!r} (for "
                              f"{field!r}) is not set")
        out[field] = value
    return out


def _finish(reason: Any) -> str:
    return "length" if reason == "length" else "stop"


def _top_logprobs(lp: Any) -> list[list[tuple[str, float]]] | None:
    """A choice's ``logprobs`` as per-token alternatives, in either wire shape: OpenAI chat and
    llama.cpp (``content: [{token, logprob, top_logprobs: [{token, logprob}]}]``) or the legacy
    completions shape vLLM uses (``top_logprobs: [{token: logprob}]``). None when absent.

    >>> _top_logprobs({"top_logprobs": [{" 4": -0.1, " 5": -2.3}]})
    [[(' 4', -0.1), (' 5', -2.3)]]
    """
    if not isinstance(lp, dict):
        return None
    content = lp.get("content")
    if isinstance(content, list):
        out = []
        for pos in content:
            alts = pos.get("top_logprobs") if isinstance(pos, dict) else None
            out.append([(str(a.get("token", "")), float(a.get("logprob", -1e9)))
                        for a in alts or [] if isinstance(a, dict)])
        return out
    legacy = lp.get("top_logprobs")
    if isinstance(legacy, list):
        return [sorted(((str(t), float(v)) for t, v in pos.items()), key=lambda x: -x[1])
                if isinstance(pos, dict) else [] for pos in legacy]
    return None


def _usage(data: dict[str, Any]) -> Usage:
    u = data.get("usage") or {}
    timings = data.get("timings") or {}
    details = u.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens")
    if cached is None:
        cached = timings.get("cache_n", 0)
    try:
        return Usage(int(u.get("prompt_tokens") or 0), int(cached or 0),
                     int(u.get("completion_tokens") or 0))
    except (TypeError, ValueError):
        raise BadResponseError(f"malformed usage in response: {u!r:.200}") from None


class _PrefixStripper:
    """Drops a leading copy of the prefill from streamed text (llama.cpp echoes it sometimes)."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.buf, self.done = prefix, "", not prefix

    def feed(self, chunk: str) -> str:
        if self.done:
            return chunk
        self.buf += chunk
        if self.prefix.startswith(self.buf):
            return ""  # still could be the echoed prefix
        self.done = True
        out = self.buf.removeprefix(self.prefix)
        self.buf = ""
        return out

    def flush(self) -> str:
        self.done, out, self.buf = True, self.buf, ""
        return out


class OpenAIStream:
    """A :class:`~r2p.backends.base.Stream` over a server-sent-event response.

    Iterating yields text as it arrives. A separate reasoning field (``reasoning_content`` /
    ``reasoning``) is yielded inline as ``<think>...</think>`` so a monitor sees the thought;
    :meth:`result` splits it back out. ``close()`` closes the connection, which makes the server
    stop generating.
    """

    def __init__(self, backend: OpenAIBackend, resp: httpx.Response, kind: str,
                 prefill: str | None, strip_prefix: bool, started: float,
                 deadline: float | None = None) -> None:
        self._b, self._resp, self._kind = backend, resp, kind
        self._deadline = deadline
        self._prefill = prefill
        self._strip = _PrefixStripper((prefill or "") if strip_prefix else "")
        self._started = started
        self._content: list[str] = []
        self._reasoning: list[str] = []
        self._in_think = False
        self._finish = "stop"
        self._usage = Usage()
        self._closed = self._done = False
        self._choices_seen = self._finished = False
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[str]:
        if self._done or self._closed:
            return
        try:
            for event in _http.iter_sse(self._resp, deadline=self._deadline,
                                        total=self._b.timeouts.total, on_done=self._on_done):
                if event.get("usage"):
                    self._usage = _usage(event)
                for ch in event.get("choices") or []:
                    if ch.get("index", 0) != 0:
                        continue
                    self._choices_seen = True
                    if ch.get("finish_reason"):
                        self._finish = _finish(ch["finish_reason"])
                        self._finished = True
                    piece = self._piece(ch)
                    if piece:
                        yield piece
            self._check_complete()
            tail = self._strip.flush()
            if tail:
                self._content.append(tail)
                yield tail
            if self._in_think:
                self._in_think = False
                yield "</think>"
            self._done = True
        except httpx.TimeoutException as e:
            if self._closed:
                return
            raise ServerTimeoutError(
                f"{redact_url(str(self._resp.request.url))}: no data for "
                f"{min(self._b.timeouts.read, self._b.timeouts.total):g} s mid-stream "
                "(read_timeout)") from e
        except httpx.HTTPError as e:
            if self._closed:
                return
            raise ServerUnreachableError(
                f"{redact_url(str(self._resp.request.url))}: connection lost mid-stream: "
                f"{e!r}") from e
        finally:
            self._resp.close()

    def _on_done(self) -> None:
        self._finished = True

    def _check_complete(self) -> None:
        """A stream that ended without any choice is not an answer (e.g. a plain JSON body
        sent to a stream request); one that ended without a finish reason or ``[DONE]`` was
        cut short."""
        where = redact_url(str(self._resp.request.url))
        if not self._choices_seen:
            ctype = self._resp.headers.get("content-type", "").split(";")[0].strip()
            if "json" in ctype:
                raise BadResponseError(f"{where}: the server answered a stream request with a "
                                       f"non-streaming body ({ctype}); run without --stream "
                                       "or use a server that streams")
            raise BadResponseError(f"{where}: the stream ended without any answer event "
                                   f"(content type {ctype or 'none'})")
        if not self._finished:
            raise ServerUnreachableError(f"{where}: the stream ended before the answer was "
                                         "finished (no finish reason, no [DONE]; connection "
                                         "lost?)")

    def _piece(self, ch: dict[str, Any]) -> str:
        if self._kind == "completions":
            delta = {"content": ch.get("text")}
        else:
            delta = ch.get("delta") or {}
        out = ""
        r = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(r, str) and r:
            self._reasoning.append(r)
            if not self._in_think:
                self._in_think, out = True, "<think>"
            out += r
        c = delta.get("content")
        if isinstance(c, str) and c:
            c = self._strip.feed(c)
            if c:
                self._content.append(c)
                if self._in_think:
                    self._in_think, out = False, out + "</think>"
                out += c
        return out

    def close(self) -> None:
        """Stop early: close the connection; the result keeps what was already received."""
        with self._lock:
            if not self._done:
                self._closed = True
            self._resp.close()

    def result(self) -> Completion:
        """The final completion (``finish_reason="abort"`` when closed early)."""
        if not self._done and not self._closed:
            for _ in self:
                pass
        content = "".join(self._content)
        text, reasoning = self._b._split(content, "".join(self._reasoning), self._prefill)
        usage = self._usage
        if self._closed and not usage.completion_tokens:
            # the final usage event never came: count chunks (servers send about one token each)
            n = len(self._content) + len(self._reasoning)
            usage = Usage(usage.prompt_tokens, usage.cached_tokens, n)
        return Completion(text, reasoning, "abort" if self._closed else self._finish, usage,
                          time.perf_counter() - self._started)


class OpenAIBackend(BaseBackend):
    """Backend for any OpenAI-compatible HTTP server.

    Args:
        base_url: the API base URL (``http://host:port/v1``; a bare ``http://host:port`` gets
            ``/v1``), or a list of them: requests are spread round-robin and a server that
            refuses connections leaves the rotation while the others serve.
        model: the model name the server knows.
        api_key_env: environment variable holding the API key (none needed for local servers).
        prefill_mode: how to continue a prefill (see the module docstring).
        native_reasoning: the model thinks natively (e.g. an R1 distill behind a reasoning
            parser): methods then do not prefill ``<think>``, and an inline ``<think>`` block in
            the content is split into ``Completion.reasoning``.
        thought_prefill: whether a prefill may continue *inside* a native thought (R2P then
            intervenes in the thought itself instead of by a follow-up turn). Default: True in
            ``raw_completions`` mode, where the prompt is rendered by the server's template and
            a think tag the template already opened is not repeated; False otherwise (an R1
            template drops everything before ``</think>`` from a continued assistant turn).
        timeout: the most seconds one attempt may take, from sending to the last byte
            (streams included; default 300).
        read_timeout: the longest wait for the next byte, in seconds (default 60). A
            non-streamed answer arrives in one piece, so this also bounds a non-streamed
            generation: raise it for long generations on a slow server.
        connect_timeout: seconds to open a connection (default 5).
        max_retries: retries for refused connections, 429, 5xx and malformed answers; a
            server that connects but does not answer in time gets one retry only (then
            :class:`~r2p.errors.ServerTimeoutError`).
        retry_backoff: first backoff in seconds (doubles each retry, at most 8 s).
        extra_body: extra fields merged into every request body (written to ``config.json``,
            with secret-named fields masked; put secrets in ``extra_body_env``).
        extra_headers_env: ``{header: ENV_VAR}``: headers sent with every request, their
            values read from the environment at construction (never written anywhere).
        extra_body_env: ``{field: ENV_VAR}``: body fields, read the same way.
        transport: an :class:`httpx.BaseTransport` (tests use :class:`httpx.MockTransport`).

    Example:
        >>> b = OpenAIBackend(["http://gpu1:8000/v1", "http://gpu2:8000/v1"],
        ...                   "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
        ...                   native_reasoning=True)  # doctest: +SKIP
    """

    name = "openai"
    logprobs = True
    """``generate`` asks the server for token alternatives when ``settings.top_logprobs`` > 0
    (vLLM, SGLang, llama.cpp server and OpenAI return them; where a server does not, R2P falls
    back to sampled answers)."""

    def __init__(self, base_url: str | Sequence[str], model: str, *,
                 api_key_env: str = "OPENAI_API_KEY", prefill_mode: str = "auto",
                 native_reasoning: bool = False, thought_prefill: bool | None = None,
                 timeout: float = 300.0, read_timeout: float = 60.0,
                 connect_timeout: float = 5.0, max_retries: int = 3,
                 retry_backoff: float = 0.5, extra_body: dict[str, Any] | None = None,
                 extra_headers_env: dict[str, str] | None = None,
                 extra_body_env: dict[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ConfigError("openai backend: base_url is empty")
        if not model:
            raise ConfigError("openai backend: model name is empty")
        if prefill_mode not in PREFILL_MODES:
            raise ConfigError(f"openai backend: unknown prefill_mode {prefill_mode!r}; choose "
                              f"from: {', '.join(PREFILL_MODES)}")
        if max_retries < 0 or min(timeout, read_timeout, connect_timeout) <= 0:
            raise ConfigError("openai backend: max_retries must be >= 0 and timeout, "
                              "read_timeout, connect_timeout > 0")
        self.timeouts = _http.Timeouts(connect=connect_timeout, read=read_timeout,
                                       total=timeout)
        self.model = model
        self.prefill_mode = prefill_mode
        self.native_reasoning = native_reasoning
        # only raw_completions renders the prompt here (``auto`` never resolves to it)
        self.thought_prefill = (thought_prefill if thought_prefill is not None
                                else prefill_mode == "raw_completions")
        self.max_retries, self.retry_backoff = max_retries, retry_backoff
        self.extra_body = {**(extra_body or {}),
                           **_env_values("extra_body_env", extra_body_env)}
        self._pool = _http.ServerPool([_normalize_url(u) for u in urls])
        self._headers = {"Content-Type": "application/json"}
        key = os.environ.get(api_key_env) if api_key_env else None
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        self._headers.update(_env_values("extra_headers_env", extra_headers_env))
        self._client = httpx.Client(
            timeout=self.timeouts.httpx(), transport=transport,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32))
        self._kind: str | None = None  # "llamacpp" | "generic", probed lazily
        self._render_cache: OrderedDict[str, tuple[str | None, list[int]]] = OrderedDict()
        self._open_ids: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ plumbing
    @property
    def base_urls(self) -> list[str]:
        """The normalized API base URLs."""
        return self._pool.urls

    def health(self) -> list[dict[str, Any]]:
        """One dict per server: ``url``, ``healthy``, ``failures``, ``requests``, ``last_error``."""
        return self._pool.health()

    def _send(self, path: str, payload: dict[str, Any] | None, *, method: str = "POST",
              stream: bool = False, root: bool = False) -> httpx.Response:
        return _http.send(self._client, self._pool, method, path, payload, model=self.model,
                          headers=self._headers, stream=stream, max_retries=self.max_retries,
                          backoff_s=self.retry_backoff, on_url=_origin if root else None,
                          timeouts=self.timeouts)

    def server_kind(self) -> str:
        """``"llamacpp"`` when the server answers llama.cpp's ``/props``, else ``"generic"``."""
        if self._kind is None:
            try:
                resp = self._send("/props", None, method="GET", root=True)
                data = resp.json()
                llama = isinstance(data, dict) and "default_generation_settings" in data
            except (BackendError, ValueError) as e:
                if isinstance(e, ServerUnreachableError):
                    raise
                llama = False
            self._kind = "llamacpp" if llama else "generic"
        return self._kind

    def resolved_prefill_mode(self) -> str:
        """The prefill mode in use (``auto`` resolved by probing the server once)."""
        if self.prefill_mode != "auto":
            return self.prefill_mode
        return "trailing_assistant" if self.server_kind() == "llamacpp" else \
            "continue_final_message"

    def _split(self, content: str, reasoning_field: str,
               prefill: str | None = None) -> tuple[str, str]:
        """(text, reasoning): the field always goes to reasoning; inline ``<think>`` only when
        the model reasons natively (otherwise the caller's own prefill/parse owns it).

        With a prefill the caller owns the thought and gets the raw continuation: a reasoning
        field the server's parser split off is put back in front, closed by ``</think>`` when
        an answer followed it (:func:`r2p.reasoning.split_output`)."""
        sp = split_output(content, native=self.native_reasoning,
                          continued=prefill is not None, reasoning_field=reasoning_field)
        return sp.answer, sp.reasoning

    # ------------------------------------------------------------------ payloads
    def _render(self, messages: list[dict[str, Any]], prefill: str) -> list[int]:
        """Token ids of the templated prompt plus the prefill (for ``raw_completions``).

        A prefill that opens a think block the template already opened (R1 distills end the
        generation prompt with ``<think>\n``) continues that block: the tag is not repeated
        (:func:`r2p.reasoning.join_prefill` on the rendered text with llama.cpp; on the token
        ids of the tag with vLLM, whose ``/tokenize`` renders the template itself)."""
        key = json.dumps(messages, sort_keys=True)
        with self._lock:
            hit = self._render_cache.get(key)
        if hit is None:
            rendered: str | None = None
            if self.server_kind() == "llamacpp":
                rendered = _http.parse_json(
                    self._send("/apply-template", {"messages": messages}, root=True),
                    "/apply-template answer").get("prompt")
                if not isinstance(rendered, str):
                    raise BadResponseError("/apply-template answer has no 'prompt' string")
                ids = self._tokenize({"content": rendered, "add_special": False,
                                      "parse_special": True})
            else:  # vLLM: /tokenize renders the chat template itself
                ids = self._tokenize({"model": self.model, "messages": messages,
                                      "add_generation_prompt": True,
                                      "add_special_tokens": False})
            hit = (rendered, ids)
            with self._lock:
                self._render_cache[key] = hit
                while len(self._render_cache) > 256:
                    self._render_cache.popitem(last=False)
        rendered, ids = hit
        if not prefill:
            return list(ids)
        if rendered is not None:  # llama.cpp: join on the text
            tail_text = join_prefill(rendered, prefill)[len(rendered):]
            tail = self._tokenize({"content": tail_text, "add_special": False,
                                   "parse_special": False}) if tail_text else []
            return list(ids) + tail
        tail_text = prefill
        head = prefill.lstrip()
        if head.startswith(THINK_OPEN):
            for opened in (THINK_OPEN + "\n", THINK_OPEN):
                open_ids = self._open_ids.get(opened)
                if open_ids is None:  # asked once per backend
                    open_ids = self._tokenize({"model": self.model, "prompt": opened,
                                               "add_special_tokens": False})
                    self._open_ids[opened] = open_ids
                if open_ids and list(ids[-len(open_ids):]) == open_ids:
                    tail_text = head[len(opened):] if head.startswith(opened) else \
                        head[len(THINK_OPEN):].lstrip("\n")
                    break
        tail = self._tokenize({"model": self.model, "prompt": tail_text,
                               "add_special_tokens": False}) if tail_text else []
        return list(ids) + tail

    def _tokenize(self, payload: dict[str, Any]) -> list[int]:
        data = _http.parse_json(self._send("/tokenize", payload, root=True), "/tokenize answer")
        toks = data.get("tokens")
        if not isinstance(toks, list) or not all(isinstance(t, int) for t in toks):
            raise BadResponseError(f"/tokenize answer has no token id list: {data!r:.200}")
        return toks

    def _request(self, messages: Sequence[Message], prefill: str | None,
                 settings: GenerationSettings) -> tuple[str, dict[str, Any], str]:
        """(path, payload, mode) for one request: the settings in the wire format."""
        msgs: list[dict[str, Any]] = [dict(m) for m in messages]
        body: dict[str, Any] = {"model": self.model, "max_tokens": settings.max_tokens,
                                "temperature": settings.temperature, "top_p": settings.top_p}
        if settings.stop:
            body["stop"] = list(settings.stop)
        if settings.n != 1:
            body["n"] = settings.n
        if settings.seed is not None:
            body["seed"] = settings.seed
        top_logprobs = settings.top_logprobs
        body.update(self.extra_body)
        mode = self.resolved_prefill_mode() if prefill else "none"
        if mode == "raw_completions":
            body["prompt"] = self._render(msgs, prefill or "")
            if top_logprobs > 0:
                body["logprobs"] = int(top_logprobs)
            return "/completions", body, mode
        if top_logprobs > 0:
            body["logprobs"] = True
            body["top_logprobs"] = int(top_logprobs)
        if mode == "continue_final_message":
            msgs.append({"role": "assistant", "content": prefill or ""})
            body["continue_final_message"] = True
            body["add_generation_prompt"] = False
        elif mode == "trailing_assistant":
            msgs.append({"role": "assistant", "content": prefill or ""})
        elif mode == "prefix":
            msgs.append({"role": "assistant", "content": prefill or "", "prefix": True})
        body["messages"] = msgs
        return "/chat/completions", body, mode

    # ------------------------------------------------------------------ Backend API
    def _generate(self, messages: Sequence[Message], prefill: str | None,
                  settings: GenerationSettings) -> Completion:
        """Generate a reply (with ``prefill``: its continuation only).

        ``settings.top_logprobs`` > 0 asks for each generated token's most likely alternatives
        (chat: ``logprobs``/``top_logprobs``; raw completions: ``logprobs``); a server that
        returns none leaves ``Choice.top_logprobs`` None.

        Raises:
            ServerUnreachableError, RateLimitError, BadResponseError, ContextLengthError,
            ModelNotFoundError: see :mod:`r2p.errors`.
        """
        if settings.n < 1 or settings.max_tokens < 1:
            raise ConfigError("openai backend: n and max_tokens must be >= 1")
        t0 = time.perf_counter()
        path, body, mode = self._request(messages, prefill, settings)

        def parse(resp: httpx.Response) -> Completion:
            data = _http.parse_json(resp, "completion")
            return self._completion(data, path, mode, prefill, t0)

        return _http.fetch(self._client, self._pool, "POST", path, body, parse,
                           model=self.model, headers=self._headers,
                           max_retries=self.max_retries, backoff_s=self.retry_backoff,
                           timeouts=self.timeouts)

    def _completion(self, data: dict[str, Any], path: str, mode: str, prefill: str | None,
                    t0: float) -> Completion:
        """The :class:`Completion` of a JSON answer, or :class:`BadResponseError` (retried by
        :func:`_http.fetch`) when it is not a valid completion.

        A choice with no text (``content``/``text`` null or missing) and no reasoning is a bad
        response unless its finish reason is ``length``: a reasoning model that spent all of
        ``max_tokens`` inside its thought legitimately has no answer (the caller sees
        ``text == ""`` with ``finish_reason == "length"``)."""
        raw_choices = data.get("choices")
        if not isinstance(raw_choices, list) or not raw_choices:
            raise BadResponseError(f"{self.model}: response has no choices: {data!r:.300}")
        choices: list[Choice] = []
        for ch in sorted(raw_choices, key=lambda c: c.get("index", 0)
                         if isinstance(c, dict) else 0):
            if not isinstance(ch, dict):
                raise BadResponseError(f"{self.model}: malformed choice: {ch!r:.200}")
            if path == "/completions":
                content, rfield = ch.get("text"), ""
            else:
                msg = ch.get("message")
                if not isinstance(msg, dict):
                    raise BadResponseError(f"{self.model}: choice without message: {ch!r:.200}")
                content = msg.get("content")
                rfield = msg.get("reasoning_content") or msg.get("reasoning") or ""
            if content is None and not rfield and ch.get("finish_reason") != "length":
                raise BadResponseError(
                    f"{self.model}: the answer has no text and no reasoning (finish reason "
                    f"{ch.get('finish_reason')!r}): {ch!r:.200}")
            content = "" if content is None else content
            if not isinstance(content, str) or not isinstance(rfield, str):
                raise BadResponseError(f"{self.model}: choice content is not text: {ch!r:.200}")
            if mode == "trailing_assistant" and prefill and content.startswith(prefill):
                content = content[len(prefill):]
            text, reasoning = self._split(content, rfield, prefill)
            choices.append(Choice(text, reasoning, _finish(ch.get("finish_reason")),
                                  _top_logprobs(ch.get("logprobs"))))
        first = choices[0]
        return Completion(first.text, first.reasoning, first.finish_reason, _usage(data),
                          time.perf_counter() - t0, choices, raw=data)

    def _stream(self, messages: Sequence[Message], prefill: str | None,
                settings: GenerationSettings) -> OpenAIStream:
        """Stream a reply over server-sent events; ``close()`` stops the server early."""
        t0 = time.perf_counter()
        path, body, mode = self._request(messages, prefill, settings)
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        resp = self._send(path, body, stream=True)
        return OpenAIStream(self, resp, "completions" if path == "/completions" else "chat",
                            prefill, mode == "trailing_assistant", t0,
                            deadline=time.monotonic() + self.timeouts.total)

    def identity(self) -> dict[str, Any]:
        """Server URL(s), credentials redacted, and model name (for records and cache keys)."""
        urls = [redact_url(u) for u in self._pool.urls]
        return {"backend": self.name, "base_url": urls[0] if len(urls) == 1 else urls,
                "model": self.model}

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()


__all__ = ["PREFILL_MODES", "OpenAIBackend", "OpenAIStream"]
