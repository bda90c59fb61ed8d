"""Avro encoding of topic values, with or without a Confluent Schema Registry.

Without a registry (the default) every value is an Avro single-object encoding: the two
magic bytes C3 01, the writer schema's 8-byte CRC-64-AVRO fingerprint (little-endian), then
the Avro binary body. The reader looks the fingerprint up among the schemas shipped in
`avro/history`, and resolves the writer's version to the current one. With
`SCHEMA_REGISTRY_URL` set, values use Confluent's wire format instead (magic 0, a 4-byte
schema id) through confluent-kafka's registry client; subjects follow the topic name.

Any value that cannot be decoded raises `UndecodableRecord`, the one error processors route
to the dead-letter topic.

A `Codec` reads and writes dicts, which the edges validate into models. Inside the pipeline a
`RecordCodec` (`record_codec_for`) reads a record of the current version straight into its
typed model, without validation (it is our own contract, written from a model), and writes a
model from its attributes; earlier versions, and registry framing, go through the dict path
and the model's validation.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from decimal import InvalidOperation
from functools import cache
from typing import Any, Protocol

from fastavro import schemaless_reader, schemaless_writer
from pydantic import ValidationError

from fillstream import settings
from fillstream.schemas.compiled import (
    CompiledCodec,
    CompiledModelCodec,
    Unsupported,
    compile_codec,
    compile_model_codec,
)
from fillstream.schemas.contracts import Contract, contract, version_by_fingerprint
from fillstream.schemas.models import MODELS, Record
from fillstream.settings.kafka_client import registry_config

__all__ = [
    "SINGLE_OBJECT_MAGIC",
    "Codec",
    "RecordCodec",
    "RegistryCodec",
    "SingleObjectCodec",
    "SingleObjectRecordCodec",
    "UndecodableRecord",
    "ValidatingRecordCodec",
    "codec_for",
    "record_codec_for",
]

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
_HEADER_LENGTH = len(SINGLE_OBJECT_MAGIC) + 8


class UndecodableRecord(ValueError):
    """A value that is not a valid record of the expected contract; it belongs in `deadletter`."""


class Codec(Protocol):
    """Turns one topic's records into bytes and back."""

    def encode(self, record: Mapping[str, Any]) -> bytes: ...

    def decode(self, payload: bytes) -> dict[str, Any]: ...


def _read_exactly(payload: bytes, start: int, writer: Contract, reader: Contract) -> dict[str, Any]:
    """Decode an Avro body that must end exactly where the payload ends."""
    buffer = io.BytesIO(payload)
    buffer.seek(start)
    reader_schema = None if writer is reader else reader.parsed
    try:
        record = schemaless_reader(buffer, writer.parsed, reader_schema)
    except Exception as error:  # fastavro raises many types on corrupt input; all mean one thing
        raise UndecodableRecord(
            f"corrupt {writer.name} v{writer.version} body: {type(error).__name__}: {error}"
        ) from error
    if buffer.tell() != len(payload):
        raise UndecodableRecord(
            f"{len(payload) - buffer.tell()} unexpected bytes after a {writer.name} record"
        )
    return record  # type: ignore[return-value]


def _undecodable(error: Exception, current: Contract) -> UndecodableRecord:
    """What a compiled decoder's failure on a current-version body means."""
    if isinstance(error, InvalidOperation):
        return UndecodableRecord(
            f"corrupt {current.name} body: a decimal field holds text that is not a number"
        )
    return UndecodableRecord(
        f"corrupt {current.name} v{current.version} body: {type(error).__name__}: {error}"
    )


def _trailing(payload: bytes, end: int, current: Contract) -> UndecodableRecord:
    return UndecodableRecord(f"{len(payload) - end} unexpected bytes after a {current.name} record")


@cache
def _compiled(current: Contract) -> CompiledCodec | None:
    try:
        return compile_codec(current.schema)
    except Unsupported:
        return None


@cache
def _compiled_model(current: Contract, model: type[Record]) -> CompiledModelCodec | None:
    try:
        return compile_model_codec(current.schema, model)
    except Unsupported:
        return None


def _fastavro_body(current: Contract, record: Mapping[str, Any]) -> bytes:
    buffer = io.BytesIO()
    schemaless_writer(buffer, current.parsed, record)
    return buffer.getvalue()


class SingleObjectCodec:
    """Avro single-object encoding against the schemas shipped with fillstream.

    The current version is written and read by the compiled codec; fastavro reads earlier
    versions (resolving them to the current one) and explains records that cannot be written.
    """

    def __init__(self, record_name: str) -> None:
        self.contract = contract(record_name)
        self._header = SINGLE_OBJECT_MAGIC + self.contract.fingerprint
        self._compiled = _compiled(self.contract)

    def encode(self, record: Mapping[str, Any]) -> bytes:
        if self._compiled is not None:
            try:
                return self._header + self._compiled.encode(record)
            except Exception:  # fastavro below then writes it, or names the offending field
                pass
        return self._header + _fastavro_body(self.contract, record)

    def decode(self, payload: bytes) -> dict[str, Any]:
        if payload is None or payload[:2] != SINGLE_OBJECT_MAGIC or len(payload) < _HEADER_LENGTH:
            raise UndecodableRecord(
                "not an Avro single-object encoded record (no C3 01 header); "
                "was it written with a schema registry or as JSON?"
            )
        fingerprint = payload[2:_HEADER_LENGTH]
        if fingerprint == self.contract.fingerprint:
            if self._compiled is None:
                return _read_exactly(payload, _HEADER_LENGTH, self.contract, self.contract)
            try:
                record, end = self._compiled.decode(payload, _HEADER_LENGTH)
            except Exception as error:  # IndexError, ValueError, UnicodeDecodeError, ...
                raise _undecodable(error, self.contract) from error
            if end != len(payload):
                raise _trailing(payload, end, self.contract)
            return record
        writer = version_by_fingerprint().get(fingerprint)
        if writer is None:
            raise UndecodableRecord(
                f"unknown schema fingerprint {fingerprint.hex()}: written by a newer or foreign "
                f"schema than the {self.contract.name} versions this fillstream ships"
            )
        if writer.name != self.contract.name:
            raise UndecodableRecord(
                f"a {writer.name} record where {self.contract.name} is expected"
            )
        return _read_exactly(payload, _HEADER_LENGTH, writer, self.contract)


class RegistryCodec:
    """Confluent wire format through a Schema Registry; the subject is `<topic>-value`."""

    def __init__(self, record_name: str, topic: str, registry_url: str) -> None:
        # Imported here: the registry client brings an HTTP stack the default path never needs.
        # Its OAuth dependency warns about itself at import; that is not the user's concern.
        with warnings.catch_warnings(record=True):
            from confluent_kafka.schema_registry import SchemaRegistryClient
            from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
        from confluent_kafka.serialization import MessageField, SerializationContext

        self.contract = contract(record_name)
        client = SchemaRegistryClient.new_client(registry_config(registry_url))  # mock:// in tests
        self._context = SerializationContext(topic, MessageField.VALUE)
        self._serializer = AvroSerializer(client, self.contract.schema_json)
        self._deserializer = AvroDeserializer(client, self.contract.schema_json)

    def encode(self, record: Mapping[str, Any]) -> bytes:
        return self._serializer(dict(record), self._context)  # type: ignore[return-value]

    def decode(self, payload: bytes) -> dict[str, Any]:
        try:
            record = self._deserializer(payload, self._context)
        except Exception as error:  # SerializationError, fastavro errors, registry lookups
            raise UndecodableRecord(f"{type(error).__name__}: {error}") from error
        if not isinstance(record, dict):
            raise UndecodableRecord(f"expected a {self.contract.name} record, got {record!r}")
        return record


def codec_for(record_name: str, topic: str) -> Codec:
    """The codec the environment asks for: registry framing if `SCHEMA_REGISTRY_URL` is set."""
    registry_url = settings.schema_registry_url()
    if registry_url:
        return RegistryCodec(record_name, topic, registry_url)
    return SingleObjectCodec(record_name)


class RecordCodec(Protocol):
    """Turns one topic's typed records (the contract's pydantic model) into bytes and back."""

    def encode(self, record: Record) -> bytes: ...

    def decode(self, payload: bytes) -> Record: ...


class ValidatingRecordCodec:
    """Typed records through a dict `Codec`: `model_dump` to write, `model_validate` to read.

    The path for whatever the compiled model codec does not read: earlier schema versions,
    registry framing. A record the model refuses is undecodable, like a corrupt one."""

    def __init__(self, record_name: str, codec: Codec) -> None:
        self.model = MODELS[record_name]
        self.codec = codec

    def encode(self, record: Record) -> bytes:
        return self.codec.encode(record.model_dump())

    def decode(self, payload: bytes) -> Record:
        record = self.codec.decode(payload)
        try:
            return self.model.model_validate(record)
        except ValidationError as error:
            raise UndecodableRecord(
                f"a {self.model.__name__} record its model refuses: {error}"
            ) from error


class SingleObjectRecordCodec:
    """Single-object encoding straight between bytes and the contract's model.

    The current version is read into the model without validation and written from its
    attributes (`compile_model_codec`); a payload of any other version, or no payload of this
    contract at all, goes to the dict codec, which resolves it or says what is wrong with it,
    and the model validates what it resolved to."""

    def __init__(self, record_name: str) -> None:
        self.model = MODELS[record_name]
        self.codec = SingleObjectCodec(record_name)
        self.contract = self.codec.contract
        compiled = _compiled_model(self.contract, self.model)
        if compiled is None:
            raise Unsupported(f"{record_name} and its model cannot be compiled together")
        self._encode_body = compiled.encode
        self._decode_body = compiled.decode
        self._header = SINGLE_OBJECT_MAGIC + self.contract.fingerprint
        self._validating = ValidatingRecordCodec(record_name, self.codec)

    def encode(self, record: Record) -> bytes:
        if record.__class__ is self.model:
            try:
                return self._header + self._encode_body(record)
            except Exception:  # the dict codec below then writes it, or names the bad field
                pass
        return self.codec.encode(record.model_dump())

    def decode(self, payload: bytes) -> Record:
        if payload is None or payload[:_HEADER_LENGTH] != self._header:
            return self._validating.decode(payload)
        try:
            record, end = self._decode_body(payload, _HEADER_LENGTH)
        except Exception as error:  # IndexError, ValueError, UnicodeDecodeError, ...
            raise _undecodable(error, self.contract) from error
        if end != len(payload):
            raise _trailing(payload, end, self.contract)
        return record


def record_codec_for(record_name: str, topic: str) -> RecordCodec:
    """The typed codec the environment asks for: straight to the model without a registry,
    through the dict codec and the model's validation with one (`SCHEMA_REGISTRY_URL`)."""
    registry_url = settings.schema_registry_url()
    if registry_url:
        return ValidatingRecordCodec(record_name, RegistryCodec(record_name, topic, registry_url))
    try:
        return SingleObjectRecordCodec(record_name)
    except Unsupported:
        return ValidatingRecordCodec(record_name, SingleObjectCodec(record_name))
