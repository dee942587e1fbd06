"""Test support for the runner: a deterministic slow fake backend, a tiny stand-in method, and an
entry point that runs the real ``r2p`` CLI with the slow backend registered (for subprocess tests
that kill a run mid-way)."""

from __future__ import annotations

import hashlib
import secrets
import sys
import time
from collections.abc import Sequence
from typing import Any

from r2p.backends.fake import FakeBackend
from r2p.backends.registry import BACKENDS, BackendSpec
from r2p.methods.common import CallLog
from r2p.tasks import Task
from r2p.types import Message, Prediction, Retrieved, Sample


def digest_reply(messages: list[Message], prefill: str | None) -> str:
    """A reply that depends only on the prompt: the same prompt always gets the same answer."""
    text = "\n".join(m["content"] for m in messages) + (prefill or "")
    h = hashlib.sha256(text.encode()).hexdigest()
    return f"tweet {h[:6]} about {h[6:10]}"


class SlowFakeBackend(FakeBackend):
    """FakeBackend answering :func:`digest_reply` after ``delay`` seconds per call; calls whose
    prompt contains ``fail_on`` raise (to script backend failures). ``noisy`` adds a random
    word to every reply, as sampling would (two processes then disagree on every sample)."""

    def __init__(self, *, delay: float = 0.0, fail_on: str | None = None, noisy: bool = False,
                 **kw: Any) -> None:
        reply = (lambda m, p: f"{digest_reply(m, p)} {secrets.token_hex(3)}") if noisy \
            else digest_reply
        super().__init__(reply)
        self.delay, self.fail_on = delay, fail_on

    def generate(self, messages: Sequence[Message], **kw: Any) -> Any:  # type: ignore[override]
        from r2p.errors import ServerUnreachableError

        time.sleep(self.delay)
        if self.fail_on and any(self.fail_on in m["content"] for m in messages):
            raise ServerUnreachableError("scripted failure")
        return super().generate(messages, **kw)


class EchoMethod:
    """A one-call stand-in method: the backend's reply, stripped, is the answer."""

    name = "echo"

    def predict(self, sample: Sample, task: Task, retrieved: list[Retrieved],
                backend: Any) -> Prediction:
        log = CallLog()
        shots = " | ".join(task.index_text(r.item) for r in retrieved)
        c = log.generate(backend, [{"role": "user", "content": f"{shots}\n{sample.input}"}],
                         max_tokens=16, temperature=0.0)
        return log.prediction(sample.id, answer=c.text.strip(), raw_output=c.text,
                              format_ok=True, retrieved_ids=[r.id for r in retrieved],
                              method="echo")


def register() -> None:
    """Make ``--backend slowfake`` available in this process."""
    BACKENDS["slowfake"] = BackendSpec("slowfake", "_support:SlowFakeBackend", (), "-", "test")


if __name__ == "__main__":
    register()
    from r2p.cli.main import main

    sys.exit(main(sys.argv[1:]))
