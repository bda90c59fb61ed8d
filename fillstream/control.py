"""Signals, commands and schedules as people and programs send them: built, validated and
published.

The REST API and the CLI both go through here, so an order submitted either way becomes the
same `signals` record, a cancel or a kill switch the same `commands` record, and a scheduled
execution the same `schedules` record. Builders are pure (the id and the time are arguments);
`stamp` and the `publish_*` calls are the shell.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from decimal import Decimal
from typing import Annotated, Any, Self

from confluent_kafka import Producer
from pydantic import BaseModel, ConfigDict, Field, model_validator

from fillstream import settings
from fillstream.domain.ids import order_id_for
from fillstream.infra.topic_io import make_producer, publish
from fillstream.schemas import jsonl
from fillstream.schemas.models import (
    AccountCorrelation,
    BatchingProfile,
    Command,
    CommandKind,
    EventTime,
    Identifier,
    MissedPolicy,
    OptimizationTarget,
    Schedule,
    ScheduleAction,
    ScheduleId,
    Signal,
    SignalTemplate,
    pair_id,
)
from fillstream.schemas.topics import find
from fillstream.streams.accounts import AccountsConfig
from fillstream.streams.allocation import child_signal_id
from fillstream.streams.execution.algorithms.catalog import DIRECT
from fillstream.streams.profiles import batching, configured

__all__ = [
    "ScheduleDraft",
    "SignalDraft",
    "Stamp",
    "account_command",
    "cancel_command",
    "correlation",
    "direct",
    "kill_switch_command",
    "modify_command",
    "order_id_of",
    "parse_signal_file",
    "publish_commands",
    "publish_correlations",
    "publish_schedules",
    "publish_signals",
    "schedule_cancel",
    "schedule_from",
    "signal_from",
    "stamp",
]

# Decimals a producer may send: far beyond any real price or quantity, yet small enough that
# plain notation on the wire stays short (1e999999999 would be a gigabyte of digits).
_MAX_EXPONENT = 40
_DECIMAL_FIELDS = ("quantity", "price", "stop_price", "display_quantity", "decision_price")
# Occurrences closer together would come in bursts of the ticker's period (100 ms).
MIN_INTERVAL_SECONDS = 1


class SignalDraft(Signal):
    """A signal as a producer may submit it: `signal_id` and `created_at` may be left out."""

    signal_id: Identifier | None = None  # type: ignore[assignment]
    created_at: EventTime | None = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _decimals_in_range(self) -> Self:
        for name in _DECIMAL_FIELDS:
            value: Decimal | None = getattr(self, name)
            if value is not None and abs(value.adjusted()) > _MAX_EXPONENT:
                raise ValueError(f"{name} is out of range (|exponent| > {_MAX_EXPONENT})")
        return self


class ScheduleDraft(BaseModel):
    """A scheduled execution as a person or a program asks for it: the signal each occurrence
    publishes and when. Once at `start_at` (default: now) without `every_seconds`; else every
    `every_seconds` from `start_at`, until `end_at` and at most `max_occurrences` times (either
    may be left out: a schedule without both runs until cancelled)."""

    model_config = ConfigDict(extra="forbid")
    schedule_id: ScheduleId | None = None
    signal: SignalTemplate
    start_at: EventTime | None = None
    every_seconds: Annotated[Decimal, Field(ge=MIN_INTERVAL_SECONDS, le=10**9)] | None = None
    end_at: EventTime | None = None
    max_occurrences: Annotated[int, Field(gt=0, lt=2**31)] | None = None
    missed: MissedPolicy = MissedPolicy.SKIP

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.every_seconds is not None and (self.every_seconds * 1_000_000) % 1:
            raise ValueError("every_seconds must be a whole number of microseconds")
        if self.every_seconds is None and (self.end_at, self.max_occurrences) != (None, None):
            raise ValueError(
                "end_at and max_occurrences bound a recurring schedule: give every_seconds"
            )
        return self


class Stamp:
    """A fresh id and the wall-clock time in µs: what the shell gives the builders."""

    __slots__ = ("id", "now_us")

    def __init__(self, id_: str, now_us: int) -> None:
        self.id = id_
        self.now_us = now_us


def stamp() -> Stamp:
    return Stamp(uuid.uuid4().hex, time.time_ns() // 1000)


def signal_from(draft: SignalDraft, at: Stamp, *, fill_id: bool = True) -> Signal:
    """The signal to publish: the draft with its id (if `fill_id`) and time filled in.

    Raises ValidationError when a field is still missing (an id, when `fill_id` is False)."""
    fields = draft.model_dump(exclude_none=True)
    if fill_id:
        # Short enough (20 characters) that the order id stays readable: o-api-<16 hex>.
        fields.setdefault("signal_id", f"api-{at.id[:16]}")
    fields.setdefault("created_at", at.now_us)
    return Signal.model_validate(fields)


def direct(draft: SignalDraft) -> SignalDraft:
    """The draft as a direct-execution order (the whole order at once, per the routing plan)."""
    return draft.model_copy(update={"algorithm": DIRECT})


def order_id_of(signal: Signal) -> str:
    """The parent order id the pipeline will give this signal (risk derives it the same way)."""
    return order_id_for(signal.signal_id)


def group_submission(signal: Signal, accounts: AccountsConfig, prefix: str) -> dict[str, Any]:
    """What a client can follow of a signal to an allocation group, which is no order itself:
    the child each member account may get (`<signal id>:<account id>`, with the order id it
    would have; an account the allocation skips gets none, and a failover's child adds
    `:f<n>`), and where the allocation shows, each account's history under `prefix`."""
    members = [account.id for account in accounts.members(signal.allocation_group or "")]
    children = [child_signal_id(signal.signal_id, account) for account in members]
    return {
        "order_id": None,
        "signal_id": signal.signal_id,
        "allocation_group": signal.allocation_group,
        "children": [
            {"account_id": account, "signal_id": child, "order_id": order_id_for(child)}
            for account, child in zip(members, children, strict=True)
        ],
        "allocation": [f"{prefix}/accounts/{account}/history" for account in members],
    }


def cancel_command(
    order_id: str, symbol: str, at: Stamp, issued_by: str, reason: str | None = None
) -> Command:
    return Command(
        command_id=f"{order_id}:cancel:{at.id}",
        kind=CommandKind.CANCEL,
        order_id=order_id,
        symbol=symbol,
        reason=reason,
        issued_by=issued_by,
        created_at=at.now_us,
    )


def modify_command(
    order_id: str,
    symbol: str,
    at: Stamp,
    issued_by: str,
    *,
    quantity: Decimal | None = None,
    price: Decimal | None = None,
    reason: str | None = None,
) -> Command:
    """Raises ValidationError without a new quantity or price."""
    return Command(
        command_id=f"{order_id}:modify:{at.id}",
        kind=CommandKind.MODIFY,
        order_id=order_id,
        symbol=symbol,
        quantity=quantity,
        price=price,
        reason=reason,
        issued_by=issued_by,
        created_at=at.now_us,
    )


def account_command(
    kind: CommandKind, account_id: str, at: Stamp, issued_by: str, reason: str | None = None
) -> Command:
    """Pause (halt new orders) or resume an account."""
    if kind not in {CommandKind.PAUSE, CommandKind.RESUME}:
        raise ValueError(f"an account command is pause or resume, not {kind.value}")
    return Command(
        command_id=f"{account_id}:{kind.value}:{at.id}",
        kind=kind,
        account_id=account_id,
        reason=reason,
        issued_by=issued_by,
        created_at=at.now_us,
    )


def kill_switch_command(
    on: bool, account_id: str | None, at: Stamp, issued_by: str, reason: str | None = None
) -> Command:
    """The kill switch of one account, or of every account when `account_id` is None."""
    kind = CommandKind.KILL_SWITCH if on else CommandKind.RELEASE_KILL_SWITCH
    return Command(
        command_id=f"{account_id or 'all'}:{kind.value}:{at.id}",
        kind=kind,
        account_id=account_id,
        reason=reason,
        issued_by=issued_by,
        created_at=at.now_us,
    )


def schedule_from(draft: ScheduleDraft, at: Stamp, issued_by: str) -> Schedule:
    """The `schedules` record of a draft: its id (given, or made from the stamp) and its start
    (given, or now) filled in. Raises ValidationError when it ends before it starts."""
    interval = draft.every_seconds
    return Schedule(
        schedule_id=draft.schedule_id or f"sch-{at.id[:16]}",
        signal=draft.signal,
        start_at=at.now_us if draft.start_at is None else draft.start_at,
        interval_us=None if interval is None else int(interval * 1_000_000),
        end_at=draft.end_at,
        max_occurrences=draft.max_occurrences,
        missed=draft.missed,
        issued_by=issued_by,
        created_at=at.now_us,
    )


def schedule_cancel(
    schedule_id: str, at: Stamp, issued_by: str, reason: str | None = None
) -> Schedule:
    """A schedule's cancel: no occurrence after it is published."""
    return Schedule(
        schedule_id=schedule_id,
        action=ScheduleAction.CANCEL,
        reason=reason,
        issued_by=issued_by,
        created_at=at.now_us,
    )


def publish_schedules(schedules: Iterable[Schedule], producer: Producer | None = None) -> int:
    """Publish on `schedules`, keyed by schedule id (so a cancel follows its schedule)."""
    return publish(find("schedules"), (s.model_dump() for s in schedules), producer)


def batching_profile(
    target: OptimizationTarget,
    at: Stamp,
    issuer: str,
    constraints: dict[str, int] | None = None,
) -> BatchingProfile:
    """The batching `target` asks for under the configured processing guarantee, capped by
    `constraints` (ValueError names one that is not known or not positive)."""
    guarantee = settings.processing_guarantee()
    chosen = batching(target, guarantee, configured(guarantee), constraints)
    return BatchingProfile(
        profile_id=at.id,
        target=target,
        requested_by=issuer,
        created_at=at.now_us,
        **asdict(chosen),
    )


def publish_profiles(profiles: Iterable[BatchingProfile], producer: Producer | None = None) -> int:
    """Publish on `profiles`, under the one key: the latest is the profile in force."""
    return publish(find("profiles"), (p.model_dump() for p in profiles), producer)


def signal_topic(allocation_group: str | None) -> str:
    """Where a signal goes: `signals` for an account's, `signals.group` for a group's."""
    return "signals" if allocation_group is None else "signals.group"


def publish_signals(signals: Iterable[Signal], producer: Producer | None = None) -> int:
    """Publish on `signals`, keyed by account as the catalog says, and a signal addressed to
    an allocation group on `signals.group`, for the allocator (risk never sees the parent:
    it checks each child); how many were sent."""
    producer = producer or make_producer()
    by_topic: dict[str, list[dict[str, Any]]] = {"signals": [], "signals.group": []}
    for signal in signals:
        by_topic[signal_topic(signal.allocation_group)].append(signal.model_dump())
    return sum(
        publish(find(topic), records, producer) for topic, records in by_topic.items() if records
    )


def correlation(
    account_a: str, account_b: str, value: float, at: Stamp, issued_by: str
) -> AccountCorrelation:
    """Two accounts' correlation as the allocator takes it (raises ValidationError for one
    account twice, or a value outside [-1, 1])."""
    first, second = sorted((account_a, account_b))
    return AccountCorrelation(
        pair_id=pair_id(first, second),
        account_a=first,
        account_b=second,
        correlation=value,
        issued_by=issued_by,
        updated_at=at.now_us,
    )


def publish_correlations(
    correlations: Iterable[AccountCorrelation], producer: Producer | None = None
) -> int:
    """Publish on `accounts.correlations` (to every partition: every allocator shard holds
    the whole table)."""
    spec = find("accounts.correlations")
    return publish(spec, (c.model_dump() for c in correlations), producer)


def publish_commands(commands: Iterable[Command], producer: Producer | None = None) -> int:
    """Publish on `commands`: an order's by its symbol, an account's to every partition."""
    return publish(find("commands"), (c.model_dump() for c in commands), producer)


# -- signal files -------------------------------------------------------------------------


# (line number, the row's fields, or None and what is wrong with the line)
_Row = tuple[int, Any, str | None]


def _csv_rows(text: str) -> Iterator[_Row]:
    """Rows of a CSV with a header of signal field names: empty cells are absent fields and
    `algorithm_parameters` holds a JSON object."""
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        fields: dict[str, Any] = {k.strip(): v.strip() for k, v in row.items() if k and v}
        if None in row:
            yield reader.line_num, None, "more cells than the header names"
            continue
        try:
            if "algorithm_parameters" in fields:
                fields["algorithm_parameters"] = jsonl.loads(fields["algorithm_parameters"])
        except ValueError as error:
            yield reader.line_num, None, f"algorithm_parameters is not JSON: {error}"
            continue
        yield reader.line_num, fields, None


def _jsonl_rows(text: str) -> Iterator[_Row]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield number, jsonl.loads(line), None
            except ValueError as error:
                yield number, None, jsonl.explain_invalid(error)


def parse_signal_file(
    text: str, csv_format: bool, at: Stamp
) -> tuple[list[tuple[int, Signal]], list[str]]:
    """Every signal of a file with its line number, and a message per invalid line.

    A file's signals must carry their own ids, so that sending a file twice publishes the same
    orders (which the pipeline recognises) rather than new ones; a missing `created_at` is
    the time of sending."""
    signals: list[tuple[int, Signal]] = []
    problems: list[str] = []
    for number, fields, problem in _csv_rows(text) if csv_format else _jsonl_rows(text):
        if problem is not None:
            problems.append(f"line {number}: {problem}")
            continue
        try:
            draft = SignalDraft.model_validate(fields)
            signals.append((number, signal_from(draft, at, fill_id=False)))
        except ValueError as error:  # ValidationError is one too
            problems.append(f"line {number}: {jsonl.explain_invalid(error)}")
    return signals, problems
