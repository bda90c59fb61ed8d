"""Binance's request signing: HMAC-SHA256 over the raw parameter bytes, and the timestamp window.

The signature covers the exact bytes the client sent (the query string, then the form body, as
Binance concatenates them) with the `signature` parameter taken out: never the parameters
re-encoded, since a client and a server may encode the same values differently.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from fillstream.connectors.emulator.errors import (
    BinanceError,
    bad_parameter,
    bad_signature,
    mandatory,
    stale_timestamp,
)

__all__ = ["DEFAULT_RECV_WINDOW_MS", "check_timestamp", "sign", "signed_payload", "verify"]

DEFAULT_RECV_WINDOW_MS = 5_000
_MAX_RECV_WINDOW_MS = 60_000
_AHEAD_TOLERANCE_MS = 1_000  # Binance accepts a client clock up to a second ahead of its own
_SIGNATURE = re.compile(rb"(?:^|&)signature=([^&]*)")


def sign(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def signed_payload(query: bytes, body: bytes) -> tuple[bytes, str]:
    """The bytes the client signed and the signature it sent, from the raw query and body."""
    for part, (before, after) in ((query, (b"", body)), (body, (query, b""))):
        found = _SIGNATURE.search(part)
        if found is not None:
            rest_of_part = part[found.end() :]
            if found.start() == 0:  # the first parameter: its successor's `&` goes too
                rest_of_part = rest_of_part.removeprefix(b"&")
            unsigned = part[: found.start()] + rest_of_part
            return before + unsigned + after, found.group(1).decode("ascii", "replace")
    raise mandatory("signature")


def verify(secret: str, payload: bytes, signature: str) -> None:
    """Refuse (-1022) a signature that is not HMAC-SHA256 of `payload` under `secret`."""
    if not hmac.compare_digest(sign(secret, payload).encode(), signature.lower().encode()):
        raise bad_signature()


def check_timestamp(params: Mapping[str, str], now_ms: int) -> None:
    """Refuse (-1021) a request signed too long ago, or too far in the server's future."""
    timestamp = _integer(params, "timestamp")
    window = _integer(params, "recvWindow") if "recvWindow" in params else DEFAULT_RECV_WINDOW_MS
    if not 0 < window <= _MAX_RECV_WINDOW_MS:
        raise BinanceError(-1131, "recvWindow must be less than 60000")
    if timestamp > now_ms + _AHEAD_TOLERANCE_MS or now_ms - timestamp > window:
        raise stale_timestamp()


def _integer(params: Mapping[str, str], name: str) -> int:
    text = params.get(name)
    if not text:
        raise mandatory(name)
    if not text.isdigit():
        raise bad_parameter(name)
    return int(text)
