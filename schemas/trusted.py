"""Records the pipeline builds from values that are already valid, built without validation.

A contract's model validates at the edges (API, CLI, feeds, the gateway's venues). Inside the
pipeline a stage builds most of its records from state made of records that were validated
once already (the OMS's order state, the simulated venue's orders, the router's plan): running
pydantic over them again checked nothing new and cost the desk about a tenth of its CPU
(docs/BENCHMARKS.md). `trusted(Model, **fields)` builds the record as the compiled decoder
does (`schemas/compiled.py`): the fields as given, in the model's order, its defaults for the
rest, and the attributes pydantic sets on a new instance. The record is equal to, hashes as,
copies and encodes like a validated one.

What it does not do is check: a value of the wrong type, or out of the field's range, goes
through. So only values that came out of validated records (or arithmetic on them) belong
here. `CHECK` (on in the test suites) validates every record built here as well and raises
where the two differ, value or type.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["CHECK", "trusted"]

M = TypeVar("M", bound=BaseModel)

CHECK = False  # validate each record as well, and compare (the test suites set it)

_new = object.__new__
_SET_DICT = BaseModel.__dict__["__dict__"].__set__
_SET_FIELDS = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_SET_EXTRA = BaseModel.__dict__["__pydantic_extra__"].__set__
_SET_PRIVATE = BaseModel.__dict__["__pydantic_private__"].__set__

_REQUIRED = object()  # a required field's place in a template (or one made by a factory)


class _Shape:
    """A model's fields: a template in their order (defaults, or `_REQUIRED`), those whose
    default is made afresh for each instance, and every name (the fields set)."""

    __slots__ = ("factories", "names", "required", "template")

    def __init__(self, cls: type[BaseModel]) -> None:
        fields = cls.model_fields
        if cls.__pydantic_post_init__ or cls.__private_attributes__:
            raise TypeError(f"{cls.__name__} is more than its fields: validate it")
        self.template: dict[str, Any] = {}
        self.factories: list[tuple[str, Any]] = []
        for name, info in fields.items():
            if info.is_required():
                self.template[name] = _REQUIRED
            elif info.default_factory is not None:
                self.template[name] = _REQUIRED
                self.factories.append((name, info.default_factory))
            else:
                self.template[name] = info.default
        self.required = frozenset(name for name, info in fields.items() if info.is_required())
        self.names = frozenset(fields)


_SHAPES: dict[type, _Shape] = {}


def trusted(cls: type[M], /, **fields: Any) -> M:
    """A `cls` record of `fields`, without validation (see the module's docstring)."""
    shape = _SHAPES.get(cls)
    if shape is None:
        shape = _SHAPES[cls] = _Shape(cls)
    values = shape.template.copy()
    values.update(fields)  # in the model's order: the template holds every field already
    for name, factory in shape.factories:
        if name not in fields:
            values[name] = factory()
    if len(values) != len(shape.template) or not fields.keys() >= shape.required:
        missing = sorted(shape.required - fields.keys())
        unknown = sorted(fields.keys() - shape.names)
        raise TypeError(f"{cls.__name__}: missing {missing}, unknown {unknown}")
    record = _new(cls)
    _SET_DICT(record, values)
    _SET_FIELDS(record, set(fields))
    _SET_EXTRA(record, None)
    _SET_PRIVATE(record, None)
    if CHECK:
        _check(cls, record, fields)
    return record


def _check(cls: type[BaseModel], record: BaseModel, fields: dict[str, Any]) -> None:
    validated = cls(**fields)
    for name, value in validated.__dict__.items():
        built = record.__dict__[name]
        if built != value or type(built) is not type(value):
            raise AssertionError(
                f"{cls.__name__}.{name}: built unvalidated as {built!r} "
                f"({type(built).__name__}), validated as {value!r} ({type(value).__name__})"
            )
    if record != validated or list(record.__dict__) != list(validated.__dict__):
        raise AssertionError(f"{cls.__name__}: {record!r} != validated {validated!r}")
