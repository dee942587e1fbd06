"""Running the app: :func:`serve` in the foreground (``r2p serve``), :class:`BackgroundServer`
in a thread on a free loopback port (tests, benchmarks, notebooks).

Example:
    >>> from r2p.serve.app import create_app
    >>> from r2p.serve.config import ServeConfig
    >>> from r2p.serve.store import ProfileStore
    >>> app = create_app(ServeConfig(backend="fake"), store=ProfileStore("sqlite://"))
    >>> with BackgroundServer(app) as srv:
    ...     import httpx
    ...     httpx.get(srv.url + "/health").json()["status"]
    'ok'
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from r2p.errors import ConfigError
from r2p.serve.config import ServeConfig, is_loopback
from r2p.serve.keys import ApiKeys

log = logging.getLogger("r2p.serve")


def bind_host(cfg: ServeConfig, keys: ApiKeys) -> str:
    """The host to listen on: as configured when API keys are set; with no key, loopback
    only (a non-loopback host is replaced by 127.0.0.1, with a warning)."""
    if len(keys) or is_loopback(cfg.host):
        if not len(keys):
            log.warning("no API key configured: serving on loopback only (%s); set "
                        "R2P_API_KEYS or --api-keys to accept other machines", cfg.host)
        return cfg.host
    log.warning("no API key configured: listening on 127.0.0.1 instead of %s (set "
                "R2P_API_KEYS or --api-keys to accept other machines)", cfg.host)
    return "127.0.0.1"


def serve(cfg: ServeConfig, keys: ApiKeys, *, log_level: str = "info",
          backend: Any = None) -> None:
    """Build the app and serve it until interrupted (``r2p serve``).

    Raises:
        ConfigError, BackendError, StoreError: the app could not start.
    """
    from r2p.serve.app import create_app

    app = create_app(cfg, keys=keys, backend=backend)
    host = bind_host(cfg, keys)
    try:
        uvicorn.run(app, host=host, port=cfg.port, log_level=log_level,
                    access_log=log_level == "debug", timeout_graceful_shutdown=5)
    except SystemExit as exc:  # uvicorn exits when it cannot bind
        raise ConfigError(f"cannot listen on {host}:{cfg.port} (in use, or not allowed)"
                          ) from exc


class BackgroundServer:
    """Serve an ASGI app from a daemon thread on ``host`` and a free port.

    Attributes:
        url: ``http://host:port`` once started.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", *, log_level: str = "warning"
                 ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://{host}:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level=log_level,
                                                    access_log=False,
                                                    timeout_graceful_shutdown=2))
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [self.sock]},
                                       name="r2p-serve", daemon=True)

    def start(self) -> BackgroundServer:
        """Start serving; returns once the server accepts connections.

        Raises:
            RuntimeError: it did not start within 20 s.
        """
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


__all__ = ["BackgroundServer", "bind_host", "serve"]
