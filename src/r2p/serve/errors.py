"""HTTP errors in OpenAI's shape, and r2p's exceptions mapped onto them.

======================================  ======  ===========================
r2p exception                           status  ``code``
======================================  ======  ===========================
UnknownNameError (method)               404     ``model_not_found``
ConfigError, DataError, RetrievalError  400     ``invalid_request``
ContextLengthError                      400     ``context_length_exceeded``
ConflictError                           409     ``conflict``
ServerUnreachableError, RateLimitError  503     ``backend_unavailable``
BackendError (others)                   502     ``backend_error``
StoreError                              503     ``store_unavailable``
anything else                           500     ``internal_error`` (logged; no traceback)
======================================  ======  ===========================

Example:
    >>> from r2p.errors import ContextLengthError
    >>> e = from_exception(ContextLengthError("prompt too long"))
    >>> e.status, e.body()["error"]["code"]
    (400, 'context_length_exceeded')
"""

from __future__ import annotations

from typing import Any

from r2p.errors import (
    BackendError,
    ConfigError,
    ContextLengthError,
    DataError,
    R2PError,
    RateLimitError,
    RetrievalError,
    ServerUnreachableError,
    UnknownNameError,
)
from r2p.redact import redact_text
from r2p.serve.store import ConflictError, StoreError

_TYPES = {429: "rate_limit_exceeded"}
"""OpenAI's error ``type`` by status, besides ``invalid_request_error`` (4xx) and
``server_error`` (5xx)."""


class ApiError(Exception):
    """An error answer: status, message, and OpenAI's ``type``/``code``/``param``."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 param: str | None = None, type_: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.type = type_ or _TYPES.get(status, "server_error" if status >= 500
                                        else "invalid_request_error")

    def body(self) -> dict[str, Any]:
        """``{"error": {"message", "type", "param", "code"}}``."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param,
                          "code": self.code}}


def _one_line(exc: BaseException) -> str:
    return redact_text(" ".join(str(exc).split()))[:1000]


def from_exception(exc: BaseException) -> ApiError:
    """The :class:`ApiError` that answers ``exc`` (see the module table)."""
    if isinstance(exc, ApiError):
        return exc
    msg = _one_line(exc)
    if isinstance(exc, UnknownNameError):
        if exc.kind == "method":
            return ApiError(404, msg, code="model_not_found", param="model")
        return ApiError(400, msg, code="invalid_request")
    if isinstance(exc, ContextLengthError):
        return ApiError(400, msg, code="context_length_exceeded", param="messages")
    if isinstance(exc, ConflictError):
        return ApiError(409, msg, code="conflict", param="items")
    if isinstance(exc, (ConfigError, DataError, RetrievalError)):
        return ApiError(400, msg, code="invalid_request")
    if isinstance(exc, (ServerUnreachableError, RateLimitError)):
        return ApiError(503, f"the model backend is unavailable: {msg}",
                        code="backend_unavailable")
    if isinstance(exc, BackendError):
        return ApiError(502, f"the model backend failed: {msg}", code="backend_error")
    if isinstance(exc, StoreError):
        return ApiError(503, msg, code="store_unavailable")
    if isinstance(exc, R2PError):
        return ApiError(400, msg, code="invalid_request")
    return ApiError(500, "internal error (logged on the server)", code="internal_error")


__all__ = ["ApiError", "from_exception"]
