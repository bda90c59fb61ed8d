"""Avro binary encoding compiled per schema: the hot-path codec for fillstream's contracts.

fastavro interprets the schema for every value it writes or reads; on the contracts' records
that costs about 1.5 µs per field here, 30-45 µs per round trip (docs/BENCHMARKS.md). Like
`dataclasses` or `fastjsonschema`, this module instead generates Python source once per schema,
straight-line code with one statement per field, which runs several times faster and produces
the same bytes (tests compare both ways against fastavro, the reference implementation).

It covers the Avro subset the contracts use: primitives, records, enums, arrays, maps, unions
of null with one other type, and the `decimal-string` logical type. `compile_codec` raises
`Unsupported` on anything else, and the serde then keeps fastavro. Reading another version of
a schema (resolution) also stays with fastavro: it is the rare path.

`compile_model_codec` generates the same code against the pydantic models instead of dicts,
for the pipeline's own records: it reads each record straight into its model, built without
validation as `BaseModel.model_construct` builds one (validation belongs at the edges, and a
record decoded from the contract is already of the right types), and writes a model from its
attributes, with no `model_dump` in between.
"""

from __future__ import annotations

import itertools
import struct
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel

from fillstream.schemas.decimals import LOGICAL_TYPE, format_decimal

__all__ = [
    "CompiledCodec",
    "CompiledModelCodec",
    "Unsupported",
    "compile_codec",
    "compile_model_codec",
]

Encoder = Callable[[Mapping[str, Any]], bytes]
Decoder = Callable[[bytes, int], tuple[dict[str, Any], int]]


class Unsupported(ValueError):
    """A schema feature the compiler does not handle; fastavro does."""


# Times are µs since the epoch: eight varint bytes until the year 3000, which the two
# functions below spread and gather with masks over one 64-bit word rather than byte by byte.
_EIGHT_BYTES = struct.Struct("<Q")
_HIGH_BITS = 0x8080808080808080
_EIGHT_CONTINUED = 0x0080808080808080  # bytes 0-6 continue the varint, byte 7 ends it
# Eight 7-bit groups in a word, (kept, shift, moved): gathered pairwise into 14 bits, those
# into 28, those into 56 (`moved` shifted right); spread the other way round.
_GROUPS = (
    (0x007F007F007F007F, 1, 0x3F803F803F803F80),
    (0x00003FFF00003FFF, 2, 0x0FFFC0000FFFC000),
    (0x000000000FFFFFFF, 4, 0x00FFFFFFF0000000),
)
(_KEPT7, _, _MOVED7), (_KEPT14, _, _MOVED14), (_KEPT28, _, _MOVED28) = _GROUPS


def _long_bytes(value: int) -> bytes:
    """Zig-zag varint, as Avro writes int and long."""
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"{value} does not fit an Avro long")
    encoded = (value << 1) ^ (value >> 63)
    if 1 << 49 <= encoded < 1 << 56:
        encoded = (encoded & _KEPT28) | ((encoded & _MOVED28) << 4)
        encoded = (encoded & _KEPT14) | ((encoded & _MOVED14) << 2)
        encoded = (encoded & _KEPT7) | ((encoded & _MOVED7) << 1)
        return _EIGHT_BYTES.pack(encoded | _EIGHT_CONTINUED)
    out = bytearray()
    while encoded > 0x7F:
        out.append((encoded & 0x7F) | 0x80)
        encoded >>= 7
    out.append(encoded)
    return bytes(out)


_SMALL = tuple(_long_bytes(n) for n in range(64))  # one-byte lengths, the common case


def _read_long(buffer: bytes, position: int) -> tuple[int, int]:
    if position + 8 <= len(buffer):
        word = _EIGHT_BYTES.unpack_from(buffer, position)[0]
        if word & _HIGH_BITS == _EIGHT_CONTINUED:
            word = (word & _KEPT7) | ((word >> 1) & _MOVED7)
            word = (word & _KEPT14) | ((word >> 2) & _MOVED14)
            word = (word & _KEPT28) | ((word >> 4) & _MOVED28)
            return (word >> 1) ^ -(word & 1), position + 8
    byte = buffer[position]
    position += 1
    value = byte & 0x7F
    shift = 7
    while byte & 0x80:
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")
        byte = buffer[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
    if value >> 64:
        raise ValueError("varint wider than 64 bits")
    return (value >> 1) ^ -(value & 1), position


# What a one-byte length that is odd (negative) reads as: beyond any buffer, so that it cannot
# move `position` back, and the decoder's last check refuses it.
_BEYOND = 2**62


def _truncated(position: int, size: int) -> ValueError:
    return ValueError(f"a length that is negative or runs past the record's {size} bytes")


@dataclass(frozen=True)
class CompiledCodec:
    """Encode a record to Avro binary, and decode Avro binary from a position in a buffer."""

    encode: Encoder
    decode: Decoder
    source: str


@dataclass(frozen=True)
class CompiledModelCodec:
    """Encode a model to Avro binary, and decode Avro binary into a model."""

    encode: Callable[[BaseModel], bytes]
    decode: Callable[[bytes, int], tuple[BaseModel, int]]
    source: str


def _full_name(schema: Mapping[str, Any]) -> str:
    name, namespace = schema["name"], schema.get("namespace")
    return f"{namespace}.{name}" if namespace and "." not in name else str(name)


class _Compiler:
    """Writes the encoder and decoder source for one schema, field by field."""

    def __init__(self) -> None:
        self.constants: dict[str, Any] = {}
        self._ids = itertools.count()
        self.named: dict[str, dict[str, Any]] = {}

    def name(self, stem: str) -> str:
        return f"{stem}{next(self._ids)}"

    def constant(self, value: Any) -> str:
        name = self.name("_k")
        self.constants[name] = value
        return name

    def resolve(self, schema: Any) -> dict[str, Any] | list[Any]:
        if isinstance(schema, list):
            return schema
        if isinstance(schema, str):
            if schema in self.named:
                return self.named[schema]
            return {"type": schema}
        if isinstance(schema["type"], (dict, list)):
            return self.resolve(schema["type"])
        if schema["type"] in {"record", "enum", "fixed"}:
            self.named[_full_name(schema)] = schema
            self.named[schema["name"]] = schema
        return schema

    # -- encoding: each method appends statements that write `value` with `out(...)` --------

    def encode(self, schema: Any, value: str, indent: int, lines: list[str]) -> None:
        pad = "    " * indent
        schema = self.resolve(schema)
        if isinstance(schema, list):
            branches = [self.resolve(branch) for branch in schema]
            if len(branches) != 2 or branches[0] != {"type": "null"}:
                raise Unsupported(f"union {schema}: only [null, T] is compiled")
            held = self.name("_u")
            lines.append(f"{pad}{held} = {value}")
            lines.append(f"{pad}if {held} is None:")
            lines.append(f"{pad}    out(b'\\x00')")
            lines.append(f"{pad}else:")
            lines.append(f"{pad}    out(b'\\x02')")
            self.encode(schema[1], held, indent + 1, lines)
            return
        kind = schema["type"]
        if kind == "string" and schema.get("logicalType") == LOGICAL_TYPE:
            # format_decimal inline for an exact, finite Decimal; the call for anything else,
            # which formats a subclass and refuses the rest.
            held = self.name("_x")
            lines.append(f"{pad}{held} = {value}")
            lines.append(f"{pad}if {held}.__class__ is Decimal and {held}.is_finite():")
            lines.append(f"{pad}    _t = str({held})")
            lines.append(f"{pad}    if 'E' in _t: _t = format({held}, 'f')")
            lines.append(f"{pad}else:")
            lines.append(f"{pad}    _t = format_decimal({held})")
            self._sized("_t.encode()", pad, lines)
        elif kind == "string":
            self._sized(f"{value}.encode()", pad, lines)
        elif kind == "bytes":
            self._sized(f"bytes({value})", pad, lines)
        elif kind in {"int", "long"}:
            held = self.name("_x")
            lines.append(f"{pad}{held} = {value}")
            lines.append(f"{pad}out(SMALL[{held}] if 0 <= {held} < 64 else long_bytes({held}))")
        elif kind == "double":
            lines.append(f"{pad}out(pack_double({value}))")
        elif kind == "float":
            lines.append(f"{pad}out(pack_float({value}))")
        elif kind == "boolean":
            lines.append(f"{pad}out(BOOLEANS[{value}])")
        elif kind == "null":
            lines.append(
                f"{pad}if {value} is not None: raise TypeError('null field holds a value')"
            )
        elif kind == "enum":
            table = {}  # by symbol, and by what the symbol decodes to
            for index, (symbol, value_of) in enumerate(
                zip(schema["symbols"], self.enum(schema), strict=True)
            ):
                table[symbol] = table[value_of] = _long_bytes(index)
            lines.append(f"{pad}out({self.constant(table)}[{value}])")
        elif kind == "record":
            held = self.name("_r")
            lines.append(f"{pad}{held} = {self.fields_of(value)}")
            for field in schema["fields"]:
                self.encode(field["type"], f"{held}[{field['name']!r}]", indent, lines)
        elif kind in {"array", "map"}:
            held, item = self.name("_c"), self.name("_i")
            lines.append(f"{pad}{held} = {value}")
            lines.append(f"{pad}if {held}:")
            lines.append(f"{pad}    out(long_bytes(len({held})))")
            if kind == "array":
                lines.append(f"{pad}    for {item} in {held}:")
                self.encode(schema["items"], item, indent + 2, lines)
            else:
                key = self.name("_key")
                lines.append(f"{pad}    for {key}, {item} in {held}.items():")
                self._sized(f"{key}.encode()", pad + "        ", lines)
                self.encode(schema["values"], item, indent + 2, lines)
            lines.append(f"{pad}out(b'\\x00')")
        else:
            raise Unsupported(f"type {kind!r} is not compiled")

    def _sized(self, expression: str, pad: str, lines: list[str]) -> None:
        lines.append(f"{pad}_b = {expression}")
        lines.append(f"{pad}_n = len(_b)")
        lines.append(f"{pad}out(SMALL[_n] if _n < 64 else long_bytes(_n))")
        lines.append(f"{pad}out(_b)")

    # -- decoding: each method appends statements that read into the local name `target` ----
    #
    # Reads advance `position` and never check the end of the buffer: reading past it raises
    # IndexError, and a text or bytes field running past it leaves `position` beyond the end,
    # which the decoder checks once, last. A length never moves `position` back.

    def decode(self, schema: Any, target: str, indent: int, lines: list[str]) -> None:
        pad = "    " * indent
        schema = self.resolve(schema)
        if isinstance(schema, list):
            branch = self.name("_u")
            self._long(branch, pad, lines)
            lines.append(f"{pad}if {branch} == 0:")
            lines.append(f"{pad}    {target} = None")
            lines.append(f"{pad}elif {branch} == 1:")
            self.decode(schema[1], target, indent + 1, lines)
            lines.append(f"{pad}else:")
            lines.append(f"{pad}    raise ValueError(f'union branch {{{branch}}} out of range')")
            return
        kind = schema["type"]
        if kind == "string" and schema.get("logicalType") == LOGICAL_TYPE:
            self._text("_t", pad, lines)
            lines.append(f"{pad}{target} = Decimal(_t)")
            lines.append(
                f"{pad}if not {target}.is_finite(): raise ValueError('non-finite decimal')"
            )
        elif kind == "string":
            self._text(target, pad, lines)
        elif kind == "bytes":
            self._length(pad, lines)
            lines.append(f"{pad}{target} = buffer[position:(position := position + _len)]")
        elif kind in {"int", "long"}:  # often longer than a byte: no exception, times inline
            lines.append(f"{pad}_v = buffer[position]")
            lines.append(f"{pad}if _v < 0x80:")
            lines.append(f"{pad}    {target} = ZIGZAG[_v]")
            lines.append(f"{pad}    position += 1")
            lines.append(
                f"{pad}elif position + 8 <= size and "
                "(_w := unpack_word(buffer, position)[0]) & HIGH_BITS == EIGHT_CONTINUED:"
            )
            for kept, shift, moved in _GROUPS:
                lines.append(f"{pad}    _w = (_w & {kept:#x}) | ((_w >> {shift}) & {moved:#x})")
            lines.append(f"{pad}    {target} = (_w >> 1) ^ -(_w & 1)")
            lines.append(f"{pad}    position += 8")
            lines.append(f"{pad}else:")
            lines.append(f"{pad}    {target}, position = read_long(buffer, position)")
        elif kind in {"double", "float"}:
            unpack, size = ("unpack_double", 8) if kind == "double" else ("unpack_float", 4)
            lines.append(f"{pad}{target} = {unpack}(buffer, position)[0]")
            lines.append(f"{pad}position += {size}")
        elif kind == "boolean":
            flag = self.name("_f")
            lines.append(f"{pad}{flag} = buffer[position]")
            lines.append(f"{pad}position += 1")
            lines.append(f"{pad}if {flag} > 1: raise ValueError(f'boolean byte {{{flag}}}')")
            lines.append(f"{pad}{target} = {flag} == 1")
        elif kind == "null":
            lines.append(f"{pad}{target} = None")
        elif kind == "enum":
            values = self.enum(schema)
            # By the varint's one byte (an index below 64), else in full; None: no such index.
            by_byte = self.constant(
                tuple(
                    values[v >> 1] if v < 2 * len(values) and not v & 1 else None
                    for v in range(0x80)
                )
            )
            by_index = self.constant(values)
            lines.append(f"{pad}try:")
            lines.append(f"{pad}    {target} = {by_byte}[buffer[position]]")
            lines.append(f"{pad}    position += 1")
            lines.append(f"{pad}except IndexError:")
            lines.append(f"{pad}    {target}, position = read_enum(buffer, position, {by_index})")
            lines.append(f"{pad}if {target} is None:")
            lines.append(
                f"{pad}    raise ValueError(f'enum index {{ZIGZAG[buffer[position - 1]]}} "
                "out of range')"
            )
        elif kind == "record":
            entries = []
            for field in schema["fields"]:
                local = self.name("_f")
                self.decode(field["type"], local, indent, lines)
                entries.append(f"{field['name']!r}: {local}")
            self.build(schema, "{" + ", ".join(entries) + "}", target, pad, lines)
        elif kind in {"array", "map"}:
            held, count, item = self.name("_c"), self.name("_n"), self.name("_i")
            lines.append(f"{pad}{held} = {'[]' if kind == 'array' else '{}'}")
            self._long(count, pad, lines)
            lines.append(f"{pad}while {count}:")
            lines.append(f"{pad}    if {count} < 0:")  # a block with its byte size: skip the size
            lines.append(f"{pad}        {count} = -{count}")
            lines.append(f"{pad}        _skip, position = read_long(buffer, position)")
            lines.append(f"{pad}    for _ in range({count}):")
            if kind == "array":
                self.decode(schema["items"], item, indent + 2, lines)
                lines.append(f"{pad}        {held}.append({item})")
            else:
                key = self.name("_key")
                self._text(key, pad + "        ", lines)
                self.decode(schema["values"], item, indent + 2, lines)
                lines.append(f"{pad}        {held}[{key}] = {item}")
            self._long(count, pad + "    ", lines)
            lines.append(f"{pad}{target} = {held}")
        else:
            raise Unsupported(f"type {kind!r} is not compiled")

    def _long(self, target: str, pad: str, lines: list[str]) -> None:
        """Read a zig-zag varint that is nearly always one byte (a union branch, a count): by
        table, a longer one (IndexError) in full."""
        lines.append(f"{pad}try:")
        lines.append(f"{pad}    {target} = ZIGZAG[buffer[position]]")
        lines.append(f"{pad}    position += 1")
        lines.append(f"{pad}except IndexError:")
        lines.append(f"{pad}    {target}, position = read_long(buffer, position)")

    def _length(self, pad: str, lines: list[str]) -> None:
        """Read the length of a text or bytes field into `_len`."""
        lines.append(f"{pad}try:")
        lines.append(f"{pad}    _len = LENGTHS[buffer[position]]")
        lines.append(f"{pad}    position += 1")
        lines.append(f"{pad}except IndexError:")
        lines.append(f"{pad}    _len, position = read_length(buffer, position)")

    def _text(self, target: str, pad: str, lines: list[str]) -> None:
        """Read UTF-8 text: sliced from the buffer's Latin-1 twin `text` when it is ASCII, as
        nearly all is, which saves decoding each field apart; a one-byte length (below 64) by
        table, as the end of the field counted from its length."""
        lines.append(f"{pad}try:")
        end = "(position := position + ENDS[buffer[position]])"
        lines.append(f"{pad}    {target} = text[position + 1:{end}]")
        lines.append(f"{pad}except IndexError:")
        lines.append(f"{pad}    _len, position = read_length(buffer, position)")
        lines.append(f"{pad}    {target} = text[position:(position := position + _len)]")
        lines.append(f"{pad}if not {target}.isascii():")
        lines.append(f"{pad}    {target} = buffer[position - len({target}):position].decode()")

    # -- what the model compiler changes ---------------------------------------------------

    def enum(self, schema: dict[str, Any]) -> tuple[Any, ...]:
        """What an enum's symbols decode to."""
        return tuple(schema["symbols"])

    def fields_of(self, value: str) -> str:
        """The expression of a record's field mapping."""
        return value

    def build(
        self, schema: dict[str, Any], fields: str, target: str, pad: str, lines: list[str]
    ) -> None:
        """Statements that make a decoded record of its field mapping."""
        lines.append(f"{pad}{target} = {fields}")


def _read_length(buffer: bytes, position: int) -> tuple[int, int]:
    length, position = _read_long(buffer, position)
    if length < 0:
        raise ValueError(f"negative length {length} at byte {position}")
    return length, position


def _read_enum(buffer: bytes, position: int, values: tuple[Any, ...]) -> tuple[Any, int]:
    index, position = _read_long(buffer, position)
    if not 0 <= index < len(values):
        raise ValueError(f"enum index {index} out of range")
    return values[index], position


_RUNTIME: dict[str, Any] = {
    "ZIGZAG": tuple((v >> 1) ^ -(v & 1) for v in range(0x80)),
    "LENGTHS": tuple(_BEYOND if v & 1 else v >> 1 for v in range(0x80)),
    "ENDS": tuple(_BEYOND if v & 1 else 1 + (v >> 1) for v in range(0x80)),
    "read_length": _read_length,
    "read_enum": _read_enum,
    "unpack_word": _EIGHT_BYTES.unpack_from,
    "HIGH_BITS": _HIGH_BITS,
    "EIGHT_CONTINUED": _EIGHT_CONTINUED,
    "SMALL": _SMALL,
    "BOOLEANS": {False: b"\x00", True: b"\x01"},
    "long_bytes": _long_bytes,
    "read_long": _read_long,
    "truncated": _truncated,
    "format_decimal": format_decimal,
    "Decimal": Decimal,
    "pack_double": struct.Struct("<d").pack,
    "pack_float": struct.Struct("<f").pack,
    "unpack_double": struct.Struct("<d").unpack_from,
    "unpack_float": struct.Struct("<f").unpack_from,
}


def _assemble(
    compiler: _Compiler, schema: dict[str, Any], encode_lines: list[str], decode_lines: list[str]
) -> dict[str, Any]:
    """Compile the encoder and decoder bodies into functions; return their namespace."""
    source = "\n".join(
        [
            "def encode(record):",
            "    parts = []",
            "    out = parts.append",
            *encode_lines,
            "    return b''.join(parts)",
            "",
            "def decode(buffer, position):",
            "    size = len(buffer)",
            "    text = buffer.decode('latin-1')",
            *decode_lines,
            "    if position > size: raise truncated(position, size)",
            "    return _record, position",
            "",
        ]
    )
    namespace = {**_RUNTIME, **compiler.constants, "__source__": source}
    exec(compile(source, f"<avro codec {schema['name']}>", "exec"), namespace)
    return namespace


def compile_codec(schema: dict[str, Any]) -> CompiledCodec:
    """Generate, compile and return the encoder and decoder of a record schema."""
    if schema.get("type") != "record":
        raise Unsupported("only record schemas are compiled")
    compiler = _Compiler()
    encode_lines: list[str] = []
    compiler.encode(schema, "record", 1, encode_lines)
    compiler.named.clear()  # the decoder meets the named types afresh, in the same order
    decode_lines: list[str] = []
    compiler.decode(schema, "_record", 1, decode_lines)
    namespace = _assemble(compiler, schema, encode_lines, decode_lines)
    return CompiledCodec(namespace["encode"], namespace["decode"], namespace["__source__"])


def _bare(annotation: Any) -> Any:
    """A field's type without its `Annotated` constraints."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _optional(annotation: Any) -> Any:
    """T of `T | None`."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        raise Unsupported(f"{annotation} is not optional, its Avro type is nullable")
    members = [member for member in typing.get_args(annotation) if member is not type(None)]
    if len(members) != 1:
        raise Unsupported(f"{annotation}: only T | None is compiled")
    return members[0]


_PYTHON = {
    "string": str,
    "bytes": bytes,
    "int": int,
    "long": int,
    "double": float,
    "float": float,
    "boolean": bool,
    "null": type(None),
}

# What `BaseModel.model_construct` sets on a new instance, as slot setters: a decoded model is
# built as it does, without its per-field lookups of aliases and defaults (every field is on
# the wire). A model is equal to, hashes as and copies like a validated one with these set.
_MODEL_RUNTIME: dict[str, Any] = {
    "new": object.__new__,
    "set_dict": BaseModel.__dict__["__dict__"].__set__,
    "set_fields": BaseModel.__dict__["__pydantic_fields_set__"].__set__,
    "set_extra": BaseModel.__dict__["__pydantic_extra__"].__set__,
    "set_private": BaseModel.__dict__["__pydantic_private__"].__set__,
}


class _ModelCompiler(_Compiler):
    """Reads records into pydantic models and enums into the models' Enum members, and writes
    them from the models' attributes; every other type is written and read as for dicts."""

    def __init__(self) -> None:
        super().__init__()
        self.classes: dict[str, type[BaseModel] | type[Enum]] = {}
        self.constants.update(_MODEL_RUNTIME)

    def bind(self, schema: Any, annotation: Any) -> None:
        """Find the model or Enum class of each named type, walking schema and model together."""
        schema = self.resolve(schema)
        annotation = _bare(annotation)
        if isinstance(schema, list):
            if len(schema) == 2 and self.resolve(schema[0]) == {"type": "null"}:
                self.bind(schema[1], _optional(annotation))
            return  # other unions: the encoder and decoder refuse them
        kind = schema["type"]
        if kind == "array":
            if typing.get_origin(annotation) is not list:
                raise Unsupported(f"Avro array, {annotation} in the model")
            self.bind(schema["items"], typing.get_args(annotation)[0])
        elif kind == "map":
            if typing.get_origin(annotation) is not dict:
                raise Unsupported(f"Avro map, {annotation} in the model")
            self.bind(schema["values"], typing.get_args(annotation)[1])
        elif kind in {"record", "enum"} and _full_name(schema) in self.classes:
            if self.classes[_full_name(schema)] is not annotation:
                raise Unsupported(f"{_full_name(schema)} is two classes in the model")
        elif kind == "record":
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                raise Unsupported(f"record {schema['name']} is {annotation} in the model")
            names = [field["name"] for field in schema["fields"]]
            if list(annotation.model_fields) != names:
                raise Unsupported(f"{annotation.__name__} does not have the fields {names}")
            if (
                annotation.__pydantic_root_model__
                or annotation.__pydantic_post_init__
                or annotation.__private_attributes__
                or annotation.model_config.get("extra") == "allow"
            ):
                raise Unsupported(f"{annotation.__name__} is more than its fields")
            self.classes[_full_name(schema)] = annotation
            for field in schema["fields"]:
                self.bind(field["type"], annotation.model_fields[field["name"]].annotation)
        elif kind == "enum":
            if not (isinstance(annotation, type) and issubclass(annotation, Enum)):
                raise Unsupported(f"enum {schema['name']} is {annotation} in the model")
            try:
                for symbol in schema["symbols"]:
                    annotation(symbol)
            except ValueError as error:
                raise Unsupported(f"{annotation.__name__}: {error}") from None
            self.classes[_full_name(schema)] = annotation
        else:
            expected = Decimal if schema.get("logicalType") == LOGICAL_TYPE else _PYTHON.get(kind)
            if annotation is not expected:
                raise Unsupported(f"Avro {kind} is {annotation} in the model")

    def enum(self, schema: dict[str, Any]) -> tuple[Any, ...]:
        cls = self.classes[_full_name(schema)]
        return tuple(cls(symbol) for symbol in schema["symbols"])

    def fields_of(self, value: str) -> str:
        return f"{value}.__dict__"

    def build(
        self, schema: dict[str, Any], fields: str, target: str, pad: str, lines: list[str]
    ) -> None:
        model = self.constant(self.classes[_full_name(schema)])
        # Every field is set, so one set serves every instance: pydantic changes it in place
        # only to add a field's name (assignment; a copy gets a set of its own), a no-op here.
        fields_set = self.constant({field["name"] for field in schema["fields"]})
        lines.append(f"{pad}{target} = new({model})")
        lines.append(f"{pad}set_dict({target}, {fields})")
        lines.append(f"{pad}set_fields({target}, {fields_set})")
        lines.append(f"{pad}set_extra({target}, None)")
        lines.append(f"{pad}set_private({target}, None)")


def compile_model_codec(schema: dict[str, Any], model: type[BaseModel]) -> CompiledModelCodec:
    """Generate, compile and return the encoder and decoder of a record schema's model.

    Raises `Unsupported` where the model does not mirror the schema field for field."""
    if schema.get("type") != "record":
        raise Unsupported("only record schemas are compiled")
    compiler = _ModelCompiler()
    compiler.bind(schema, model)
    compiler.named.clear()
    encode_lines: list[str] = []
    compiler.encode(schema, "record", 1, encode_lines)
    compiler.named.clear()
    decode_lines: list[str] = []
    compiler.decode(schema, "_record", 1, decode_lines)
    namespace = _assemble(compiler, schema, encode_lines, decode_lines)
    return CompiledModelCodec(namespace["encode"], namespace["decode"], namespace["__source__"])
