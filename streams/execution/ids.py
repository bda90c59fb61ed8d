"""Deterministic ids: a re-delivered message can never create a second order.

A parent order id comes from the signal id, a slice id from the parent id and a sequence
number, and the slice id is the venue's client order id: Binance allows at most 36 characters
of `[.A-Za-z0-9:/_-]`. Short, plain signal ids stay readable (`o-sig-0001`); any other is
replaced by a 24-character digest, one character longer than any readable form, so the two
kinds can never collide.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["order_id_for", "slice_id_for"]

_READABLE = re.compile(r"[.A-Za-z0-9:/_-]{1,23}")


def order_id_for(signal_id: str) -> str:
    if _READABLE.fullmatch(signal_id):
        return f"o-{signal_id}"
    return "o-" + hashlib.sha256(signal_id.encode()).hexdigest()[:24]


def slice_id_for(order_id: str, sequence: int) -> str:
    return f"{order_id}-{sequence}"
