"""A stage's durable memory as keyed entries: what a save writes and a restore reads.

A live processor keeps each partition's memory in a compacted changelog topic, one record per
key, so a save costs what changed and a restore reads the latest value of each key. A stage
names what it remembers in `durable` (attribute paths, a dotted one reaching into a member);
each attribute's annotation says how it is kept:

- a `Ledger` or a `RecentIds`: one entry per key, its value with its place in the ledger (a
  number, oldest lowest), so that a restore gives the ledger back its order;
- a dict: one entry per item, a dict of dicts one per innermost item; an item that holds a
  `durable` of its own (a simulated venue, an account) is kept as entries under its key;
- a list kept in time order and marked `Annotated[list[...], Series(...)]` (a market tape):
  one entry per bucket of time, so that an entry stays small however long the list grows;
- anything else: one entry.

Keys are text: the attribute's path (leading underscores left out), `/`, the item's key, with
`/` and `%` escaped in every key but the last. Values are MessagePack, written by msgspec from
the annotations: records and dataclasses as maps of their fields by name, decimals as text,
enums by value, a value of one of several classes (an algorithm's plan) as a map with a stable
tag (`kind`) from a registry. docs/CONTRACTS.md ("Processor state") is the reference.

A save finds what changed without looking at what did not, where the memory is large: a ledger
notes the keys set, removed and touched (changed in place by their owner); an item of an
immutable type that is still the object last written is skipped; any other is encoded, and
written if its bytes changed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import types
import typing
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from operator import attrgetter
from typing import Any, NamedTuple
from urllib.parse import unquote

import msgspec
from pydantic import BaseModel

from fillstream.domain.ids import RecentIds
from fillstream.domain.ledger import Ledger
from fillstream.streams.execution.algorithms import PLANS
from fillstream.streams.execution.algorithms.base import Plan
from fillstream.streams.stages import Stage

__all__ = ["Codec", "Memory", "Series", "codec_of", "decode_value", "encode_value"]

TAG_FIELD = "kind"

# The classes a value of one of several may be, by the tag each carries in saved bytes.
_FAMILIES: dict[Any, Mapping[str, type]] = {Plan: PLANS}


@dataclass(frozen=True)
class Series:
    """Marks a list kept in time order (`time` of each item, µs) as saved one entry per
    `bucket_us` of time, keyed by the bucket's start. Its items are immutable: a bucket whose
    items are the same objects as when last written is not written again."""

    time: Callable[[Any], int]
    bucket_us: int


class Memory:
    """A stage's durable memory as keyed entries: what a save writes and a restore reads.

    One `Memory` per stage: a ledger's changes are taken once, by whoever asks first.
    """

    def __init__(self, stage: Stage) -> None:
        self._stage = stage
        self._parts = _parts_of(stage, "")

    def changes(self) -> tuple[dict[bytes, bytes], list[bytes]]:
        """The entries set since the last call (key -> encoded value) and the keys removed.
        The first call on a fresh Memory returns every entry."""
        puts: dict[bytes, bytes] = {}
        removed: list[bytes] = []
        with _no_collection():
            for part in self._parts:
                part.changes(puts, removed)
        return puts, [key for key in removed if key not in puts]

    def restore(self, entries: Mapping[bytes, bytes]) -> None:
        """Give the freshly built stage (the one passed at init) the memory these entries hold
        (the latest value of each key, as read back from the changelog); afterwards changes()
        reports only what the stage changes from then on.

        Keys this memory does not know (a part a later version added, or dropped) are left
        alone, as a reader ignores a field it does not know.
        """
        with _no_collection():
            entries = {key.decode(): value for key, value in entries.items()}
            _restore_parts(self._stage, self._parts, entries)


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """The cyclic garbage collector waits until the end: a restore (and a first save) makes
    objects by the hundred thousand and frees almost none, and the collections they would
    start on the way took two thirds of a restore's time."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


# -- keys ----------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    """A key's text as one segment of a longer key: `/` and `%` percent-escaped."""
    if "/" in text or "%" in text:
        return text.replace("%", "%25").replace("/", "%2F")
    return text


@functools.lru_cache(maxsize=4096)  # the same few (venues, symbols) over and over
def _unescape(segment: str) -> str:
    return unquote(segment) if "%" in segment else segment


class _Key(NamedTuple):
    """How the keys of a mapping are written in entry keys and read back."""

    text: Callable[[Any], str]
    parse: Callable[[str], Any]


def _key_of(tp: Any) -> _Key:
    if tp is str:
        return _Key(str, str)
    if tp is int:
        return _Key(str, int)
    if tp is Decimal:
        return _Key(str, Decimal)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return _Key(attrgetter("value"), tp)
    if typing.get_origin(tp) is tuple and all(arg is str for arg in typing.get_args(tp)):
        size = len(typing.get_args(tp))

        def text(key: tuple[str, ...]) -> str:
            return "/".join([*map(_escape, key[:-1]), key[-1]])

        def parse(text: str) -> tuple[str, ...]:
            *head, last = text.split("/", size - 1)
            return (*map(_unescape, head), last)

        return _Key(text, parse)
    raise TypeError(f"{tp!r} cannot key saved entries (str, int, Decimal, an enum, str tuples)")


# -- values --------------------------------------------------------------------------------------


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
_NOTE = Codec(str | None, None, lambda note: note or "", True)


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
_encode = _ENCODER.encode
_DECODERS: dict[Any, Callable[[bytes], Any]] = {}


def _decoder(wire: Any) -> Callable[[bytes], Any]:
    """The decode function of a wire type (cached: a decoder is made once per type)."""
    decode = _DECODERS.get(wire)
    if decode is None:
        decode = _DECODERS[wire] = msgspec.msgpack.Decoder(wire).decode
    return decode


def encode_value(tp: Any, value: Any) -> bytes:
    """The bytes a value of type `tp` is saved as (one entry's value, but a ledger's place)."""
    out = codec_of(tp).out
    return _encode(value if out is None else out(value))


def decode_value(tp: Any, data: bytes) -> Any:
    """A value of type `tp` from the bytes it was saved as."""
    codec = codec_of(tp)
    value = msgspec.msgpack.decode(data, type=codec.wire)
    return value if codec.back is None else codec.back(value)


# -- parts ---------------------------------------------------------------------------------------


class _Slot:
    """An attribute reached by a dotted path from an owner, looked up anew at each use (a
    member may be replaced)."""

    def __init__(self, owner: Any, path: str) -> None:
        holder, _, self.attribute = path.rpartition(".")
        self.owner = owner
        self._holder = attrgetter(holder) if holder else None

    def holder(self) -> Any:
        return self._holder(self.owner) if self._holder is not None else self.owner

    def get(self) -> Any:
        return getattr(self.holder(), self.attribute)

    def set(self, value: Any) -> None:
        setattr(self.holder(), self.attribute, value)


class _Part:
    """What one durable attribute is as entries. `changes` adds what changed since the last
    call (everything on the first); `restore` takes the part's entries, by the rest of their
    key after the part's name and `/` ("" for the part's own entry), and counts the state it
    leaves as saved; `keys` are the keys of what it last wrote."""

    def __init__(self, name: str) -> None:
        self.name = name  # the whole name, under the names of the items it is in
        self.local = name.rpartition("/")[2]  # its name among its owner's parts

    def changes(self, puts: dict[bytes, bytes], removed: list[bytes]) -> None:
        raise NotImplementedError

    def restore(self, entries: dict[str, bytes]) -> None:
        raise NotImplementedError

    def keys(self) -> Iterator[bytes]:
        raise NotImplementedError


_NOTHING: Any = object()


class _ValuePart(_Part):
    """One entry, written when its bytes change (not encoded again while the value is the
    same object, if of an immutable type)."""

    def __init__(self, name: str, slot: _Slot, codec: Codec) -> None:
        super().__init__(name)
        self.slot, self.codec = slot, codec
        self.key = name.encode()
        self.decode = _decoder(codec.wire)
        self.last: Any = _NOTHING
        self.bytes: bytes | None = None

    def changes(self, puts: dict[bytes, bytes], removed: list[bytes]) -> None:
        value = self.slot.get()
        if value is self.last and self.codec.immutable:
            return
        data = self._encode(value)
        if data != self.bytes:
            puts[self.key] = data
        self.last, self.bytes = value, data

    def _encode(self, value: Any) -> bytes:
        out = self.codec.out
        return _encode(value if out is None else out(value))

    def restore(self, entries: dict[str, bytes]) -> None:
        data = entries.get("")
        if data is not None:
            value = self.decode(data)
            if self.codec.back is not None:
                value = self.codec.back(value)
            current = self.slot.get()
            if isinstance(current, deque):
                value = deque(value, current.maxlen)
            self.slot.set(value)
        value = self.slot.get()
        self.last, self.bytes = value, self._encode(value)

    def keys(self) -> Iterator[bytes]:
        if self.bytes is not None:
            yield self.key


class _Held(dict[Any, Any]):
    """A dict's items as last written, `(value, bytes, key text)` by key, with the identities
    of its keys and values then: while they are the same objects (of immutable types), the
    items are as written, and a save need not look at each."""

    __slots__ = ("shape",)

    def __init__(self) -> None:
        super().__init__()
        self.shape: tuple[list[int], list[int]] | None = None


class _ItemsPart(_Part):
    """A dict, one entry per item; a dict of dicts, one per innermost item (as many levels of
    keys as `keys` has). An item is written when its bytes or its key's text change; items of
    an immutable type are not encoded again while they are the same objects."""

    def __init__(self, name: str, slot: _Slot, keys: list[_Key], codec: Codec) -> None:
        super().__init__(name)
        self.slot, self.key_types, self.codec = slot, keys, codec
        self.decode = _decoder(codec.wire)
        self.last: dict[Any, Any] = {}  # as the dict, a `_Held` at the innermost level

    def changes(self, puts: dict[bytes, bytes], removed: list[bytes]) -> None:
        self.last = self._diff(self.slot.get(), self.last, self.name + "/", 0, puts, removed)

    def _diff(
        self,
        current: dict[Any, Any],
        last: dict[Any, Any],
        prefix: str,
        level: int,
        puts: dict[bytes, bytes],
        removed: list[bytes],
    ) -> dict[Any, Any]:
        text = self.key_types[level].text
        if level + 1 < len(self.key_types):
            kept: dict[Any, Any] = {}
            for key, inner in current.items():
                below = f"{prefix}{_escape(text(key))}/"
                kept[key] = self._diff(inner, last.get(key, {}), below, level + 1, puts, removed)
            for key in last.keys() - current.keys():
                removed.extend(self._keys(last[key], prefix, key, level))
            return kept
        immutable, out = self.codec.immutable, self.codec.out
        shape = None
        if immutable:
            shape = (list(map(id, current)), list(map(id, current.values())))
            if isinstance(last, _Held) and last.shape == shape:
                return last
        held = _Held()
        for key, value in current.items():
            before = last.get(key)
            if before is not None and before[0] is value and immutable:
                held[key] = before
                continue
            key_text = text(key)
            data = _encode(value if out is None else out(value))
            if before is None or before[1] != data or before[2] != key_text:
                puts[(prefix + key_text).encode()] = data
                if before is not None and before[2] != key_text:
                    removed.append((prefix + before[2]).encode())
            held[key] = (value, data, key_text)
        for key in last.keys() - current.keys():
            removed.append((prefix + last[key][2]).encode())
        held.shape = shape
        return held

    def _keys(self, last: Any, prefix: str, key: Any, level: int) -> Iterator[bytes]:
        if level + 1 < len(self.key_types):
            below = f"{prefix}{_escape(self.key_types[level].text(key))}/"
            for inner, value in last.items():
                yield from self._keys(value, below, inner, level + 1)
        else:
            yield (prefix + last[2]).encode()

    def restore(self, entries: dict[str, bytes]) -> None:
        current = self.slot.get()
        depth = len(self.key_types)
        back = self.codec.back
        for rest, data in entries.items():
            segments = rest.split("/", depth - 1)
            if len(segments) < depth:
                continue
            *outer, last = segments
            target = current
            for key_type, segment in zip(self.key_types, outer, strict=False):
                target = target.setdefault(key_type.parse(_unescape(segment)), {})
            value = self.decode(data)
            target[self.key_types[-1].parse(last)] = value if back is None else back(value)
        self.last = self._diff(current, {}, self.name + "/", 0, {}, [])

    def keys(self) -> Iterator[bytes]:
        for key, last in self.last.items():
            yield from self._keys(last, self.name + "/", key, 0)


class _SeriesPart(_Part):
    """A list in time order, one entry per bucket of time (see `Series`)."""

    def __init__(self, name: str, slot: _Slot, item: Any, series: Series) -> None:
        super().__init__(name)
        self.slot, self.series = slot, series
        self.codec = codec_of(list[item])  # type: ignore[valid-type]
        if not codec_of(item).immutable:
            raise TypeError(f"{name}: the items of a series are immutable, not {item!r}")
        self.decode = _decoder(self.codec.wire)
        self.prefix = name + "/"
        self.last: dict[int, tuple[list[int], list[Any]]] = {}  # by bucket: ids, items

    def changes(self, puts: dict[bytes, bytes], removed: list[bytes]) -> None:
        items = self.slot.get()
        time, size, out = self.series.time, self.series.bucket_us, self.codec.out
        last, kept = self.last, {}
        start, count = 0, len(items)
        while start < count:
            bucket = time(items[start]) // size * size
            end = bisect_left(items, bucket + size, start, count, key=time)
            chunk = items[start:end]
            ids = list(map(id, chunk))
            before = last.get(bucket)
            if before is None or before[0] != ids:
                puts[f"{self.prefix}{bucket}".encode()] = _encode(
                    chunk if out is None else out(chunk)
                )
            kept[bucket] = (ids, chunk)
            start = end
        for bucket in last.keys() - kept.keys():
            removed.append(f"{self.prefix}{bucket}".encode())
        self.last = kept

    def restore(self, entries: dict[str, bytes]) -> None:
        back = self.codec.back
        chunks = []
        for rest, data in entries.items():
            chunk = self.decode(data)
            chunks.append((int(rest), chunk if back is None else back(chunk)))
        chunks.sort(key=_place)
        items = self.slot.get()
        items[:] = [item for _, chunk in chunks for item in chunk]
        self.changes({}, [])

    def keys(self) -> Iterator[bytes]:
        for bucket in self.last:
            yield f"{self.prefix}{bucket}".encode()


class _LedgerPart(_Part):
    """A `Ledger` (or the ledger of a `RecentIds`), one entry per key: its value is its place
    (a number, in the ledger's order) and the ledger's value, `[place, value]`."""

    def __init__(
        self, name: str, get: Callable[[], Ledger[Any, Any]], key: _Key, codec: Codec
    ) -> None:
        super().__init__(name)
        self.get, self.key, self.codec = get, key, codec
        self.prefix = name + "/"
        self.decode = _decoder(tuple[int, codec.wire])
        self.ledger: Ledger[Any, Any] | None = None
        self.places: dict[Any, int] = {}
        self.next = 0

    def changes(self, puts: dict[bytes, bytes], removed: list[bytes]) -> None:
        ledger = self.get()
        places, prefix, text = self.places, self.prefix, self.key.text
        if ledger is not self.ledger:  # the first call, or a ledger put in the place of another
            ledger.take_changes()
            removed.extend((prefix + text(key)).encode() for key in places if key not in ledger)
            places.clear()
            self.ledger = ledger
            changed = added = list(ledger)
        else:
            changed, added, gone = ledger.take_changes()
            for key in gone:
                if places.pop(key, None) is not None:
                    removed.append((prefix + text(key)).encode())
        number = self.next
        for key in added:
            places[key] = number
            number += 1
        self.next = number
        out = self.codec.out
        if out is None:
            for key in changed:
                puts[(prefix + text(key)).encode()] = _encode((places[key], ledger[key]))
        else:
            for key in changed:
                puts[(prefix + text(key)).encode()] = _encode((places[key], out(ledger[key])))

    def restore(self, entries: dict[str, bytes]) -> None:
        ledger = self.get()
        decode, parse, back = self.decode, self.key.parse, self.codec.back
        rows = []
        for rest, data in entries.items():
            place, value = decode(data)
            rows.append((place, parse(rest), value if back is None else back(value)))
        rows.sort(key=_place)
        for _, key, value in rows:
            ledger[key] = value
        ledger.take_changes()
        self.ledger = ledger
        self.places = {key: place for place, key, _ in rows}
        self.next = rows[-1][0] + 1 if rows else 0
        for key in ledger:  # any the entries did not hold go after them
            if key not in self.places:
                self.places[key] = self.next
                self.next += 1

    def keys(self) -> Iterator[bytes]:
        for key in self.places:
            yield (self.prefix + self.key.text(key)).encode()


def _place(row: tuple[Any, ...]) -> int:
    return row[0]


class _NestedPart(_Part):
    """A dict of items that each name a `durable` of their own: each item's entries under
    its key (`name/key/...`). An item found in the entries but missing from the fresh stage
    is made with no arguments, or left out where its class needs some."""

    def __init__(self, name: str, slot: _Slot, key: _Key, cls: type) -> None:
        super().__init__(name)
        self.slot, self.key, self.cls = slot, key, cls
        self.children: dict[Any, tuple[Any, list[_Part]]] = {}

    def _parts(self, key: Any, item: Any) -> list[_Part]:
        held = self.children.get(key)
        if held is None or held[0] is not item:
            held = self.children[key] = (item, _parts_of(item, self._prefix(key)))
        return held[1]

    def _prefix(self, key: Any) -> str:
        return f"{self.name}/{_escape(self.key.text(key))}/"

    def changes(self, puts: dict[bytes, bytes], removed: list[bytes]) -> None:
        items = self.slot.get()
        for key, item in items.items():
            held = self.children.get(key)
            if held is not None and held[0] is not item:
                for part in held[1]:
                    removed.extend(part.keys())
            for part in self._parts(key, item):
                part.changes(puts, removed)
        for key in [key for key in self.children if key not in items]:
            for part in self.children.pop(key)[1]:
                removed.extend(part.keys())

    def restore(self, entries: dict[str, bytes]) -> None:
        items = self.slot.get()
        grouped: dict[Any, dict[str, bytes]] = {}
        for rest, data in entries.items():
            segment, _, inner = rest.partition("/")
            grouped.setdefault(self.key.parse(_unescape(segment)), {})[inner] = data
        for key, inner in grouped.items():
            if key not in items:
                try:
                    items[key] = self.cls()
                except TypeError:
                    continue  # configuration makes it (a venue no longer configured)
            item = items[key]
            _restore_parts(item, self._parts(key, item), inner)
        for key, item in items.items():
            if key not in grouped:
                _restore_parts(item, self._parts(key, item), {})

    def keys(self) -> Iterator[bytes]:
        for _, parts in self.children.values():
            for part in parts:
                yield from part.keys()


def _parts_of(owner: Any, prefix: str) -> list[_Part]:
    """The parts of what `owner` names durable, their names under `prefix`."""
    parts = []
    for path in owner.durable:
        slot = _Slot(owner, path)
        name = prefix + ".".join(segment.lstrip("_") for segment in path.split("."))
        parts.append(_part(name, slot, _hint(slot)))
    return parts


_HINTS: dict[type, dict[str, Any]] = {}


def _hint(slot: _Slot) -> Any:
    holder = type(slot.holder())
    hints = _HINTS.get(holder)
    if hints is None:
        hints = _HINTS[holder] = typing.get_type_hints(holder, include_extras=True)
    if slot.attribute not in hints:
        raise TypeError(f"{holder.__name__}.{slot.attribute} is durable but not annotated")
    return hints[slot.attribute]


def _part(name: str, slot: _Slot, hint: Any) -> _Part:
    if typing.get_origin(hint) is typing.Annotated:
        hint, *marks = typing.get_args(hint)
        series = [mark for mark in marks if isinstance(mark, Series)]
        if series and typing.get_origin(hint) is list:
            return _SeriesPart(name, slot, typing.get_args(hint)[0], series[0])
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Ledger:
        return _LedgerPart(name, slot.get, _key_of(args[0]), codec_of(args[1]))
    if hint is RecentIds:
        return _LedgerPart(name, lambda: slot.get().ledger, _key_of(str), _NOTE)
    if origin is dict:
        if isinstance(args[1], type) and hasattr(args[1], "durable"):
            return _NestedPart(name, slot, _key_of(args[0]), args[1])
        keys = [_key_of(args[0])]
        while typing.get_origin(args[1]) is dict:
            args = typing.get_args(args[1])
            keys.append(_key_of(args[0]))
        return _ItemsPart(name, slot, keys, codec_of(args[1]))
    return _ValuePart(name, slot, codec_of(hint))


def _restore_parts(owner: Any, parts: Iterable[_Part], entries: dict[str, bytes]) -> None:
    """Give each part its entries (keyed by the rest of their key), then let `owner` rebuild
    what it derives from its memory (`restored`, where it has one)."""
    grouped: dict[str, dict[str, bytes]] = {}
    for key, data in entries.items():
        name, _, rest = key.partition("/")
        grouped.setdefault(name, {})[rest] = data
    for part in parts:
        part.restore(grouped.get(part.local, {}))
    restored = getattr(owner, "restored", None)
    if restored is not None:
        restored()
