"""Arguments several commands take: a catalog topic's name, a positive decimal."""

from __future__ import annotations

from decimal import Decimal

import typer

from fillstream.cli.console import errors
from fillstream.schemas.topics import TopicSpec, find

__all__ = ["positive_decimal", "topic_spec"]


def topic_spec(name: str) -> TopicSpec:
    try:
        return find(name)
    except KeyError as error:
        errors.print(f"[red]{error.args[0]}[/]")
        raise typer.Exit(2) from None


def positive_decimal(option: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise ValueError(f"{option} must be a number, not {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{option} must be a positive number, not {text!r}")
    return value
