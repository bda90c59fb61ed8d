"""What every table of the configuration checks first: that it holds only keys it knows.

A misspelt key, or one from another system's file, would otherwise be read as absent and
silently become a default (no limit, no fee): each table refuses it instead, naming it and
the keys it allows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["refuse_unknown"]


def refuse_unknown(
    entry: Mapping[str, Any],
    known: Iterable[str],
    where: str,
    error: type[ValueError] = ValueError,
    *,
    what: str = "field",
) -> None:
    """Raise `error` naming each key of `entry` not in `known`, and listing those allowed;
    `where` (the table's name) leads the message unless empty."""
    allowed = set(known)
    unknown = sorted(set(entry) - allowed)
    if unknown:
        listed = ", ".join(sorted(allowed))
        lead = f"{where}: " if where else ""
        raise error(f"{lead}unknown {what}(s) {', '.join(unknown)} (allowed: {listed})")
