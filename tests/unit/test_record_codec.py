"""Typed records: decoded straight to the model and encoded from it, exactly as the dict path
(`Codec` plus `model_validate` / `model_dump`) does, and refused exactly where it refuses."""

from __future__ import annotations

import copy
import io
import pickle
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from fastavro import schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from fillstream.schemas.compiled import Unsupported, compile_codec, compile_model_codec
from fillstream.schemas.contracts import contract, known_versions
from fillstream.schemas.models import MODELS, Command, ExecutionReport, Quote, Trade
from fillstream.schemas.serde import (
    SINGLE_OBJECT_MAGIC,
    SingleObjectCodec,
    SingleObjectRecordCodec,
    UndecodableRecord,
    ValidatingRecordCodec,
    record_codec_for,
)
from fillstream.schemas.topics import CATALOG, find
from tests.examples import example_records
from tests.unit.test_compiled_codec import _records

RECORDS = sorted({spec.record for spec in CATALOG})


def _codecs(name: str) -> tuple[SingleObjectRecordCodec, SingleObjectCodec]:
    typed = record_codec_for(name, name)
    assert isinstance(typed, SingleObjectRecordCodec)
    return typed, SingleObjectCodec(name)


def _validated(name: str, codec: SingleObjectCodec, payload: bytes) -> BaseModel:
    return MODELS[name].model_validate(codec.decode(payload))


def _typed_values(model: BaseModel) -> list[Any]:
    """Every value inside a model, nested models and containers opened."""
    values: list[Any] = []
    for value in model.__dict__.values():
        items = value.values() if isinstance(value, dict) else value
        for item in items if isinstance(value, (list, dict)) else [value]:
            values += _typed_values(item) if isinstance(item, BaseModel) else [item]
    return values


@pytest.mark.parametrize("spec", CATALOG, ids=lambda spec: spec.name)
def test_examples_decode_to_the_validated_model_and_encode_to_the_same_bytes(spec):
    typed, codec = _codecs(spec.record)
    for record in example_records(spec):
        payload = codec.encode(record)
        decoded = typed.decode(payload)
        validated = _validated(spec.record, codec, payload)
        assert type(decoded) is MODELS[spec.record]
        assert decoded == validated
        assert decoded.model_dump() == validated.model_dump()
        assert decoded.model_dump_json() == validated.model_dump_json()
        assert decoded.model_fields_set == validated.model_fields_set
        assert repr(decoded) == repr(validated)
        assert typed.encode(validated) == codec.encode(validated.model_dump()) == payload
        assert typed.encode(decoded) == payload


@pytest.mark.parametrize("spec", CATALOG, ids=lambda spec: spec.name)
def test_decoded_fields_have_the_models_types(spec):
    """Enums are the model's Enum members and nested records its models, as validation makes
    them: `is` comparisons and attribute access in the stages behave the same."""
    typed, codec = _codecs(spec.record)
    for record in example_records(spec):
        payload = codec.encode(record)
        decoded, validated = typed.decode(payload), _validated(spec.record, codec, payload)
        for ours, theirs in zip(_typed_values(decoded), _typed_values(validated), strict=True):
            assert type(ours) is type(theirs)
            if isinstance(ours, Enum):
                assert ours is theirs


@pytest.mark.parametrize("spec", CATALOG, ids=lambda spec: spec.name)
def test_decoded_models_behave_as_validated_ones(spec):
    typed, codec = _codecs(spec.record)
    for record in example_records(spec):
        payload = codec.encode(record)
        decoded, validated = typed.decode(payload), _validated(spec.record, codec, payload)
        try:
            expected_hash = hash(validated)
        except TypeError:  # a list or dict field: neither hashes
            with pytest.raises(TypeError):
                hash(decoded)
        else:
            assert hash(decoded) == expected_hash
        assert pickle.loads(pickle.dumps(decoded)) == validated
        assert copy.deepcopy(decoded) == validated
        with pytest.raises(ValidationError, match="frozen"):
            setattr(decoded, next(iter(MODELS[spec.record].model_fields)), None)
        first = next(iter(MODELS[spec.record].model_fields))
        changed = decoded.model_copy(update={first: "changed"})
        assert getattr(changed, first) == "changed"
        assert decoded == validated  # the copy changed, not the original
        assert changed == validated.model_copy(update={first: "changed"})


def test_a_copy_with_an_unknown_field_leaves_other_decoded_records_alone():
    """Decoded records share one set of field names; pydantic must only ever change a copy's."""
    typed, codec = _codecs("ExecutionReport")
    payload = codec.encode(example_records(find("fills"))[0])
    typed.decode(payload).model_copy(update={"not_a_field": 1})
    assert "not_a_field" not in typed.decode(payload).model_fields_set


def test_an_execution_report_keeps_its_decimals_exact_and_its_enums_typed():
    typed, codec = _codecs("ExecutionReport")
    record = {
        **example_records(find("fills"))[0],
        "last_price": Decimal("0.000000000000000001"),
        "quantity": Decimal("12345678901234567890.12345678"),
        "commission": Decimal("1.0E-7"),
    }
    decoded = typed.decode(codec.encode(record))
    assert str(decoded.quantity) == "12345678901234567890.12345678"
    assert decoded.last_price == Decimal("1E-18")
    assert typed.encode(decoded) == codec.encode(record)
    assert b"0.00000010" in typed.encode(decoded)
    assert decoded.side is ExecutionReport.model_fields["side"].annotation.BUY  # type: ignore[union-attr]


@pytest.mark.parametrize("name", RECORDS)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_random_records_match_the_dict_path_both_ways(name, data):
    record = data.draw(_records(name))
    typed, codec = _codecs(name)
    payload = codec.encode(record)
    decoded = typed.decode(payload)
    assert decoded.model_dump() == codec.decode(payload) == record
    assert typed.encode(decoded) == payload
    try:
        validated = MODELS[name].model_validate(record)
    except ValidationError:  # random values break the models' constraints more often than not
        return
    assert decoded == validated
    assert typed.encode(validated) == payload


def _outcome(decode: Any, payload: bytes) -> Any:
    try:
        return decode(payload)
    except UndecodableRecord:
        return UndecodableRecord


@pytest.mark.parametrize("name", ["Signal", "ExecutionReport", "BookUpdate", "TcaResult"])
@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data())
def test_damaged_payloads_are_refused_exactly_where_the_dict_path_refuses_them(name, data):
    typed, codec = _codecs(name)
    payload = bytearray(codec.encode(data.draw(_records(name))))
    edits = data.draw(
        st.lists(
            st.tuples(st.integers(10, len(payload) - 1), st.integers(0, 255)),
            min_size=1,
            max_size=3,
        )
    )
    for where, byte in edits:
        payload[where] = byte
    damaged = bytes(payload)
    expected = _outcome(codec.decode, damaged)
    got = _outcome(typed.decode, damaged)
    if expected is UndecodableRecord:
        assert got is UndecodableRecord
    else:
        assert got is not UndecodableRecord and _same(got.model_dump(), expected)


def _same(a: Any, b: Any) -> bool:
    """Equal, where damaged bytes that read as a NaN double (which equals nothing) count as
    equal to the same NaN."""
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


@pytest.mark.parametrize("name", ["Signal", "ExecutionReport", "BookUpdate"])
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_every_truncation_is_refused(name, data):
    typed, codec = _codecs(name)
    payload = codec.encode(data.draw(_records(name)))
    for cut in range(len(payload)):
        with pytest.raises(UndecodableRecord):
            typed.decode(payload[:cut])


@pytest.fixture
def fill_payload() -> bytes:
    return SingleObjectCodec("ExecutionReport").encode(example_records(find("fills"))[0])


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda p: None, id="no-value"),
        pytest.param(lambda p: b"", id="empty"),
        pytest.param(lambda p: b'{"symbol": "BTC/USDT"}', id="json"),
        pytest.param(lambda p: b"\x00\x00\x00\x00\x01" + p[10:], id="registry-framed"),
        pytest.param(lambda p: p[:6], id="truncated-header"),
        pytest.param(lambda p: p[:-7], id="truncated-body"),
        pytest.param(lambda p: p + b"\x00", id="trailing-byte"),
        pytest.param(lambda p: p[:2] + bytes(8) + p[10:], id="unknown-fingerprint"),
        pytest.param(lambda p: p[:10] + b"\x03" + p[11:], id="negative-length"),
        pytest.param(lambda p: p[:10] + b"\x7e" + p[11:], id="overlong-length"),
        pytest.param(lambda p: p[:10] + bytes(range(200)), id="garbage"),
    ],
)
def test_corrupt_bytes_raise_the_typed_error(fill_payload, corrupt):
    typed, codec = _codecs("ExecutionReport")
    with pytest.raises(UndecodableRecord):
        codec.decode(corrupt(fill_payload))
    with pytest.raises(UndecodableRecord):
        typed.decode(corrupt(fill_payload))


def test_a_record_of_another_contract_is_refused_by_name():
    trade = SingleObjectCodec("Trade").encode(example_records(find("market.trades"))[0])
    with pytest.raises(UndecodableRecord, match=r"fillstream\.Trade record where"):
        record_codec_for("ExecutionReport", "fills").decode(trade)


def test_a_non_finite_decimal_is_undecodable(fill_payload):
    typed, _ = _codecs("ExecutionReport")
    quantity = b"\x080.25"  # the first decimal field, "0.25", behind its length
    assert fill_payload.count(quantity) >= 1
    with pytest.raises(UndecodableRecord, match="non-finite decimal"):
        typed.decode(fill_payload.replace(quantity, b"\x08-Inf", 1))
    with pytest.raises(UndecodableRecord, match="not a number"):
        typed.decode(fill_payload.replace(quantity, b"\x080.2x", 1))


def test_non_ascii_text_is_read_as_utf8():
    typed, codec = _codecs("ExecutionReport")
    record = {**example_records(find("fills"))[0], "reason": "prix dépassé · 価格" * 5}
    payload = codec.encode(record)
    assert typed.decode(payload).reason == record["reason"]
    assert typed.encode(typed.decode(payload)) == payload
    broken = payload.replace("価".encode(), b"\xe4\xbe\x00", 1)
    with pytest.raises(UndecodableRecord):
        codec.decode(broken)
    with pytest.raises(UndecodableRecord):
        typed.decode(broken)


def _old_payload(name: str, version: int, record: dict[str, Any]) -> bytes:
    """A record as a writer of an earlier schema version wrote it."""
    old = next(v for v in known_versions(name) if v.version == version)
    buffer = io.BytesIO()
    buffer.write(SINGLE_OBJECT_MAGIC + old.fingerprint)
    schemaless_writer(buffer, old.parsed, record)
    return buffer.getvalue()


def test_a_record_of_an_earlier_version_decodes_to_the_current_model():
    assert contract("Command").version > 1
    pause = {
        "command_id": "cmd-3",
        "kind": "pause",
        "order_id": None,
        "account_id": "acct-2",
        "quantity": None,
        "price": None,
        "reason": "margin call",
        "issued_by": None,
        "created_at": 1723161332000000,
    }
    decoded = record_codec_for("Command", "commands").decode(_old_payload("Command", 1, pause))
    assert decoded == Command.model_validate({**pause, "symbol": None, "slices_sent": None})


def test_a_record_of_an_earlier_version_that_the_model_refuses_is_undecodable():
    """Version 1 of Command had no symbol: its cancel is not a cancel the model accepts now."""
    cancel = {
        "command_id": "cmd-1",
        "kind": "cancel",
        "order_id": "ord-sig-0002",
        "account_id": None,
        "quantity": None,
        "price": None,
        "reason": None,
        "issued_by": None,
        "created_at": 1723161330000000,
    }
    with pytest.raises(UndecodableRecord, match="needs an order_id and the order's symbol"):
        record_codec_for("Command", "commands").decode(_old_payload("Command", 1, cancel))


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
def test_a_model_that_is_not_a_decimal_is_written_by_the_dict_path_which_refuses_it():
    trade = Trade.model_validate(example_records(find("market.trades"))[0])
    typed, _ = _codecs("Trade")
    with pytest.raises(TypeError, match="expected a Decimal"):
        typed.encode(trade.model_copy(update={"price": 61251.01}))


def test_a_model_of_another_contract_is_not_written_as_this_one():
    quote = Quote.model_validate(example_records(find("market.quotes"))[0])
    with pytest.raises(ValueError):
        record_codec_for("Trade", "market.trades").encode(quote)  # type: ignore[arg-type]


def test_the_registry_keeps_the_dict_path(monkeypatch):
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", "mock://fillstream-record-codec")
    spec = find("fills")
    typed = record_codec_for(spec.record, spec.full_name)
    assert isinstance(typed, ValidatingRecordCodec)
    for record in example_records(spec):
        model = ExecutionReport.model_validate(record)
        payload = typed.encode(model)
        assert payload[0] == 0
        assert typed.decode(payload) == model


def test_a_model_that_does_not_mirror_its_schema_is_not_compiled():
    class Narrow(BaseModel):
        symbol: str

    with pytest.raises(Unsupported):
        compile_model_codec(contract("Trade").schema, Narrow)


@pytest.mark.parametrize(
    "value",
    [
        *(0, -1, 63, 64, 2**31, -(2**48), 2**49 - 1, 2**49, 2**55 - 1, 2**55, 2**56),
        *(2**63 - 1, -(2**63), 1723161300003100, -1723161300003100),
    ],
)
def test_longs_around_the_eight_byte_width_match_fastavro(value):
    schema = {
        "type": "record",
        "name": "Times",
        "fields": [{"name": "a", "type": "long"}, {"name": "b", "type": "long"}],
    }
    buffer = io.BytesIO()
    schemaless_writer(buffer, schema, {"a": value, "b": value})
    codec = compile_codec(schema)
    assert codec.encode({"a": value, "b": value}) == buffer.getvalue()
    assert codec.decode(buffer.getvalue(), 0) == ({"a": value, "b": value}, len(buffer.getvalue()))
