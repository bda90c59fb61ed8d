"""Single-object encoding: framing, round trips, and one typed error for every bad input."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from fastavro import schemaless_writer
from fastavro.schema import fingerprint, parse_schema

from fillstream.schemas.contracts import contract
from fillstream.schemas.serde import SINGLE_OBJECT_MAGIC, SingleObjectCodec, UndecodableRecord
from fillstream.schemas.topics import CATALOG, find
from tests.examples import example_records


def test_fingerprint_byte_order_matches_the_avro_specification():
    # Avro's schema-tests vectors give CRC-64-AVRO("null") = 7195948357588979594; single-object
    # encoding writes it little-endian.
    assert bytes.fromhex(fingerprint('"null"', "CRC-64-AVRO")) == (7195948357588979594).to_bytes(
        8, "little"
    )


@pytest.mark.parametrize("spec", CATALOG, ids=lambda spec: spec.name)
def test_every_example_round_trips_exactly(spec):
    codec = SingleObjectCodec(spec.record)
    records = example_records(spec)
    assert records, f"no examples for {spec.name}"
    for record in records:
        payload = codec.encode(record)
        assert payload[:2] == SINGLE_OBJECT_MAGIC
        assert payload[2:10] == contract(spec.record).fingerprint
        assert codec.decode(payload) == record


def test_decimals_keep_their_exact_digits():
    codec = SingleObjectCodec("Trade")
    record = example_records(find("market.trades"))[0]
    record = {
        **record,
        "price": Decimal("0.000000000000000001"),
        "quantity": Decimal("12345678901234567890.12345678"),
    }
    decoded = codec.decode(codec.encode(record))
    assert decoded["price"] == Decimal("1E-18")
    assert str(decoded["quantity"]) == "12345678901234567890.12345678"


def test_a_non_decimal_cannot_be_written_as_a_price():
    record = {**example_records(find("market.trades"))[0], "price": 61251.01}
    with pytest.raises(TypeError, match="expected a Decimal"):
        SingleObjectCodec("Trade").encode(record)


@pytest.fixture
def trade_payload() -> bytes:
    return SingleObjectCodec("Trade").encode(example_records(find("market.trades"))[0])


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda p: b"", id="empty"),
        pytest.param(lambda p: b'{"symbol": "BTC/USDT"}', id="json"),
        pytest.param(lambda p: b"\x00\x00\x00\x00\x01" + p[10:], id="registry-framed"),
        pytest.param(lambda p: p[:6], id="truncated-header"),
        pytest.param(lambda p: p[:-7], id="truncated-body"),
        pytest.param(lambda p: p + b"\x00", id="trailing-byte"),
        pytest.param(lambda p: p[:2] + bytes(8) + p[10:], id="unknown-fingerprint"),
    ],
)
def test_corrupt_bytes_raise_the_typed_error(trade_payload, corrupt):
    with pytest.raises(UndecodableRecord):
        SingleObjectCodec("Trade").decode(corrupt(trade_payload))


def test_a_record_of_another_contract_is_refused_by_name(trade_payload):
    with pytest.raises(
        UndecodableRecord, match=r"fillstream\.Trade record where fillstream\.Signal"
    ):
        SingleObjectCodec("Signal").decode(trade_payload)


def test_a_decimal_field_holding_text_is_undecodable():
    trade = contract("Trade")
    # The same schema with the logical type renamed: canonical form, and so the fingerprint,
    # ignore logical types, so this writes a valid-looking Trade whose price is "abc".
    plain = json.loads(json.dumps(trade.schema).replace('"decimal-string"', '"plain-text"'))
    record = {**example_records(find("market.trades"))[0], "price": "abc", "quantity": "1"}
    buffer = io.BytesIO(SINGLE_OBJECT_MAGIC + trade.fingerprint)
    buffer.seek(0, io.SEEK_END)
    schemaless_writer(buffer, parse_schema(plain), record)
    with pytest.raises(UndecodableRecord, match="a decimal field holds text that is not a number"):
        SingleObjectCodec("Trade").decode(buffer.getvalue())


def test_an_enum_index_out_of_range_is_undecodable(trade_payload):
    codec = SingleObjectCodec("Trade")
    record = codec.decode(trade_payload)
    assert record["aggressor_side"] == "buy"
    # aggressor_side is a ["null", Side] union: branch 1, then the enum index (zig-zag varint).
    good = b"\x02\x00"  # branch 1, symbol 0 (buy)
    assert trade_payload.count(good) >= 1
    bad = trade_payload.replace(good, b"\x02\x0e", 1)  # symbol 7 does not exist
    with pytest.raises(UndecodableRecord):
        codec.decode(bad)
