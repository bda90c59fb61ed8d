"""Reason codes: one upper-case code per rule, each with a human message template.

Codes travel as strings (`reason_code` fields, or `"CODE: message"` in a `reason`), never as
an Avro enum, so a new rule needs no schema change. Each core subclasses `ReasonCode` with
its own rules (`RejectReason` in risk, `VenueReason` in the simulated venue).
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ReasonCode"]


class ReasonCode(StrEnum):
    """Members are `NAME = "NAME", "message template with {facts}"`."""

    template: str

    def __new__(cls, code: str, template: str) -> ReasonCode:
        member = str.__new__(cls, code)
        member._value_ = code
        member.template = template
        return member

    def message(self, **facts: object) -> str:
        """The template filled with the facts of one case."""
        return self.template.format(**facts)
