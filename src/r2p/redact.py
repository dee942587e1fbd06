"""Redaction of credentials in everything r2p writes or prints.

A server URL may carry credentials (``http://user:KEY@host/v1``, ``...?api_key=KEY``) and a
backend option may hold a secret (``extra_body={"api_key": ...}``). Requests still use them;
but ``config.json``, records, reports, the record store's error texts and stderr only ever see
:func:`redact_url`, :func:`redact_text` or :func:`redact_options` of them. Secrets that must not
be written at all are given by environment-variable name (``api_key_env``,
``extra_headers_env``, ``extra_body_env`` of the ``openai`` backend).

Example:
    >>> redact_url("http://me:s3cret@gpu:8000/v1?api_key=abc&x=1")
    'http://***@gpu:8000/v1?api_key=***&x=1'
    >>> redact_options({"extra_body": {"api_key": "abc", "top_k": 20}})
    {'extra_body': {'api_key': '***', 'top_k': 20}}
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

#: A key names a secret when its last word is one of these (``api_key``, ``access_token``,
#: ``X-Api-Key``, ``client_secret``...; not ``max_tokens`` or ``stop_token_ids``).
SECRET_WORDS = frozenset({"key", "apikey", "token", "secret", "password", "passwd", "pwd",
                          "auth", "authorization", "credential", "credentials", "signature",
                          "sig", "cookie", "bearer"})

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>`]+")
_WORD = re.compile(r"[A-Za-z][a-z]*|[0-9]+")


def is_secret_name(name: str) -> bool:
    """Whether an option, header, body field or query parameter named ``name`` holds a secret.

    Names ending in ``_env`` hold the *name* of an environment variable, not a secret.

    Example:
        >>> [is_secret_name(n) for n in ("api_key", "X-Api-Key", "max_tokens", "api_key_env")]
        [True, True, False, False]
    """
    low = name.lower()
    if low.endswith("_env"):
        return False
    words = [w.lower() for w in _WORD.findall(name.replace("-", "_"))]
    return bool(words) and (words[-1] in SECRET_WORDS or "".join(words) in SECRET_WORDS)


def redact_url(url: str) -> str:
    """``url`` with its userinfo and any secret-named query parameter replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = MASK + "@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_name(k) for k, _ in pairs):
            query = urlencode([(k, MASK if is_secret_name(k) else v) for k, v in pairs],
                              safe="*")
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted (:func:`redact_url`)."""
    return _URL.sub(lambda m: redact_url(m.group(0)), text)


def redact_options(value: Any) -> Any:
    """A copy of ``value`` (nested dicts, lists, strings) with secret-named entries masked and
    URLs redacted; for what is written to ``config.json`` and shown in reports. An ``*_env``
    option maps names to environment-variable names and is kept as is."""
    if isinstance(value, dict):
        return {k: (v if str(k).lower().endswith("_env") else  # names of variables
                    MASK if is_secret_name(str(k)) and v not in (None, "") else
                    redact_options(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_options(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


__all__ = ["MASK", "SECRET_WORDS", "is_secret_name", "redact_options", "redact_text",
           "redact_url"]
