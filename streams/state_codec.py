"""How a value of a stage's memory is written: MessagePack by msgspec, from its annotation.

Records and dataclasses are maps of their fields by name, decimals are text, enums are their
values, and a value of one of several classes (an algorithm's plan) is a map with a stable tag
(`kind`) from a registry; so saved state survives a refactor of the classes that hold it.
`codec_of(type)` compiles a type's codec once; `encode_value` and `decode_value` are the
round trip; `pack` and `decoder` are what the memory's parts (streams/memory.py) write and
read with. docs/CONTRACTS.md ("Processor state") is the reference.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections import deque
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, NamedTuple

import msgspec
from pydantic import BaseModel

from fillstream.streams.execution.algorithms import PLANS
from fillstream.streams.execution.algorithms.base import Plan

__all__ = [
    "NOTE",
    "TAG_FIELD",
    "Codec",
    "codec_of",
    "decode_value",
    "decoder",
    "encode_value",
    "pack",
]

TAG_FIELD = "kind"

# The classes a value of one of several may be, by the tag each carries in saved bytes.
_FAMILIES: dict[Any, Mapping[str, type]] = {Plan: PLANS}


class Codec(NamedTuple):
    """How values of one type are saved: msgspec encodes `out(value)` (the value itself where
    `out` is None) and decodes bytes as `wire`, which `back` turns into the value (the decoded
    value itself where `back` is None). `immutable`: never changed in place, so a value that is
    the same object as the one last written is not encoded again."""

    wire: Any
    out: Callable[[Any], Any] | None
    back: Callable[[Any], Any] | None
    immutable: bool


_PLAIN = frozenset({bool, int, float, str, bytes, Decimal, type(None)})
_CODECS: dict[Any, Codec] = {}
# A `RecentIds` note is text. Risk saved its signal ids with no note (nil) before they were a
# `RecentIds`; those read as the empty note.
NOTE = Codec(str | None, None, lambda note: note or "", True)


def codec_of(tp: Any) -> Codec:
    """The codec of an annotation (cached)."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    try:
        codec = _CODECS.get(tp)
    except TypeError:  # unhashable: a union of annotated types carries pydantic's metadata
        return _compile(tp)
    if codec is None:
        codec = _CODECS[tp] = _compile(tp)
    return codec


def _compile(tp: Any) -> Codec:
    if tp in _PLAIN or tp is None or (isinstance(tp, type) and issubclass(tp, Enum)):
        return Codec(tp, None, None, True)
    if tp in _FAMILIES:
        return _family(_FAMILIES[tp])
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return _optional(args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return _sequence(tuple, codec_of(args[0]))
        return _fixed_tuple([codec_of(arg) for arg in args])
    if origin in (list, set, frozenset, deque):
        return _sequence(origin, codec_of(args[0]))
    if origin in (dict, Mapping):
        return _mapping(codec_of(args[0]), codec_of(args[1]), read_only=origin is Mapping)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _record(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass(tp)
    if isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields"):
        return _named_tuple(tp)
    raise TypeError(f"{tp!r} is not a type of saved state")


def _optional(args: tuple[Any, ...]) -> Codec:
    members = [arg for arg in args if arg is not type(None)]
    if len(members) != 1 or len(args) != 2:
        raise TypeError(f"only `T | None` unions are saved, not {args}")
    inner = codec_of(members[0])
    out, back = inner.out, inner.back
    return Codec(
        typing.Optional[inner.wire],  # noqa: UP045 (the wire type may be a typing.Union)
        None if out is None else lambda value: None if value is None else out(value),
        None if back is None else lambda value: None if value is None else back(value),
        inner.immutable,
    )


def _sequence(kind: Any, item: Codec) -> Codec:
    """list, tuple, set, frozenset, deque: a MessagePack array. Sets are written sorted, so
    that equal sets make equal bytes; a deque takes its `maxlen` from where it is kept."""
    if kind is tuple:
        wire: Any = tuple[item.wire, ...]
    elif kind is deque:
        wire = list[item.wire]
    else:
        wire = kind[item.wire]
    convert, convert_back = item.out, item.back
    out: Callable[[Any], Any] | None = None
    if kind in (set, frozenset):
        out = sorted if convert is None else lambda value: sorted(map(convert, value))
    elif convert is not None:
        out = lambda value: [convert(x) for x in value]  # noqa: E731
    back: Callable[[Any], Any] | None = None
    if convert_back is not None:
        back = lambda value: kind(map(convert_back, value))  # noqa: E731
    elif kind is deque:
        back = deque
    return Codec(wire, out, back, kind in (tuple, frozenset) and item.immutable)


def _fixed_tuple(items: list[Codec]) -> Codec:
    outs = [item.out for item in items]
    backs = [item.back for item in items]
    out = None
    if any(outs):
        out = lambda value: [f(x) if f else x for f, x in zip(outs, value, strict=True)]  # noqa: E731
    back = None
    if any(backs):
        back = lambda value: tuple(f(x) if f else x for f, x in zip(backs, value, strict=True))  # noqa: E731
    wire = tuple[tuple(item.wire for item in items)]  # type: ignore[misc]
    return Codec(wire, out, back, all(item.immutable for item in items))


def _mapping(key: Codec, value: Codec, *, read_only: bool) -> Codec:
    """A MessagePack map; a `Mapping` comes back read-only (a mappingproxy)."""
    if key.out is not None or key.back is not None:
        raise TypeError(f"{key.wire!r} cannot key a saved map")
    convert, convert_back = value.out, value.back
    out = None
    if convert is not None:
        out = lambda mapping: {k: convert(v) for k, v in mapping.items()}  # noqa: E731
    back: Callable[[Any], Any] | None = None
    if convert_back is not None:
        back = lambda mapping: {k: convert_back(v) for k, v in mapping.items()}  # noqa: E731
    if read_only:
        plain = back or dict
        back = lambda mapping: types.MappingProxyType(plain(mapping))  # noqa: E731
    return Codec(dict[key.wire, value.wire], out, back, read_only and value.immutable)


# What `BaseModel.model_construct` sets on an instance, as schemas/compiled.py sets them: a
# record read back from saved state was validated when it was made, and every field is in the
# bytes (or takes its default), so one fields set serves every instance of a class.
_new = object.__new__
_set = object.__setattr__
_SET_DICT = BaseModel.__dict__["__dict__"].__set__
_SET_FIELDS = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_SET_EXTRA = BaseModel.__dict__["__pydantic_extra__"].__set__
_SET_PRIVATE = BaseModel.__dict__["__pydantic_private__"].__set__


_MIRRORS: dict[type[BaseModel], type[msgspec.Struct]] = {}


def _record(cls: type[BaseModel]) -> Codec:
    """A record: a map of its fields by name (those at their default left out), written and
    read through a msgspec mirror of the model (so decimals, enums and nested records are
    decoded natively), then built without validation."""
    fields: list[tuple[Any, ...]] = []
    converters: list[tuple[str, Callable[[Any], Any]]] = []
    for name, info in cls.model_fields.items():
        codec = codec_of(info.annotation)
        if codec.out is not None:
            raise TypeError(f"{cls.__name__}.{name}: a record's fields are written as they are")
        if info.is_required():
            fields.append((name, codec.wire))
        elif info.default_factory is not None:
            fields.append((name, codec.wire, msgspec.field(default_factory=info.default_factory)))  # type: ignore[arg-type]
        else:
            fields.append((name, codec.wire, info.default))
        if codec.back is not None:
            converters.append((name, codec.back))
    mirror = msgspec.defstruct(cls.__name__, fields, kw_only=True, omit_defaults=True, gc=False)
    _MIRRORS[cls] = mirror
    fields_set = set(cls.model_fields)
    as_dict = msgspec.structs.asdict

    def back(decoded: Any) -> BaseModel:
        values = as_dict(decoded)
        for name, convert in converters:
            values[name] = convert(values[name])
        model = _new(cls)
        _SET_DICT(model, values)
        _SET_FIELDS(model, fields_set)
        _SET_EXTRA(model, None)
        _SET_PRIVATE(model, None)
        return model

    return Codec(mirror, None, back, True)


def _dataclass(cls: type, tag: str | None = None) -> Codec:
    """A dataclass: a map of its fields by name. msgspec reads and writes it as it is where
    every field is of a type it reads and writes as it is; else through a mirror of it."""
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    if any(not field.init for field in fields):
        raise TypeError(f"{cls.__name__}: a saved dataclass has no init=False field")
    codecs = {field.name: _field_codec(field, hints[field.name]) for field in fields}
    immutable = cls.__dataclass_params__.frozen and all(c.immutable for c in codecs.values())  # type: ignore[attr-defined]
    if tag is None and all(c.out is None and c.back is None for c in codecs.values()):
        return Codec(cls, None, None, immutable)
    mirror = msgspec.defstruct(
        cls.__name__,
        [(field.name, codecs[field.name].wire, _default(field)) for field in fields],
        kw_only=True,
        tag=tag,
        tag_field=TAG_FIELD if tag is not None else None,
        omit_defaults=True,
        gc=False,
    )
    return Codec(mirror, _writer(mirror, codecs), _builder(cls, codecs), immutable)


def _named_tuple(cls: type) -> Codec:
    """A named tuple: a map of its fields by name, not an array (msgspec's own way)."""
    hints = typing.get_type_hints(cls)
    names: tuple[str, ...] = cls._fields  # type: ignore[attr-defined]
    defaults: dict[str, Any] = cls._field_defaults  # type: ignore[attr-defined]
    codecs = {name: codec_of(hints[name]) for name in names}
    mirror = msgspec.defstruct(
        cls.__name__,
        [(name, codecs[name].wire, defaults.get(name, msgspec.NODEFAULT)) for name in names],
        kw_only=True,
        omit_defaults=True,
        gc=False,
    )
    writer = _writer(mirror, codecs)
    backs = [codecs[name].back for name in names]
    fields_of = msgspec.structs.astuple

    def back(decoded: Any) -> Any:
        return cls(*(f(v) if f else v for f, v in zip(backs, fields_of(decoded), strict=True)))

    return Codec(mirror, writer, back, all(c.immutable for c in codecs.values()))


def _family(classes: Mapping[str, type]) -> Codec:
    """A value of one of several classes: each a map with its tag, read by the tag."""
    outs: dict[type, Callable[[Any], Any]] = {}
    backs: dict[type, Callable[[Any], Any]] = {}
    immutable = True
    for tag, cls in classes.items():
        codec = _dataclass(cls, tag)
        assert codec.out is not None and codec.back is not None
        outs[cls], backs[codec.wire] = codec.out, codec.back
        immutable = immutable and codec.immutable
    return Codec(
        typing.Union[tuple(backs)],  # noqa: UP007 (a union of classes made at run time)
        lambda value: outs[type(value)](value),
        lambda decoded: backs[type(decoded)](decoded),
        immutable,
    )


def _field_codec(field: dataclasses.Field[Any], hint: Any) -> Codec:
    """A field's codec; a deque field takes the `maxlen` of its default."""
    codec = codec_of(hint)
    if typing.get_origin(hint) is deque and field.default_factory is not dataclasses.MISSING:
        maxlen = field.default_factory().maxlen
        convert = codec.back
        assert convert is not None
        return codec._replace(back=lambda value: deque(convert(value), maxlen))
    return codec


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return msgspec.field(default_factory=field.default_factory)
    return msgspec.NODEFAULT


def _writer(mirror: type, codecs: dict[str, Codec]) -> Callable[[Any], Any]:
    """A dataclass's or a named tuple's mirror, which msgspec writes (its tag with it, fields
    at their default left out): straight-line code made once per class, one keyword a field."""
    names = {name: f"_c{index}" for index, name in enumerate(codecs)}
    fields = ", ".join(
        f"{name}={names[name]}(value.{name})" if codec.out else f"{name}=value.{name}"
        for name, codec in codecs.items()
    )
    namespace = {"mirror": mirror} | {names[n]: c.out for n, c in codecs.items() if c.out}
    return _generated(f"def out(value):\n    return mirror({fields})\n", namespace, "out")


def _builder(cls: type, codecs: dict[str, Codec]) -> Callable[[Any], Any]:
    """A dataclass from its decoded mirror, built as a restore builds it: fields set as they
    are, no `__init__`; straight-line code made once per class."""
    namespace: dict[str, Any] = {"new": _new, "cls": cls}
    lines = ["def back(decoded):", "    value = new(cls)"]
    slotted = "__slots__" in cls.__dict__
    for index, (name, codec) in enumerate(codecs.items()):
        read = f"decoded.{name}"
        if codec.back is not None:
            namespace[f"_b{index}"] = codec.back
            read = f"_b{index}({read})"
        if slotted:
            slot = next(base.__dict__[name] for base in cls.__mro__ if name in base.__dict__)
            namespace[f"_s{index}"] = slot.__set__  # the slot's own setter
            lines.append(f"    _s{index}(value, {read})")
        else:
            lines.append(f"    fields[{name!r}] = {read}")
    if not slotted:
        lines.insert(2, "    fields = value.__dict__")
    lines.append("    return value")
    return _generated("\n".join(lines) + "\n", namespace, "back")


def _generated(source: str, namespace: dict[str, Any], name: str) -> Callable[[Any], Any]:
    exec(compile(source, f"<streams.memory {name}>", "exec"), namespace)
    function: Callable[[Any], Any] = namespace[name]
    return function


def _enc_hook(value: Any) -> Any:
    """What msgspec does not write by itself: records as their mirrors, read-only mappings and
    deques as what they hold."""
    mirror = _MIRRORS.get(type(value))
    if mirror is not None:
        return mirror(**value.__dict__)
    if isinstance(value, BaseModel):
        codec_of(type(value))
        return _MIRRORS[type(value)](**value.__dict__)
    if isinstance(value, types.MappingProxyType):
        return dict(value)
    if isinstance(value, deque):
        return list(value)
    raise NotImplementedError(f"{type(value).__name__} is not a type of saved state")


_ENCODER = msgspec.msgpack.Encoder(enc_hook=_enc_hook)
pack = _ENCODER.encode
_DECODERS: dict[Any, Callable[[bytes], Any]] = {}


def decoder(wire: Any) -> Callable[[bytes], Any]:
    """The decode function of a wire type (cached: a decoder is made once per type)."""
    decode = _DECODERS.get(wire)
    if decode is None:
        decode = _DECODERS[wire] = msgspec.msgpack.Decoder(wire).decode
    return decode


def encode_value(tp: Any, value: Any) -> bytes:
    """The bytes a value of type `tp` is saved as (one entry's value, but a ledger's place)."""
    out = codec_of(tp).out
    return pack(value if out is None else out(value))


def decode_value(tp: Any, data: bytes) -> Any:
    """A value of type `tp` from the bytes it was saved as."""
    codec = codec_of(tp)
    value = msgspec.msgpack.decode(data, type=codec.wire)
    return value if codec.back is None else codec.back(value)
