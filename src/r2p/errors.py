"""r2p's exception tree.

Every error a user can cause or meet derives from :class:`R2PError`; the CLI turns any of them
into one line on stderr and a non-zero exit. Third-party exceptions are translated at the
boundary where they occur (data readers, backends), never leaked.

::

    R2PError
    ├── ConfigError             bad option, unknown name, invalid config file
    │   └── UnknownNameError    unknown task / retriever / backend / method (lists the valid ones)
    ├── DataError               malformed or mismatched data files (names file, record, field)
    ├── RetrievalError          a retriever cannot rank (e.g. recency without dates)
    ├── MissingDependencyError  an optional extra is not installed (names the install command)
    └── BackendError            a generation engine failed
        ├── ContextLengthError  prompt + max_tokens exceed the model's context
        ├── ModelNotFoundError  model file / alias / server model name unknown
        ├── ServerUnreachableError  connection refused or broken, after retries
        │   └── ServerTimeoutError  connected, but no answer within the time limits
        ├── BadResponseError    the server answered something that is not a valid completion
        └── RateLimitError      429 after retries
"""

from __future__ import annotations

from collections.abc import Iterable


class R2PError(Exception):
    """Base class of every error r2p raises on purpose."""


class ConfigError(R2PError):
    """An invalid option or configuration."""


class UnknownNameError(ConfigError):
    """A name that is not in a registry; the message lists the valid names."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]) -> None:
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; choose from: {', '.join(self.valid)}")


class DataError(R2PError):
    """Malformed or mismatched data. The message names the file, the record and the field."""


class RetrievalError(R2PError):
    """A retriever cannot rank the given profile."""


class MissingDependencyError(R2PError):
    """An optional dependency is missing; the message names the exact install command."""

    def __init__(self, what: str, install: str) -> None:
        self.what, self.install = what, install
        super().__init__(f"{what} is not installed; install it with: {install}")


class BackendError(R2PError):
    """A generation engine failed."""


class ContextLengthError(BackendError):
    """The prompt (plus the requested tokens) does not fit the model's context."""


class ModelNotFoundError(BackendError):
    """The model file, alias or server-side model name does not exist."""


class ServerUnreachableError(BackendError):
    """The server could not be reached (refused, timed out) after bounded retries."""


class ServerTimeoutError(ServerUnreachableError):
    """The server accepted the connection but did not answer within the read or total limit
    (a hung or overloaded server)."""


class BadResponseError(BackendError):
    """The engine answered something that is not a valid completion."""


class RateLimitError(BackendError):
    """The server kept answering 429 after bounded retries."""


__all__ = [
    "BackendError",
    "BadResponseError",
    "ConfigError",
    "ContextLengthError",
    "DataError",
    "MissingDependencyError",
    "ModelNotFoundError",
    "R2PError",
    "RateLimitError",
    "RetrievalError",
    "ServerTimeoutError",
    "ServerUnreachableError",
    "UnknownNameError",
]
