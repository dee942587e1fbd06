"""A small OpenAI-compatible chat server on 127.0.0.1 that misbehaves on demand (for tests).

Each request to ``/v1/chat/completions`` is answered according to ``server.behave``: one of
:data:`FAULTS`, or a callable ``(request_number, body) -> fault`` (1-based numbers, so a test
can script "fail the first three, then answer"), after ``delay`` seconds. ``"ok"`` answers a reply that depends only on
the prompt (:func:`reply_for`), so a re-run converges to the same predictions. The server can
be stopped ("dies": connections are refused) and started again on the same port.

Faults:
    ok          200 with the reply (SSE chunks when the request asks for a stream)
    500         HTTP 500 with an HTML body
    garbage     200 with a body that is not JSON
    null        200 whose message has ``"content": null`` and no reasoning
    nokey       200 whose message has no ``content`` key
    truncated   200 with a reasoning field only and ``finish_reason: "length"``
    hang        accepts, reads the request, never answers (until the server stops)
    slow        sends the headers, then one byte every 0.5 s (never finishes)
    close       closes the connection without answering
    midstream   streams two chunks, then closes the connection
    cut         like midstream for a stream; otherwise sends half the body, then closes
    nonstream   answers a stream request with a plain JSON body
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

FAULTS = ("ok", "500", "garbage", "null", "nokey", "truncated", "hang", "slow", "close",
          "midstream", "cut", "nonstream")

Behave = str | Callable[[int, dict[str, Any]], str]


def reply_for(body: dict[str, Any]) -> str:
    """The healthy reply: a function of the prompt only."""
    text = "\n".join(str(m.get("content")) for m in body.get("messages", []))
    h = hashlib.sha256(text.encode()).hexdigest()
    return f"tweet {h[:6]} about {h[6:10]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, data: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self._send(404, b'{"error": {"message": "no such endpoint"}}')

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        owner = self.server.owner
        body = json.loads(raw or b"{}")
        with owner.lock:
            owner.requests += 1
            number = owner.requests
            owner.headers.append(dict(self.headers))
            owner.paths.append(self.path)
            owner.bodies.append(body)
        if not urlsplit(self.path).path.endswith("/chat/completions"):
            self._send(404, b'{"error": {"message": "no such endpoint"}}')
            return
        fault = owner.behave(number, body) if callable(owner.behave) else owner.behave
        owner.seen.append(fault)
        if owner.delay:
            time.sleep(owner.delay)
        stream = bool(body.get("stream"))
        reply = reply_for(body)
        if fault == "500":
            self._send(500, b"<html>internal error</html>", "text/html")
        elif fault == "garbage":
            self._send(200, b"<html>this is not json", "text/html")
        elif fault in ("null", "nokey", "truncated"):
            msg: dict[str, Any] = {"role": "assistant"}
            if fault == "null":
                msg["content"] = None
            if fault == "truncated":
                msg["content"] = None
                msg["reasoning_content"] = "let me think about this at length " * 8
            finish = "length" if fault == "truncated" else "stop"
            self._send(200, json.dumps({"choices": [{"index": 0, "message": msg,
                                                     "finish_reason": finish}],
                                        "usage": {"prompt_tokens": 5,
                                                  "completion_tokens": 0}}).encode())
        elif fault == "hang":
            owner.stopping.wait(30)
            self.close_connection = True
        elif fault == "slow":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(120):
                if owner.stopping.wait(0.5):
                    break
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    break
            self.close_connection = True
        elif fault == "close":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif fault == "cut" and not stream:
            data = json.dumps({"choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": reply}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif stream and fault in ("ok", "midstream", "cut"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            words = reply.split(" ")
            for i, w in enumerate(words):
                piece = w if i == 0 else " " + w
                ev = {"choices": [{"index": 0, "delta": {"content": piece},
                                   "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(ev)}\n\n".encode())
                self.wfile.flush()
                if fault in ("midstream", "cut") and i == 1:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
            end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 5, "completion_tokens": len(words)}}
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
            self.close_connection = True
        else:  # ok, or nonstream (a plain body even when a stream was asked for)
            self._send(200, json.dumps({
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": reply}}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 4}}).encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: FaultServer


class FaultServer:
    """The misbehaving server; ``with FaultServer("ok") as srv: srv.url``."""

    def __init__(self, behave: Behave = "ok", port: int | None = None,
                 delay: float = 0.0) -> None:
        self.behave: Behave = behave
        self.delay = delay
        self.port = port or free_port()
        self.requests = 0
        self.seen: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FaultServer:
        self.stopping.clear()
        for _ in range(50):  # the port may linger for a moment after a stop
            try:
                self._httpd = _Server(("127.0.0.1", self.port), _Handler)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"port {self.port} did not come free")
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Die: stop listening (later connections are refused) and release hung handlers."""
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
