"""The embedded default backend: llama.cpp in process, through ``xllamacpp``.

``xllamacpp.Server`` runs llama.cpp's server loop inside this process: several slots decoded
together (continuous batching, so concurrent calls from threads are served at once), a prompt
cache, and a real HTTP listener on loopback (``base_url``) that other code may talk to.

Design choices:

* **Prefill = rendered chat template + prefill, sent to the raw completions endpoint.** The chat
  template is rendered once per distinct message list (by the server's own ``/apply-template``,
  so it is exactly llama.cpp's rendering) and the prefill is appended as plain text. The returned
  text is then only the continuation, and an intervention's next request is byte-identical to the
  previous one up to the injected correction, so llama.cpp's prompt cache (``cache_prompt``)
  serves that prefix; ``usage.cached_tokens`` reports it (from ``timings.cache_n``). Continuing
  a trailing assistant message instead would let templates that strip ``<think>`` from assistant
  turns (R1 distills, Qwen3) rewrite the prefill.
* **Native reasoning is detected from the template**: when the generation prompt ends with
  ``<think>`` the model starts inside its thought (``native_reasoning`` is True); a reply to a
  request without prefill is then split into ``reasoning`` and ``text``.
* llama.cpp's logging is silenced (verbosity 0) unless ``verbose=True``.

Example:
    >>> from r2p.backends.llamacpp import LlamaCppBackend
    >>> with LlamaCppBackend("smollm2") as lm:                        # doctest: +SKIP
    ...     lm.generate([{"role": "user", "content": "Hi"}], max_tokens=8).text
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from r2p.backends._stream import ThreadStream, translate_error
from r2p.backends.base import BaseBackend, GenerationSettings
from r2p.backends.models import file_sha256, read_gguf, resolve_model
from r2p.errors import BackendError, BadResponseError, ConfigError, MissingDependencyError
from r2p.reasoning import THINK_OPEN, join_prefill, split_output
from r2p.types import Choice, Completion, Message, Usage

INSTALL = "pip install 'r2p[llamacpp]'"
_RENDER_CACHE_SIZE = 512


def default_threads() -> int:
    """Usable cores minus those already busy (1-minute load average), at least 1.

    llama.cpp's worker threads spin while they wait for each other: on an oversubscribed machine
    two threads on two busy cores generated ~4 tok/s where one thread made ~27 tok/s (SmolLM2,
    load average ~10). On an idle machine this is simply the number of usable cores.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    try:
        busy = int(os.getloadavg()[0] + 0.5)
    except (AttributeError, OSError):
        busy = 0
    return max(1, min(cpus, cpus - busy))


class LlamaCppBackend(BaseBackend):
    """Embedded llama.cpp backend (see the module docstring).

    Args:
        model: a model alias (``smollm2``, also used for None) or a GGUF path.
        threads: CPU threads for generation and prompt processing (default: the usable cores
            that are not already busy, see :func:`default_threads`).
        n_ctx: context tokens *per slot* (default 4096, capped at the model's training context).
        parallel: slots decoded together by continuous batching (default 4).
        chat_template: a llama.cpp built-in template name (``chatml``, ``llama3``, ...) or a Jinja
            template; required when the GGUF has none.
        verbose: let llama.cpp log to stderr.

    Attributes:
        name: ``"llamacpp"``.
        base_url: the engine's loopback HTTP listener (OpenAI-compatible), e.g.
            ``http://127.0.0.1:43073``.
        native_reasoning: the template opens a ``<think>`` block by itself.
        thought_prefill: True: a prefill can continue inside the thought (the template's own
            ``<think>`` is not repeated, see :func:`r2p.reasoning.join_prefill`).
        path: the GGUF file.

    Raises:
        ModelNotFoundError: unknown alias / missing file.
        CorruptModelError: not a GGUF file, or truncated.
        ConfigError: the model has no chat template and none was given; bad option values.
        BackendError: llama.cpp failed to load the model.
    """

    name = "llamacpp"
    thought_prefill = True
    """The prompt is a raw string: a prefill can continue inside a native thought."""
    logprobs = True
    """``generate(top_logprobs=N)`` returns each token's N most likely alternatives."""

    def __init__(
        self,
        model: str | os.PathLike[str] | None = "smollm2",
        *,
        threads: int | None = None,
        n_ctx: int | None = None,
        parallel: int | None = None,
        chat_template: str | None = None,
        verbose: bool = False,
    ) -> None:
        self.model = str(model) if model is not None else "smollm2"
        self.path: Path = resolve_model(self.model).resolve()
        self.info = read_gguf(self.path)
        if chat_template is None and self.info.chat_template is None:
            raise ConfigError(
                f"{self.path}: the model has no chat template (tokenizer.chat_template); "
                "pass chat_template= (e.g. 'chatml') or use a chat/instruct model")
        self.threads = int(threads) if threads is not None else default_threads()
        self.parallel = int(parallel) if parallel is not None else 4
        slot_ctx = int(n_ctx) if n_ctx is not None else min(4096, self.info.context_length or 4096)
        if self.threads < 1 or self.parallel < 1 or slot_ctx < 16:
            raise ConfigError(f"llamacpp: threads and parallel must be >= 1 and n_ctx >= 16 "
                              f"(got threads={self.threads}, parallel={self.parallel}, "
                              f"n_ctx={slot_ctx})")
        self.n_ctx = slot_ctx
        self.chat_template = chat_template
        self.verbose = verbose
        try:
            import xllamacpp
        except ImportError as exc:
            raise MissingDependencyError("xllamacpp (the llamacpp backend)", INSTALL) from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(self.path)
        params.n_ctx = slot_ctx * self.parallel
        params.n_parallel = self.parallel
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.cache_prompt = True
        params.verbosity = 3 if verbose else 0
        if chat_template is not None:
            params.chat_template = chat_template
        t0 = time.perf_counter()
        try:
            self._server: Any = xllamacpp.Server(params)
        except RuntimeError as exc:
            raise BackendError(f"llama.cpp could not load {self.path}: {exc}") from exc
        self.load_seconds = time.perf_counter() - t0
        self.base_url: str = str(self._server.listening_address).rstrip("/")
        self._render_cache: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        probe = self.render([{"role": "user", "content": "x"}])
        self.native_reasoning = probe.rstrip().endswith(THINK_OPEN)

    # -- prompt rendering -------------------------------------------------------------------

    def _post(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        req = urllib.request.Request(
            self.base_url + route, data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                out: dict[str, Any] = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            try:
                err = json.loads(exc.read()).get("error", {})
            except (ValueError, AttributeError):
                err = {"message": str(exc), "code": exc.code}
            raise translate_error(err, f"llamacpp {route}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise BackendError(f"llamacpp {route}: {exc}") from exc
        return out

    def render(self, messages: Sequence[Message]) -> str:
        """The prompt string for ``messages`` with the generation prompt (the model's template).

        Rendered by llama.cpp itself and cached per distinct message list.
        """
        self._check_open()
        if not messages:
            raise ConfigError("llamacpp: messages must not be empty")
        for i, m in enumerate(messages):
            if m.get("role") not in ("system", "user", "assistant", "tool") or not isinstance(
                    m.get("content"), str):
                raise ConfigError(f"llamacpp: message {i} needs a role (system/user/assistant) "
                                  f"and a string content, got {dict(m)!r:.120}")
        key = json.dumps([[m["role"], m["content"]] for m in messages])
        with self._lock:
            hit = self._render_cache.get(key)
            if hit is not None:
                self._render_cache.move_to_end(key)
                return hit
        prompt = self._post("/apply-template", {"messages": [dict(m) for m in messages]})
        text = prompt.get("prompt")
        if not isinstance(text, str):
            raise BadResponseError(f"llamacpp /apply-template answered without a prompt: "
                                   f"{prompt!r:.200}")
        with self._lock:
            self._render_cache[key] = text
            while len(self._render_cache) > _RENDER_CACHE_SIZE:
                self._render_cache.popitem(last=False)
        return text

    # -- generation -------------------------------------------------------------------------

    def _body(self, messages: Sequence[Message], prefill: str | None,
              settings: GenerationSettings, stream: bool) -> dict[str, Any]:
        """The completions request: the settings in llama.cpp's wire format."""
        max_tokens, n, top_logprobs = settings.max_tokens, settings.n, settings.top_logprobs
        if max_tokens < 0 or n < 1:
            raise ConfigError(f"llamacpp: need max_tokens >= 0 and n >= 1 "
                              f"(got {max_tokens}, {n})")
        body: dict[str, Any] = {
            "prompt": join_prefill(self.render(messages), prefill),
            "max_tokens": int(max_tokens), "temperature": float(settings.temperature),
            "top_p": float(settings.top_p), "cache_prompt": True, "stream": stream,
        }
        if stream:  # usage in every chunk, so a stream closed early still reports it
            body["timings_per_token"] = True
        if settings.stop:
            body["stop"] = [s for s in settings.stop if s]
        if n > 1:
            body["n"] = int(n)
        if top_logprobs > 0 or n > 1:  # n > 1: per-choice token counts (usage counts one)
            body["logprobs"] = max(1, int(top_logprobs))
        if settings.seed is not None:
            body["seed"] = int(settings.seed)
        return body

    def _split(self, text: str, prefill: str | None) -> tuple[str, str]:
        """``(text, reasoning)``: the template opened the thought, so the output starts
        inside it (:func:`r2p.reasoning.split_output`)."""
        sp = split_output(text, native=self.native_reasoning, continued=prefill is not None,
                          started_open=True)
        return sp.answer, sp.reasoning

    def completion_from_response(self, resp: dict[str, Any], prefill: str | None,
                                 seconds: float) -> Completion:
        """Build a :class:`Completion` from a llama.cpp completions response."""
        if "error" in resp:
            raise translate_error(resp["error"], "llamacpp")
        raw_choices = resp.get("choices")
        if not isinstance(raw_choices, list) or not raw_choices:
            raise BadResponseError(f"llamacpp: response without choices: {resp!r:.300}")
        choices = []
        counted = 0
        for ch in sorted(raw_choices, key=lambda c: int(c.get("index", 0))):
            text, reasoning = self._split(str(ch.get("text") or ""), prefill)
            content = (ch.get("logprobs") or {}).get("content") if isinstance(
                ch.get("logprobs"), dict) else None
            tops = None
            if isinstance(content, list):
                counted += len(content)
                tops = [[(str(t.get("token", "")), float(t.get("logprob", -1e9)))
                         for t in (pos.get("top_logprobs") or [])] for pos in content]
            choices.append(Choice(text, reasoning, str(ch.get("finish_reason") or "stop"),
                                  tops))
        u = resp.get("usage") or {}
        timings = resp.get("timings") or {}
        cached = timings.get("cache_n")
        if cached is None:
            cached = (u.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
        generated = int(u.get("completion_tokens", 0))
        if len(choices) > 1:  # llama.cpp's usage counts one choice; every token is paid for
            generated = max(generated, counted)
        usage = Usage(int(u.get("prompt_tokens", 0)), int(cached or 0), generated)
        first = choices[0]
        return Completion(first.text, first.reasoning, first.finish_reason, usage, seconds,
                          choices, raw=resp)

    def _generate(self, messages: Sequence[Message], prefill: str | None,
                  settings: GenerationSettings) -> Completion:
        """Generate a reply; with ``prefill``, continue it (``text`` holds only the continuation).

        ``settings.top_logprobs`` > 0 fills each choice's ``top_logprobs`` (that many
        alternatives per generated token).

        Raises:
            ContextLengthError: the prompt does not fit a slot's context.
            ConfigError: invalid request values.
            BadResponseError: any other engine failure.
        """
        body = self._body(messages, prefill, settings, False)
        t0 = time.perf_counter()
        resp = self._server.handle_completions(body)
        return self.completion_from_response(resp, prefill, time.perf_counter() - t0)

    def _stream(self, messages: Sequence[Message], prefill: str | None,
                settings: GenerationSettings) -> ThreadStream:
        """Stream the continuation; ``close()`` stops generation in the engine."""
        body = self._body(messages, prefill, settings, True)
        server = self._server

        def run(on_chunk: Any) -> Any:
            return server.handle_completions(body, on_chunk)

        return ThreadStream(run, lambda text: self._split(text, prefill), "llamacpp")

    # -- lifecycle --------------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        """``{"backend", "model", "path", "sha256" (first 16 hex), "size"}``."""
        return {"backend": self.name, "model": self.model, "path": str(self.path),
                "file": self.path.name, "sha256": file_sha256(self.path)[:16],
                "size": self.path.stat().st_size}

    def _check_open(self) -> None:
        if getattr(self, "_server", None) is None:
            raise BackendError("llamacpp backend is closed")

    def close(self) -> None:
        """Stop the engine (its threads and HTTP listener) and free the model."""
        server, self._server = getattr(self, "_server", None), None
        del server

    def __repr__(self) -> str:
        return (f"LlamaCppBackend(model={self.model!r}, threads={self.threads}, "
                f"n_ctx={self.n_ctx}, parallel={self.parallel})")


__all__ = ["LlamaCppBackend", "default_threads", "translate_error"]
