"""Each pydantic model and its Avro record agree field for field: names, types, defaults."""

from __future__ import annotations

import types
import typing
from decimal import Decimal
from enum import StrEnum
from typing import Any, Union

import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from fillstream.schemas.contracts import current_schema
from fillstream.schemas.decimals import LOGICAL_TYPE
from fillstream.schemas.models import MODELS
from fillstream.schemas.topics import CATALOG

_PRIMITIVE = {str: "string", int: ("int", "long"), float: "double", bool: "boolean", bytes: "bytes"}


def _strip(annotation: Any) -> Any:
    """Remove Annotated metadata."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _named(schema: Any, named: dict[str, Any]) -> Any:
    """Resolve a by-name reference to a type defined earlier in the same schema."""
    if isinstance(schema, str) and schema in named:
        return named[schema]
    if isinstance(schema, dict) and schema.get("type") in {"record", "enum"}:
        named[f"fillstream.{schema['name']}"] = schema
    return schema


def _problems(annotation: Any, schema: Any, where: str, named: dict[str, Any]) -> list[str]:
    schema = _named(schema, named)
    annotation = _strip(annotation)
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if not (isinstance(schema, list) and schema[0] == "null" and len(schema) == 2):
            return [f"{where}: optional in the model, {schema!r} in Avro"]
        assert len(members) == 1
        return _problems(members[0], schema[1], where, named)
    if isinstance(schema, list):
        return [f"{where}: nullable in Avro, required in the model"]
    if (
        isinstance(schema, dict)
        and isinstance(schema.get("type"), (dict, str))
        and "logicalType" in schema
    ):
        if annotation is Decimal and schema["logicalType"] == LOGICAL_TYPE:
            return []
        return [f"{where}: {annotation} vs logical type {schema['logicalType']}"]
    if annotation is Decimal:
        return [f"{where}: Decimal in the model, {schema!r} in Avro"]
    if origin is list:
        if not (isinstance(schema, dict) and schema["type"] == "array"):
            return [f"{where}: list vs {schema!r}"]
        return _problems(typing.get_args(annotation)[0], schema["items"], f"{where}[]", named)
    if origin is dict:
        if not (isinstance(schema, dict) and schema["type"] == "map"):
            return [f"{where}: dict vs {schema!r}"]
        return _problems(typing.get_args(annotation)[1], schema["values"], f"{where}{{}}", named)
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        if not (isinstance(schema, dict) and schema["type"] == "enum"):
            return [f"{where}: enum vs {schema!r}"]
        symbols = [member.value for member in annotation]
        if symbols != schema["symbols"] or annotation.__name__ != schema["name"]:
            return [
                f"{where}: {annotation.__name__}{symbols} vs {schema['name']}{schema['symbols']}"
            ]
        return []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if not (isinstance(schema, dict) and schema["type"] == "record"):
            return [f"{where}: model vs {schema!r}"]
        return _record_problems(annotation, schema, named, f"{where}.")
    expected = _PRIMITIVE.get(annotation)
    if expected is None or schema not in (expected if isinstance(expected, tuple) else (expected,)):
        return [f"{where}: {annotation} vs {schema!r}"]
    return []


def _record_problems(
    model: type[BaseModel], schema: dict[str, Any], named: dict[str, Any], prefix: str = ""
) -> list[str]:
    problems = []
    if model.__name__ != schema["name"]:
        problems.append(f"{prefix}model {model.__name__} vs record {schema['name']}")
    avro_fields = {field["name"]: field for field in schema["fields"]}
    if list(model.model_fields) != list(avro_fields):
        problems.append(f"{prefix}fields differ: {list(model.model_fields)} vs {list(avro_fields)}")
    hints = typing.get_type_hints(model, include_extras=True)
    for name, field in avro_fields.items():
        if name not in model.model_fields:
            continue
        info = model.model_fields[name]
        problems += _problems(hints[name], field["type"], f"{prefix}{name}", named)
        model_default = info.default_factory() if info.default_factory else info.default  # type: ignore[call-arg]
        if "default" in field:
            if model_default is PydanticUndefined or model_default != field["default"]:
                problems.append(
                    f"{prefix}{name}: default {model_default!r} vs {field['default']!r}"
                )
        elif model_default is not PydanticUndefined:
            problems.append(f"{prefix}{name}: the model has a default, the schema none")
    return problems


@pytest.mark.parametrize("spec", CATALOG, ids=lambda spec: spec.name)
def test_model_and_schema_agree_field_for_field(spec):
    assert _record_problems(MODELS[spec.record], current_schema(spec.record), {}) == []


def test_the_checker_notices_a_disagreement():
    """Guard the guard: a schema with one field made optional must not pass."""
    schema = current_schema("Trade")
    fields = [
        {**field, "type": ["null", field["type"]], "default": None}
        if field["name"] == "trade_id"
        else field
        for field in schema["fields"]
    ]
    problems = _record_problems(MODELS["Trade"], {**schema, "fields": fields}, {})
    assert problems == [
        "trade_id: nullable in Avro, required in the model",
        "trade_id: default PydanticUndefined vs None",
    ]
