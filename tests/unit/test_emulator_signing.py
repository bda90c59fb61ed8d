"""Request signing as Binance does it: HMAC-SHA256 over the raw bytes, and the recvWindow."""

from __future__ import annotations

import pytest

from fillstream.connectors.emulator.errors import BinanceError
from fillstream.connectors.emulator.signing import (
    check_timestamp,
    sign,
    signed_payload,
    verify,
)

# The worked example of Binance's API documentation.
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
PAYLOAD = (
    b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    b"&recvWindow=5000&timestamp=1499827319559"
)
SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def code_of(call, *args) -> int:
    with pytest.raises(BinanceError) as refused:
        call(*args)
    return refused.value.code


def test_the_documented_example_signs_as_binance_does():
    assert sign(SECRET, PAYLOAD) == SIGNATURE
    verify(SECRET, PAYLOAD, SIGNATURE.upper())  # hex case does not matter


@pytest.mark.parametrize(
    ("query", "body"),
    [
        (PAYLOAD + b"&signature=" + SIGNATURE.encode(), b""),
        (b"", PAYLOAD + b"&signature=" + SIGNATURE.encode()),
        (PAYLOAD[:30], PAYLOAD[30:] + b"&signature=" + SIGNATURE.encode()),
        (b"signature=" + SIGNATURE.encode() + b"&" + PAYLOAD, b""),
    ],
)
def test_the_signed_bytes_are_the_query_then_the_body_without_the_signature(query, body):
    assert signed_payload(query, body) == (PAYLOAD, SIGNATURE)


def test_the_raw_bytes_are_signed_not_the_decoded_values():
    encoded = b"newClientOrderId=a%3Ab&timestamp=1"
    payload, signature = signed_payload(encoded + b"&signature=" + sign("s", encoded).encode(), b"")
    verify("s", payload, signature)
    assert code_of(verify, "s", b"newClientOrderId=a:b&timestamp=1", signature) == -1022


def test_a_missing_or_wrong_signature_is_refused():
    assert code_of(signed_payload, PAYLOAD, b"") == -1102
    assert code_of(verify, "another secret", PAYLOAD, SIGNATURE) == -1022
    assert code_of(verify, SECRET, PAYLOAD + b"&x=1", SIGNATURE) == -1022
    assert code_of(verify, SECRET, PAYLOAD, "\ufffd" * 64) == -1022


@pytest.mark.parametrize(
    ("params", "now", "code"),
    [
        ({"timestamp": "10000"}, 15_000, None),  # within the default 5 s window
        ({"timestamp": "10000"}, 15_001, -1021),
        ({"timestamp": "10000", "recvWindow": "60000"}, 70_000, None),
        ({"timestamp": "10000"}, 9_000, None),  # a second ahead is tolerated
        ({"timestamp": "10000"}, 8_999, -1021),
        ({"timestamp": "10000", "recvWindow": "60001"}, 10_000, -1131),
        ({}, 10_000, -1102),
        ({"timestamp": "soon"}, 10_000, -1100),
    ],
)
def test_the_timestamp_must_fall_within_the_recv_window(params, now, code):
    if code is None:
        check_timestamp(params, now)
    else:
        assert code_of(check_timestamp, params, now) == code
