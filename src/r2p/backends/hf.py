"""``hf``: Hugging Face transformers in-process (GPU or CPU); the optional extra ``r2p[hf]``.

The prompt is the tokenizer's chat template (``add_generation_prompt=True``) followed by the
prefill, tokenized without adding special tokens again; ``generate`` continues it. Stop strings
use transformers' ``stop_strings`` (the stop string itself is cut from the text, as servers
do); streaming runs ``generate`` in a thread feeding a ``TextIteratorStreamer``, and ``close()``
stops it at the next token. Calls are serialized (one model, one RNG for seeds).

Example:
    >>> from r2p.backends.hf import HFBackend
    >>> b = HFBackend("smollm2")  # the packaged SmolLM2 GGUF, dequantized  # doctest: +SKIP
    >>> b.generate([{"role": "user", "content": "hi"}], prefill="Hello", max_tokens=8)
    ... # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from r2p.backends.base import BaseBackend, GenerationSettings
from r2p.errors import (
    BackendError,
    ConfigError,
    ContextLengthError,
    MissingDependencyError,
    ModelNotFoundError,
)
from r2p.reasoning import THINK_OPEN, join_prefill, split_output
from r2p.types import Choice, Completion, Message, Usage

INSTALL = "pip install 'r2p[hf]'"


def _imports() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as e:
        raise MissingDependencyError("transformers and torch (the hf backend)", INSTALL) from e
    return torch, transformers


def _cut_at_stop(text: str, stop: Sequence[str] | None) -> tuple[str, bool]:
    cut = len(text)
    for s in stop or ():
        i = text.find(s) if s else -1
        if 0 <= i < cut:
            cut = i
    return text[:cut], cut < len(text)


class _StopOnText:
    """Stops each sequence once its generated text contains a stop string.

    transformers' own ``stop_strings`` precomputes tables over the whole vocabulary (seconds
    per call on a CPU); decoding the recent tail of each row costs microseconds.
    """

    def __init__(self, tokenizer: Any, stops: list[str], torch: Any) -> None:
        self.tokenizer, self.stops, self.torch = tokenizer, stops, torch
        self.start: int | None = None
        self.tail = max(len(s) for s in stops) + 8  # tokens are at least one character

    def __call__(self, input_ids: Any, scores: Any, **_: Any) -> Any:
        if self.start is None:
            self.start = int(input_ids.shape[1]) - 1
        rows = input_ids[:, max(self.start, input_ids.shape[1] - self.tail):].tolist()
        done = [any(s in self.tokenizer.decode(r, skip_special_tokens=True) for s in self.stops)
                for r in rows]
        return self.torch.tensor(done, dtype=self.torch.bool, device=input_ids.device)


class HFBackend(BaseBackend):
    """Backend running a transformers causal LM in this process.

    Args:
        model: a Hub id or local folder, a GGUF file path, or an r2p model alias such as
            ``smollm2`` (a GGUF is dequantized by transformers; needs ``gguf`` + ``accelerate``).
        gguf_file: the GGUF file name inside ``model`` (a folder or Hub repo).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; default: CUDA when available, else CPU.
        dtype: torch dtype name (``"bfloat16"``, ``"float32"``); default: the model's.
        native_reasoning: the model thinks natively; default: detected from the chat template
            (its generation prompt ends with ``<think>``). Inline ``<think>`` blocks then go to
            ``Completion.reasoning``.
        threads: CPU threads for torch (process-wide); default: torch's own choice.

    Raises:
        MissingDependencyError: transformers/torch are not installed.
        ModelNotFoundError: the model cannot be found or loaded.
    """

    name = "hf"
    thought_prefill = True
    """The prompt is rendered here: a prefill can continue inside a native thought."""

    def __init__(self, model: str, *, gguf_file: str | None = None, device: str | None = None,
                 dtype: str | None = None, native_reasoning: bool | None = None,
                 threads: int | None = None) -> None:
        torch, transformers = _imports()
        self._torch = torch
        if threads is not None:
            if threads < 1:
                raise ConfigError("hf backend: threads must be >= 1")
            torch.set_num_threads(threads)  # process-wide: torch has no per-model setting
        self.model_name = str(model)
        source, gguf = self._locate(self.model_name, gguf_file)
        self.gguf_file = gguf
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        kw: dict[str, Any] = {"gguf_file": gguf} if gguf else {}
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(source, **kw)
            mkw = dict(kw)
            if dtype:
                mkw["dtype"] = getattr(torch, dtype)
            self.model = transformers.AutoModelForCausalLM.from_pretrained(source, **mkw)
        except (OSError, ValueError) as e:
            msg = str(e).splitlines()[0] if str(e) else repr(e)
            if "accelerate" in msg or "gguf" in msg.lower() and "install" in msg:
                raise MissingDependencyError("gguf/accelerate (GGUF loading in the hf backend)",
                                             "pip install gguf accelerate") from e
            raise ModelNotFoundError(f"hf backend: cannot load {self.model_name!r}: {msg}") from e
        self.model.to(self.device).eval()
        if not getattr(self.tokenizer, "chat_template", None):
            raise ConfigError(f"hf backend: {self.model_name!r} has no chat template; use a "
                              "chat/instruct model")
        self.max_context: int | None = getattr(self.model.config, "max_position_embeddings", None)
        self._lock = threading.Lock()
        if native_reasoning is None:
            probe = self.render([{"role": "user", "content": "x"}])
            native_reasoning = probe.rstrip().endswith(THINK_OPEN)
        self.native_reasoning = native_reasoning

    @staticmethod
    def _locate(model: str, gguf_file: str | None) -> tuple[str, str | None]:
        if gguf_file:
            return model, gguf_file
        path = Path(model).expanduser()
        if path.suffix == ".gguf" or (not path.exists() and "/" not in model):
            from r2p.backends.models import resolve_model  # an alias or a GGUF path
            gguf = resolve_model(model)
            return str(gguf.parent), gguf.name
        return model, None

    # ------------------------------------------------------------------ helpers
    def render(self, messages: Sequence[Message], prefill: str | None = None) -> str:
        """The prompt text: chat template with the generation prompt, then the prefill."""
        try:
            text = self.tokenizer.apply_chat_template(
                [dict(m) for m in messages], tokenize=False, add_generation_prompt=True)
        except Exception as e:  # jinja errors (e.g. roles the template rejects)
            raise BackendError(f"hf backend: chat template failed: {e}") from e
        return join_prefill(str(text), prefill)

    def _encode(self, messages: Sequence[Message], prefill: str | None, max_tokens: int) -> Any:
        ids = self.tokenizer(self.render(messages, prefill), add_special_tokens=False,
                             return_tensors="pt")["input_ids"].to(self.device)
        if self.max_context and ids.shape[1] + max_tokens > self.max_context:
            raise ContextLengthError(
                f"hf backend: prompt ({ids.shape[1]} tokens) + max_tokens ({max_tokens}) exceed "
                f"the model's context ({self.max_context})")
        return ids

    def _gen_kwargs(self, settings: GenerationSettings) -> dict[str, Any]:
        """``model.generate``'s keyword arguments for the settings (the seed is set apart)."""
        max_tokens, temperature, n = settings.max_tokens, settings.temperature, settings.n
        if max_tokens < 1 or n < 1:
            raise ConfigError("hf backend: max_tokens and n must be >= 1")
        kw: dict[str, Any] = {"max_new_tokens": max_tokens, "num_return_sequences": n,
                              "pad_token_id": self.tokenizer.pad_token_id
                              or self.tokenizer.eos_token_id}
        if temperature > 0:
            kw.update(do_sample=True, temperature=temperature, top_p=settings.top_p)
        else:
            kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        stops = [s for s in settings.stop or () if s]
        if stops:
            from transformers import StoppingCriteriaList

            kw["stopping_criteria"] = StoppingCriteriaList(
                [_StopOnText(self.tokenizer, stops, self._torch)])
        return kw

    def _split(self, text: str, prefill: str | None = None) -> tuple[str, str]:
        """``(text, reasoning)`` from ``<think>`` tags in the decoded text; with a prefill the
        caller owns the thought (it may continue inside one) and gets the raw text
        (:func:`r2p.reasoning.split_output`)."""
        sp = split_output(text, native=self.native_reasoning, continued=prefill is not None)
        return sp.answer, sp.reasoning

    # ------------------------------------------------------------------ Backend API
    def _generate(self, messages: Sequence[Message], prefill: str | None,
                  settings: GenerationSettings) -> Completion:
        """Generate (with ``prefill``: its continuation only); ``n`` samples share one prompt.
        No token probabilities (``logprobs`` is False): ``top_logprobs`` is ignored."""
        t0 = time.perf_counter()
        max_tokens, stop = settings.max_tokens, settings.stop
        kw = self._gen_kwargs(settings)
        ids = self._encode(messages, prefill, max_tokens)
        torch = self._torch
        with self._lock, torch.inference_mode():
            if settings.seed is not None:
                torch.manual_seed(settings.seed)
            out = self.model.generate(ids, attention_mask=torch.ones_like(ids), **kw)
        new = out[:, ids.shape[1]:]
        eos = self.tokenizer.eos_token_id
        pad = kw["pad_token_id"]
        choices: list[Choice] = []
        n_generated = 0
        for row in new.tolist():
            while row and row[-1] == pad and pad != eos:
                row.pop()
            ended = bool(row) and row[-1] == eos
            n_generated += len(row)
            text, stopped = _cut_at_stop(
                self.tokenizer.decode(row, skip_special_tokens=True), stop)
            reason = "stop" if stopped or ended or len(row) < max_tokens else "length"
            answer, reasoning = self._split(text, prefill)
            choices.append(Choice(answer, reasoning, reason))
        usage = Usage(int(ids.shape[1]), 0, n_generated)
        first = choices[0]
        return Completion(first.text, first.reasoning, first.finish_reason, usage,
                          time.perf_counter() - t0, choices)

    def _stream(self, messages: Sequence[Message], prefill: str | None,
                settings: GenerationSettings) -> HFStream:
        """Stream text through a ``TextIteratorStreamer``; ``close()`` stops generation."""
        kw = self._gen_kwargs(settings)
        ids = self._encode(messages, prefill, settings.max_tokens)
        return HFStream(self, ids, kw, settings.stop, settings.seed, prefill)

    def identity(self) -> dict[str, Any]:
        """Model id (and GGUF file) plus the device."""
        return {"backend": self.name, "model": self.model_name, "gguf_file": self.gguf_file,
                "device": self.device}

    def close(self) -> None:
        """Drop the model (frees its memory once unreferenced)."""
        self.model = None


class HFStream:
    """A :class:`~r2p.backends.base.Stream` over ``model.generate`` running in a thread."""

    def __init__(self, backend: HFBackend, ids: Any, kw: dict[str, Any],
                 stop: Sequence[str] | None, seed: int | None,
                 prefill: str | None = None) -> None:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        self._b, self._stop, self._t0 = backend, stop, time.perf_counter()
        self._prefill = prefill
        self._n_prompt = int(ids.shape[1])
        self._closed = threading.Event()
        self._pieces: list[str] = []
        self._n_tokens = 0
        self._error: BaseException | None = None
        closed = self._closed
        outer = self
        torch = backend._torch

        class _Halt(StoppingCriteria):  # type: ignore[misc]
            def __call__(self, input_ids: Any, scores: Any, **_: Any) -> Any:
                outer._n_tokens = int(input_ids.shape[1]) - outer._n_prompt
                return torch.full((input_ids.shape[0],), closed.is_set(), dtype=torch.bool,
                                  device=input_ids.device)

        self._streamer = TextIteratorStreamer(backend.tokenizer, skip_prompt=True,
                                              skip_special_tokens=True, timeout=600)
        criteria = StoppingCriteriaList([*kw.pop("stopping_criteria", []), _Halt()])
        kw = dict(kw, streamer=self._streamer, stopping_criteria=criteria)

        def run() -> None:
            try:
                with backend._lock, torch.inference_mode():
                    if seed is not None:
                        torch.manual_seed(seed)
                    backend.model.generate(ids, attention_mask=torch.ones_like(ids), **kw)
            except Exception as e:  # surfaced to the iterating caller
                self._error = e
                self._streamer.end()

        self._max = int(kw["max_new_tokens"])
        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        self._done = False

    def __iter__(self) -> Iterator[str]:
        emitted = 0
        for piece in self._streamer:
            if self._closed.is_set():
                break
            self._pieces.append(piece)
            text, stopped = _cut_at_stop("".join(self._pieces), self._stop)
            if len(text) > emitted:
                yield text[emitted:]
                emitted = len(text)
            if stopped:
                break
        self._thread.join()
        self._done = True
        if self._error is not None:
            raise BackendError(f"hf backend: generation failed: {self._error}") from self._error

    def close(self) -> None:
        """Stop generation at the next token and wait for the thread to end."""
        if not self._done:
            self._closed.set()
        self._thread.join()

    def result(self) -> Completion:
        """The final completion (``finish_reason="abort"`` when closed early)."""
        if not self._done and not self._closed.is_set():
            for _ in self:
                pass
        full = "".join(self._pieces)
        text, stopped = _cut_at_stop(full, self._stop)
        if self._closed.is_set():
            reason = "abort"
        else:
            reason = "length" if self._n_tokens >= self._max and not stopped else "stop"
        answer, reasoning = self._b._split(text, self._prefill)
        return Completion(answer, reasoning, reason, Usage(self._n_prompt, 0, self._n_tokens),
                          time.perf_counter() - self._t0)


__all__ = ["HFBackend", "HFStream"]
