"""Confluent Schema Registry framing, against confluent-kafka's in-process mock registry."""

from __future__ import annotations

import pytest

from fillstream.schemas.serde import RegistryCodec, SingleObjectCodec, UndecodableRecord, codec_for
from fillstream.schemas.topics import find
from tests.examples import example_records


@pytest.fixture
def registry(monkeypatch) -> str:
    url = "mock://fillstream-tests"
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", url)
    return url


def test_the_environment_chooses_the_wire_format(registry, monkeypatch):
    assert isinstance(codec_for("Signal", "signals"), RegistryCodec)
    monkeypatch.delenv("SCHEMA_REGISTRY_URL")
    assert isinstance(codec_for("Signal", "signals"), SingleObjectCodec)


def test_records_round_trip_in_confluent_framing(registry):
    spec = find("fills")
    codec = codec_for(spec.record, spec.full_name)
    for record in example_records(spec):
        payload = codec.encode(record)
        assert payload[0] == 0  # Confluent magic byte, then a 4-byte schema id
        assert int.from_bytes(payload[1:5], "big") > 0
        assert codec.decode(payload) == record


def test_undecodable_registry_payloads_raise_the_typed_error(registry):
    spec = find("fills")
    codec = codec_for(spec.record, spec.full_name)
    payload = codec.encode(example_records(spec)[0])
    single_object = SingleObjectCodec(spec.record).encode(example_records(spec)[0])
    for corrupt in (payload[:3], b"\x00\x00\x00\x7f\xff" + payload[5:], single_object):
        with pytest.raises(UndecodableRecord):
            codec.decode(corrupt)
