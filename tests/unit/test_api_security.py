"""API keys, scopes and the token bucket (pure)."""

from __future__ import annotations

import hashlib

import pytest

from fillstream.api.security import Scope, identify, parse_keys

READER = "r" * 16
TRADER = "t" * 20
ADMIN = "a" * 16


def test_keys_are_kept_as_digests_with_their_scopes():
    ring = parse_keys(f"{READER}:read, {TRADER}:TRADE,{ADMIN}:admin,")
    assert [k.scope for k in ring] == [Scope.READ, Scope.TRADE, Scope.ADMIN]
    assert ring[1].digest == hashlib.sha256(TRADER.encode()).digest()
    assert TRADER not in repr(ring)


def test_a_key_is_identified_only_by_its_exact_text():
    ring = parse_keys(f"{READER}:read,{TRADER}:trade")
    assert identify(ring, TRADER).scope is Scope.TRADE
    assert identify(ring, TRADER + " ") is None
    assert identify(ring, "") is None


def test_scopes_are_ordered_read_trade_admin():
    assert Scope.READ < Scope.TRADE < Scope.ADMIN


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nocolon", "entry 1: write it as key:scope"),
        (f"{READER}:read,{TRADER}:owner", "entry 2: scope 'owner' is not read"),
        ("short:read", "at least 16 characters"),
        (f"{READER}:read,{READER}:admin", "names one key twice"),
    ],
)
def test_bad_key_lists_are_refused_without_echoing_keys(text, message):
    with pytest.raises(ValueError, match=message) as refused:
        parse_keys(text)
    assert READER not in str(refused.value)
