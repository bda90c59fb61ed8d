"""The three-phase commit of each slice, journaled so a restarted gateway knows where it stood.

    pre-commit    VALIDATED ──────────────┐        REFUSED (never sent)
    commit        SENDING (client order id = slice id, attempt n)
    post-commit   ACKNOWLEDGED (venue order id) | REJECTED | UNKNOWN (the create's fate unknown)
                  CANCELLING (a cancel the venue did not take yet, tried again until it ends)
    done          DONE (the order ended at the venue)

Legal steps:

    (none)       → VALIDATED | REFUSED
    VALIDATED    → SENDING | REFUSED          (refused late: circuit open, heartbeat stale)
    SENDING      → ACKNOWLEDGED | REJECTED | UNKNOWN | SENDING (the venue refused it outright,
                                                                e.g. rate limited: sent again)
    UNKNOWN      → ACKNOWLEDGED | REJECTED | SENDING (looked up, not there, sent again)
    ACKNOWLEDGED → DONE | CANCELLING
    CANCELLING   → DONE | CANCELLING

The gateway writes each entry before it acts on the step (SENDING before the HTTP call), so a
crash can lose an action, never a record of one. Each entry carries its slice, so the journal
can be compacted by slice id and still say everything recovery needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from fillstream.connectors.gateway.precommit import PreCommit
from fillstream.schemas.models import Slice

__all__ = [
    "JournalEntry",
    "JournalError",
    "LookupOutcome",
    "Phase",
    "Recovery",
    "RecoveryAction",
    "Step",
    "advance",
    "after_lookup",
    "begin",
    "latest",
    "recover",
]


class Phase(StrEnum):
    PRE_COMMIT = "pre_commit"
    COMMIT = "commit"
    POST_COMMIT = "post_commit"
    DONE = "done"


class Step(StrEnum):
    VALIDATED = "validated"
    REFUSED = "refused"
    SENDING = "sending"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    CANCELLING = "cancelling"
    DONE = "done"

    @property
    def phase(self) -> Phase:
        return _PHASES[self]

    @property
    def final(self) -> bool:
        return not _NEXT[self]


_PHASES = {
    Step.VALIDATED: Phase.PRE_COMMIT,
    Step.REFUSED: Phase.PRE_COMMIT,
    Step.SENDING: Phase.COMMIT,
    Step.ACKNOWLEDGED: Phase.POST_COMMIT,
    Step.REJECTED: Phase.POST_COMMIT,
    Step.UNKNOWN: Phase.POST_COMMIT,
    Step.CANCELLING: Phase.POST_COMMIT,
    Step.DONE: Phase.DONE,
}
_NEXT: dict[Step, frozenset[Step]] = {
    Step.VALIDATED: frozenset({Step.SENDING, Step.REFUSED}),
    Step.REFUSED: frozenset(),
    Step.SENDING: frozenset({Step.ACKNOWLEDGED, Step.REJECTED, Step.UNKNOWN, Step.SENDING}),
    Step.UNKNOWN: frozenset({Step.ACKNOWLEDGED, Step.REJECTED, Step.SENDING}),
    Step.ACKNOWLEDGED: frozenset({Step.DONE, Step.CANCELLING}),
    Step.CANCELLING: frozenset({Step.DONE, Step.CANCELLING}),
    Step.REJECTED: frozenset(),
    Step.DONE: frozenset(),
}


class JournalError(ValueError):
    """A step that cannot follow the slice's last one: a bug, or a journal out of order."""


@dataclass(frozen=True)
class JournalEntry:
    """One step of one slice. `attempt` counts the sends so far; times are µs UTC."""

    slice: Slice
    step: Step
    attempt: int
    timestamp: int
    venue_order_id: str | None = None
    reason: str | None = None

    @property
    def slice_id(self) -> str:
        """Also the venue's client order id."""
        return self.slice.slice_id

    @property
    def phase(self) -> Phase:
        return self.step.phase


def begin(slice_: Slice, decision: PreCommit, now_us: int) -> JournalEntry:
    """The pre-commit entry: validated, or refused with the decision's reason."""
    if decision.accepted:
        return JournalEntry(slice_, Step.VALIDATED, 0, now_us)
    return JournalEntry(slice_, Step.REFUSED, 0, now_us, reason=decision.reason)


def advance(
    entry: JournalEntry,
    step: Step,
    now_us: int,
    *,
    venue_order_id: str | None = None,
    reason: str | None = None,
) -> JournalEntry:
    """The entry after `entry`; a SENDING counts one more attempt, the venue's id carries on."""
    if step not in _NEXT[entry.step]:
        raise JournalError(f"slice {entry.slice_id}: {step} cannot follow {entry.step}")
    if step is Step.ACKNOWLEDGED and venue_order_id is None:
        raise JournalError(f"slice {entry.slice_id}: acknowledged needs the venue's order id")
    return replace(
        entry,
        step=step,
        attempt=entry.attempt + 1 if step is Step.SENDING else entry.attempt,
        timestamp=now_us,
        venue_order_id=venue_order_id or entry.venue_order_id,
        reason=reason,
    )


def latest(entries: Iterable[JournalEntry]) -> dict[str, JournalEntry]:
    """Each slice's last step, checking that each entry follows the one before it.

    A slice's first entry may be any step (compaction drops older ones); an entry seen
    before is a re-delivery and is skipped.
    """
    last: dict[str, JournalEntry] = {}
    seen: set[JournalEntry] = set()
    for entry in entries:
        if entry in seen:
            continue
        seen.add(entry)
        before = last.get(entry.slice_id)
        if before is not None and entry.step not in _NEXT[before.step]:
            raise JournalError(
                f"slice {entry.slice_id}: journal has {entry.step} after {before.step}"
            )
        last[entry.slice_id] = entry
    return last


class Recovery(StrEnum):
    SEND = "send"  # validated, never sent: send it
    LOOK_UP = "look_up"  # may have been sent: fetch by client order id before any resend
    TRACK = "track"  # acknowledged: follow it by its venue order id
    CANCEL = "cancel"  # acknowledged, a cancel not yet taken: follow it and cancel it again


@dataclass(frozen=True)
class RecoveryAction:
    action: Recovery
    entry: JournalEntry


_RECOVERY = {
    Step.VALIDATED: Recovery.SEND,
    Step.SENDING: Recovery.LOOK_UP,
    Step.UNKNOWN: Recovery.LOOK_UP,
    Step.ACKNOWLEDGED: Recovery.TRACK,
    Step.CANCELLING: Recovery.CANCEL,
}


def recover(entries: Iterable[JournalEntry]) -> list[RecoveryAction]:
    """What a restarted gateway must do for each slice, in journal order; finished ones: nothing."""
    return [
        RecoveryAction(_RECOVERY[entry.step], entry)
        for entry in latest(entries).values()
        if entry.step in _RECOVERY
    ]


class LookupOutcome(StrEnum):
    FOUND = "found"  # journal ACKNOWLEDGED with the venue's id, and track it
    RESEND = "resend"  # provably not placed: journal SENDING and send again
    WAIT = "wait"  # not there yet, but the request could still arrive: look again later


def after_lookup(
    entry: JournalEntry, found: bool, now_us: int, recv_window_us: int
) -> LookupOutcome:
    """A look-up by client order id after a SENDING or UNKNOWN `entry`.

    Not finding the order proves nothing while the request may still be on its way: a venue
    accepts a signed request until its timestamp is `recv_window_us` old (Binance's
    recvWindow), so only after that has passed since the entry (at or after the send) is it
    safe to send again. A SENDING entry is written just before the request is signed, so
    `recv_window_us` should carry a margin for that gap and for clock skew with the venue.
    """
    if entry.step not in {Step.SENDING, Step.UNKNOWN}:
        raise JournalError(f"slice {entry.slice_id}: nothing to look up after {entry.step}")
    if found:
        return LookupOutcome.FOUND
    if now_us - entry.timestamp >= recv_window_us:
        return LookupOutcome.RESEND
    return LookupOutcome.WAIT
