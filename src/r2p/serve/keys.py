"""API keys: ``tenant:key`` pairs, kept only as SHA-256 hashes, each key bound to one tenant.

Keys come from ``R2P_API_KEYS`` (comma-separated ``tenant:key`` pairs) or a keys file (one pair
a line; ``#`` comments and blank lines skipped). A line may hold ``tenant:sha256:HEX`` instead
of the key itself, so that the file at rest holds no usable secret (:func:`hash_line` writes
one). The plain keys are hashed as they are read and never kept.

Example:
    >>> keys = ApiKeys.parse("acme:s3cret-acme, beta:s3cret-beta")
    >>> keys.tenant_of("s3cret-beta"), keys.tenant_of("nope")
    ('beta', None)
    >>> hash_line("acme", "s3cret-acme")[:12]
    'acme:sha256:'
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from pathlib import Path

from r2p.errors import ConfigError

_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HEX = re.compile(r"[0-9a-f]{64}")
MIN_KEY_CHARS = 8
"""A key shorter than this is refused (it could be guessed)."""


def key_hash(key: str) -> str:
    """The SHA-256 hex digest of ``key`` (keys are random tokens: no salt or stretching is
    needed to make a stolen hash useless)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def hash_line(tenant: str, key: str) -> str:
    """A keys-file line that holds the key's hash instead of the key."""
    return f"{tenant}:sha256:{key_hash(key)}"


class ApiKeys:
    """Hashed API keys and the tenant each belongs to.

    Args:
        pairs: ``(tenant, key hash)`` pairs.
    """

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._by_hash: dict[str, str] = {}
        for tenant, digest in pairs:
            other = self._by_hash.get(digest)
            if other is not None and other != tenant:
                raise ConfigError(f"API keys: one key is given to tenants {other!r} and "
                                  f"{tenant!r}")
            self._by_hash[digest] = tenant

    def __len__(self) -> int:
        return len(self._by_hash)

    @property
    def tenants(self) -> list[str]:
        """The tenants that have at least one key, sorted."""
        return sorted(set(self._by_hash.values()))

    @classmethod
    def parse(cls, text: str, *, source: str = "R2P_API_KEYS") -> ApiKeys:
        """Read ``tenant:key`` (or ``tenant:sha256:HEX``) entries separated by commas or
        newlines.

        Raises:
            ConfigError: an entry without a tenant or key, a bad tenant name, a short key
                (the message names the entry's position, never the key).
        """
        pairs: list[tuple[str, str]] = []
        entries = [e.strip() for line in text.splitlines()
                   for e in line.split("#", 1)[0].split(",")]
        for i, entry in enumerate(e for e in entries if e):
            tenant, sep, key = entry.partition(":")
            where = f"{source}: entry {i + 1}"
            if not sep or not key:
                raise ConfigError(f"{where}: expected tenant:key")
            if not _TENANT.fullmatch(tenant):
                raise ConfigError(f"{where}: tenant {tenant!r} must be 1-64 letters, digits, "
                                  "'.', '_' or '-'")
            if key.startswith("sha256:") and _HEX.fullmatch(key[7:]):
                pairs.append((tenant, key[7:]))
                continue
            if len(key) < MIN_KEY_CHARS:
                raise ConfigError(f"{where} (tenant {tenant!r}): the key is shorter than "
                                  f"{MIN_KEY_CHARS} characters")
            pairs.append((tenant, key_hash(key)))
        return cls(pairs)

    @classmethod
    def from_file(cls, path: Path) -> ApiKeys:
        """Read a keys file (see :meth:`parse`).

        Raises:
            ConfigError: unreadable file or a bad entry.
        """
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"--api-keys {path}: cannot read ({exc})") from None
        return cls.parse(text, source=str(path))

    def tenant_of(self, key: str) -> str | None:
        """The tenant of ``key``, or None when it is no configured key.

        Every stored hash is compared in constant time, so the answer's timing does not tell
        how close a wrong key came.
        """
        digest = key_hash(key)
        found = None
        for stored, tenant in self._by_hash.items():
            if hmac.compare_digest(stored, digest):
                found = tenant
        return found


__all__ = ["MIN_KEY_CHARS", "ApiKeys", "hash_line", "key_hash"]
