"""One line per validation failure: a pydantic error turned into r2p's :class:`ConfigError`."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError

from r2p.errors import ConfigError


def config_error(exc: ValidationError, what: str, fields: Iterable[str]) -> ConfigError:
    """The first error of ``exc`` as one line: an unknown option lists the valid ``fields``.

    Example:
        >>> from pydantic import BaseModel, ConfigDict
        >>> class C(BaseModel):
        ...     model_config = ConfigDict(extra="forbid")
        ...     n: int = 1
        >>> try:
        ...     C(m=2)
        ... except ValidationError as exc:
        ...     print(config_error(exc, "demo", C.model_fields))
        unknown demo option 'm'; choose from: n
    """
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    if err.get("type") == "extra_forbidden":
        return ConfigError(f"unknown {what} option {where!r}; choose from: "
                           f"{', '.join(sorted(fields))}")
    if not where:  # a rule across options: its message names them
        return ConfigError(f"{what} options: {str(err.get('msg')).removeprefix('Value error, ')}")
    return ConfigError(f"{what} option {where}: {err.get('msg')} (got {err.get('input')!r})")


__all__ = ["config_error"]
