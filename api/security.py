"""API keys and scopes: pure decisions, no clock and no I/O (rate limits per key are the
gateway's token bucket, `connectors/gateway/ratelimit.py`).

Keys come from `FILLSTREAM_API_KEYS` as `key:scope` pairs separated by commas. Only their
SHA-256 digests are kept, and a presented key is compared with every digest in constant time
(`hmac.compare_digest`, no early exit), so neither memory nor timing gives a key away. Scopes
are ordered: `read` < `trade` < `admin`; a key holds its scope and every lower one.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import IntEnum

__all__ = ["ApiKey", "KeyRing", "Scope", "identify", "parse_keys"]

# A key shorter than this is refused: it could be guessed within the rate limit's patience.
MIN_KEY_LENGTH = 16


class Scope(IntEnum):
    READ = 1
    TRADE = 2
    ADMIN = 3


@dataclass(frozen=True, slots=True)
class ApiKey:
    digest: bytes  # SHA-256 of the key
    scope: Scope

    @property
    def key_id(self) -> str:
        """A name for the key in logs and rate limits that does not reveal it."""
        return self.digest.hex()[:12]


KeyRing = tuple[ApiKey, ...]


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def parse_keys(text: str) -> KeyRing:
    """The keys of a `key:scope,key:scope` list; ValueError names an entry by its position,
    never by its key."""
    ring: list[ApiKey] = []
    for position, entry in enumerate((e.strip() for e in text.split(",")), start=1):
        if not entry:
            continue
        key, colon, scope_name = entry.rpartition(":")
        if not colon or not key:
            raise ValueError(f"FILLSTREAM_API_KEYS entry {position}: write it as key:scope")
        try:
            scope = Scope[scope_name.strip().upper()]
        except KeyError:
            raise ValueError(
                f"FILLSTREAM_API_KEYS entry {position}: scope {scope_name!r} is not read,"
                " trade or admin"
            ) from None
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(
                f"FILLSTREAM_API_KEYS entry {position}: a key needs at least"
                f" {MIN_KEY_LENGTH} characters"
            )
        ring.append(ApiKey(_digest(key), scope))
    if len({k.digest for k in ring}) != len(ring):
        raise ValueError("FILLSTREAM_API_KEYS names one key twice")
    return tuple(ring)


def identify(ring: KeyRing, presented: str) -> ApiKey | None:
    """The ring's entry for a presented key, or None; every entry is compared, found or not."""
    digest = _digest(presented)
    found = None
    for entry in ring:
        if hmac.compare_digest(entry.digest, digest):
            found = entry
    return found
