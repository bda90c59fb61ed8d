"""What the routes of every area answer with: a record as JSON, a 404 naming what is missing,
and the id parameter of a path."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel

from fillstream.api.envelope import ApiError, ErrorCode

__all__ = ["PathId", "as_json", "not_found"]

PathId = Annotated[str, Path(min_length=1, max_length=128)]


def as_json(record: BaseModel) -> dict[str, Any]:
    return record.model_dump(mode="json")


def not_found(what: str, name: str) -> ApiError:
    return ApiError(404, ErrorCode.NOT_FOUND, f"no {what} {name!r}")
