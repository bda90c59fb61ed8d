"""The compiled codec writes and reads exactly what fastavro, the reference implementation, does."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from fastavro import schemaless_reader, schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fillstream.schemas.compiled import Unsupported, compile_codec
from fillstream.schemas.contracts import contract
from fillstream.schemas.serde import SingleObjectCodec, UndecodableRecord
from fillstream.schemas.topics import CATALOG
from tests.examples import example_records

RECORDS = sorted({spec.record for spec in CATALOG})


def _fastavro_bytes(name: str, record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    schemaless_writer(buffer, contract(name).parsed, record)
    return buffer.getvalue()


def _fastavro_record(name: str, body: bytes) -> Any:
    return schemaless_reader(io.BytesIO(body), contract(name).parsed, None)


@pytest.mark.parametrize("spec", CATALOG, ids=lambda spec: spec.name)
def test_examples_encode_to_fastavros_bytes_and_back(spec):
    codec = compile_codec(contract(spec.record).schema)
    for record in example_records(spec):
        body = codec.encode(record)
        assert body == _fastavro_bytes(spec.record, record)
        assert codec.decode(body, 0) == (_fastavro_record(spec.record, body), len(body))


def _values(schema: Any, named: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Random values of an Avro type, including the edges (empty, huge, unicode, extremes)."""
    if isinstance(schema, list):
        return st.one_of(*(_values(branch, named) for branch in schema))
    if isinstance(schema, str):
        if schema in named:
            return _values(named[schema], named)
        schema = {"type": schema}
    kind = schema["type"]
    if isinstance(kind, (dict, list)):
        return _values(kind, named)
    if schema.get("logicalType") == "decimal-string":
        return st.decimals(allow_nan=False, allow_infinity=False)
    if kind in {"record", "enum"}:
        named[f"fillstream.{schema['name']}"] = schema
    simple = {
        "null": st.none(),
        "boolean": st.booleans(),
        "int": st.integers(-(2**31), 2**31 - 1),
        "long": st.integers(-(2**63), 2**63 - 1),
        "double": st.floats(allow_nan=False),
        "string": st.text(max_size=80),
        "bytes": st.binary(max_size=80),
    }
    if kind in simple:
        return simple[kind]
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "array":
        return st.lists(_values(schema["items"], named), max_size=4)
    if kind == "map":
        return st.dictionaries(st.text(max_size=10), _values(schema["values"], named), max_size=4)
    assert kind == "record"
    return st.fixed_dictionaries(
        {field["name"]: _values(field["type"], named) for field in schema["fields"]}
    )


def _records(name: str) -> st.SearchStrategy[dict[str, Any]]:
    return _values(contract(name).schema, {})


@pytest.mark.parametrize("name", RECORDS)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_random_records_match_fastavro_both_ways(name, data):
    record = data.draw(_records(name))
    codec = compile_codec(contract(name).schema)
    body = codec.encode(record)
    assert body == _fastavro_bytes(name, record)
    decoded, end = codec.decode(body, 0)
    assert end == len(body)
    assert decoded == _fastavro_record(name, body) == record


@pytest.mark.parametrize("name", ["Signal", "ExecutionReport", "BookUpdate"])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_every_truncation_is_refused(name, data):
    codec = SingleObjectCodec(name)
    payload = codec.encode(data.draw(_records(name)))
    for cut in range(len(payload)):
        with pytest.raises(UndecodableRecord):
            codec.decode(payload[:cut])


def test_values_the_schema_does_not_allow_are_refused_with_fastavros_explanation():
    codec = SingleObjectCodec("Trade")
    trade = example_records(next(s for s in CATALOG if s.name == "market.trades"))[0]
    with pytest.raises(ValueError, match=r"'hold' .* on field aggressor_side"):
        codec.encode({**trade, "aggressor_side": "hold"})
    with pytest.raises(TypeError, match="an integer is required on field timestamp"):
        codec.encode({**trade, "timestamp": "yesterday"})
    with pytest.raises(TypeError, match="expected a Decimal"):
        codec.encode({**trade, "quantity": 1.5})


def test_decimals_in_exponent_form_are_written_in_plain_notation():
    codec = SingleObjectCodec("Trade")
    trade = example_records(next(s for s in CATALOG if s.name == "market.trades"))[0]
    payload = codec.encode({**trade, "quantity": Decimal("1.0E-7"), "price": Decimal("6E+4")})
    assert b"0.00000010" in payload and b"60000" in payload
    assert codec.decode(payload)["quantity"] == Decimal("1.0E-7")


def test_schemas_beyond_the_compiled_subset_are_left_to_fastavro():
    with pytest.raises(Unsupported):
        compile_codec(
            {"type": "record", "name": "X", "fields": [{"name": "u", "type": ["int", "string"]}]}
        )


@pytest.mark.parametrize("name", ["Signal", "ExecutionReport", "BookUpdate", "TcaResult"])
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_what_the_compiled_decoder_reads_from_damaged_bytes_fastavro_reads_the_same(name, data):
    """Damage (changed bytes, a cut) that the decoder does not refuse must read as fastavro
    reads it: the decoder checks the end of the buffer once, last, not at every field."""
    codec = compile_codec(contract(name).schema)
    body = bytearray(codec.encode(data.draw(_records(name))))
    for _ in range(data.draw(st.integers(1, 3))):
        body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    damaged = bytes(body[: data.draw(st.integers(0, len(body)))])
    try:
        record, end = codec.decode(damaged, 0)
    except Exception:  # refused: fastavro is laxer (negative enum and union indexes)
        return
    assert end <= len(damaged)
    buffer = io.BytesIO(damaged)
    assert schemaless_reader(buffer, contract(name).parsed, None) == record
    assert buffer.tell() == end


def test_a_varint_wider_than_64_bits_is_refused():
    codec = SingleObjectCodec("ClockTick")
    payload = codec.encode({"partition": 0, "sequence": 1, "timestamp": 1723161300003100})
    wide = payload[:-8] + b"\xff" * 9 + b"\x7f"  # the timestamp as ten bytes, 70 bits
    with pytest.raises(UndecodableRecord, match="wider than 64 bits"):
        codec.decode(wide)
