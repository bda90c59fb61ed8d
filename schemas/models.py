"""Pydantic models of the contracts: they validate records at the edges (API, CLI, feeds).

Each model mirrors one Avro record in `avro/` field for field (a test holds them together).
`model.model_dump()` is directly encodable by the serde; `Model.model_validate(record)` turns a
decoded record back into a model. Enums accept any letter case, so `BUY` and `buy` both pass.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from fillstream.schemas.decimals import format_decimal

# Earliest plausible event time: a smaller value is almost always seconds or milliseconds.
_YEAR_2000_US = 946_684_800_000_000


class _CaseInsensitive(StrEnum):
    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            for member in cls:
                if member.value.lower() == value.lower():
                    return member
        return None


class Side(_CaseInsensitive):
    BUY = "buy"
    SELL = "sell"


class OrderType(_CaseInsensitive):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    ICEBERG = "iceberg"


class TimeInForce(_CaseInsensitive):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    DAY = "DAY"
    GTD = "GTD"


class Urgency(_CaseInsensitive):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class OrderStatus(_CaseInsensitive):
    NEW = "new"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCEL_PENDING = "cancel_pending"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    REPLACED = "replaced"


# The statuses an order never leaves, for every reader of orders and reports. Replaced is one:
# a modification is a cancel-replace, and the replacement carries on under an id of its own.
TERMINAL: frozenset[OrderStatus] = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.REJECTED,
        OrderStatus.EXPIRED,
        OrderStatus.REPLACED,
    }
)


class ExecType(_CaseInsensitive):
    ACK = "ack"
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    CANCEL = "cancel"
    REJECT = "reject"
    EXPIRE = "expire"
    REPLACE = "replace"


class SliceAction(_CaseInsensitive):
    NEW = "new"
    CANCEL = "cancel"
    REPLACE = "replace"


class BookUpdateKind(_CaseInsensitive):
    SNAPSHOT = "snapshot"
    DIFF = "diff"


class CommandKind(_CaseInsensitive):
    CANCEL = "cancel"
    MODIFY = "modify"
    PAUSE = "pause"
    RESUME = "resume"
    KILL_SWITCH = "kill_switch"
    RELEASE_KILL_SWITCH = "release_kill_switch"


class AccountStatus(_CaseInsensitive):
    ACTIVE = "active"
    REDUCING = "reducing"
    PAUSED = "paused"
    HALTED = "halted"


class MetricKind(_CaseInsensitive):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


class Liquidity(_CaseInsensitive):
    MAKER = "maker"
    TAKER = "taker"


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


def _plausible_time(value: int) -> int:
    if value < _YEAR_2000_US:
        raise ValueError(
            "looks like seconds or milliseconds: send microseconds since the Unix epoch (UTC)"
        )
    return value


_Exact = (AfterValidator(_finite), PlainSerializer(format_decimal, when_used="json"))
Amount = Annotated[Decimal, *_Exact]
Positive = Annotated[Decimal, Field(gt=0), *_Exact]
NonNegative = Annotated[Decimal, Field(ge=0), *_Exact]
Timestamp = Annotated[int, Field(ge=0, lt=2**63)]
EventTime = Annotated[int, Field(lt=2**63), AfterValidator(_plausible_time)]
Identifier = Annotated[str, Field(min_length=1, max_length=128)]


def _from_base64(value: Any) -> Any:
    return base64.b64decode(value, validate=True) if isinstance(value, str) else value


def _to_base64(value: bytes) -> str:
    return base64.b64encode(value).decode()


# Raw bytes are base64 text in JSON, both ways.
Base64Bytes = Annotated[
    bytes, BeforeValidator(_from_base64), PlainSerializer(_to_base64, when_used="json")
]


class Record(BaseModel):
    """Base of every contract model: unknown fields are errors, records are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_text(value: Any) -> Any:
    """Algorithm parameters travel as text so numbers stay exact: JSON numbers and booleans
    are taken as their text."""
    if not isinstance(value, dict):
        return value
    return {
        key: (str(item).lower() if isinstance(item, bool) else str(item))
        for key, item in value.items()
    }


def _check_order_terms(terms: Signal | SignalTemplate) -> None:
    """The fields an order type needs: a signal's and a schedule's template alike."""
    needs_price = {OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.ICEBERG}
    if terms.order_type in needs_price and terms.price is None:
        raise ValueError(f"a {terms.order_type.value} order needs a price")
    if terms.order_type in {OrderType.STOP, OrderType.STOP_LIMIT} and terms.stop_price is None:
        raise ValueError(f"a {terms.order_type.value} order needs a stop_price")
    if terms.order_type is OrderType.ICEBERG:
        if terms.display_quantity is None:
            raise ValueError("an iceberg order needs a display_quantity")
        if terms.display_quantity > terms.quantity:
            raise ValueError("display_quantity cannot exceed quantity")


class Signal(Record):
    signal_id: Identifier
    strategy_id: Identifier
    account_id: Identifier
    exchange: str | None = None
    symbol: Identifier
    side: Side
    quantity: Positive
    order_type: OrderType
    price: Positive | None = None
    stop_price: Positive | None = None
    display_quantity: Positive | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expire_at: EventTime | None = None
    algorithm: str | None = None
    algorithm_parameters: dict[str, str] = Field(default_factory=dict)
    urgency: Urgency | None = None
    confidence: Annotated[float, Field(ge=0, le=1)] | None = None
    decision_price: Positive | None = None
    created_at: EventTime
    allocation_group: Identifier | None = None
    stop_loss: Positive | None = None
    take_profit: Positive | None = None

    @field_validator("algorithm_parameters", mode="before")
    @classmethod
    def _parameters_as_text(cls, value: Any) -> Any:
        return _as_text(value)

    @model_validator(mode="after")
    def _order_type_fields(self) -> Self:
        _check_order_terms(self)
        if self.time_in_force is TimeInForce.GTD and self.expire_at is None:
            raise ValueError("a GTD order needs expire_at")
        return self


class SignalTemplate(Record):
    """A signal's terms without its id and times (the `Signal` contract's other fields, in
    its order): what each occurrence of a schedule publishes."""

    strategy_id: Identifier
    account_id: Identifier
    exchange: str | None = None
    symbol: Identifier
    side: Side
    quantity: Positive
    order_type: OrderType
    price: Positive | None = None
    stop_price: Positive | None = None
    display_quantity: Positive | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    algorithm: str | None = None
    algorithm_parameters: dict[str, str] = Field(default_factory=dict)
    urgency: Urgency | None = None
    confidence: Annotated[float, Field(ge=0, le=1)] | None = None
    decision_price: Positive | None = None
    stop_loss: Positive | None = None
    take_profit: Positive | None = None

    @field_validator("algorithm_parameters", mode="before")
    @classmethod
    def _parameters_as_text(cls, value: Any) -> Any:
        return _as_text(value)

    @model_validator(mode="after")
    def _order_type_fields(self) -> Self:
        _check_order_terms(self)
        if self.time_in_force is TimeInForce.GTD:
            raise ValueError(
                "a scheduled signal cannot be GTD (an expiry time would be the same for every"
                " occurrence): use DAY, GTC, IOC or FOK"
            )
        return self

    def signal(self, signal_id: str, created_at: int) -> Signal:
        """The signal of one occurrence."""
        return Signal(signal_id=signal_id, created_at=created_at, **dict(self))


class ScheduleAction(_CaseInsensitive):
    CREATE = "create"
    CANCEL = "cancel"


class MissedPolicy(_CaseInsensitive):
    SKIP = "skip"
    CATCH_UP = "catch_up"


class ScheduleStatus(_CaseInsensitive):
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


# A schedule's id leaves room in a signal id (128 characters) for `:<occurrence>`.
ScheduleId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^:/\s]+$")]


class Schedule(Record):
    schedule_id: ScheduleId
    action: ScheduleAction = ScheduleAction.CREATE
    signal: SignalTemplate | None = None
    start_at: EventTime | None = None
    interval_us: Annotated[int, Field(gt=0, lt=2**63)] | None = None
    end_at: EventTime | None = None
    max_occurrences: Annotated[int, Field(gt=0, lt=2**31)] | None = None
    missed: MissedPolicy = MissedPolicy.SKIP
    reason: str | None = None
    issued_by: str | None = None
    created_at: EventTime

    @model_validator(mode="after")
    def _terms(self) -> Self:
        if self.action is ScheduleAction.CANCEL:
            return self
        if self.signal is None or self.start_at is None:
            raise ValueError("a schedule needs a signal (the template) and start_at")
        if self.end_at is not None and self.end_at < self.start_at:
            raise ValueError("end_at is before start_at: no occurrence would fall due")
        return self


class ScheduleState(Record):
    schedule_id: Identifier
    status: ScheduleStatus
    schedule: Schedule
    published: Annotated[int, Field(ge=0, lt=2**31)]
    skipped: Annotated[int, Field(ge=0, lt=2**31)]
    next_occurrence: Annotated[int, Field(gt=0, lt=2**31)] | None = None
    next_due_at: Timestamp | None = None
    reason: str | None = None
    updated_at: Timestamp


class ParentOrder(Record):
    order_id: Identifier
    signal: Signal
    arrival_price: Positive | None = None
    max_slippage_bps: NonNegative | None = None
    approved_at: Timestamp
    risk_score: Annotated[float, Field(ge=0, le=1)] | None = None


class VenueAllocation(Record):
    venue: Identifier
    quantity: Positive
    expected_price: Positive | None = None
    fee_rate: Amount | None = None
    dark: bool = False
    priority: int = 0


class RoutedOrder(Record):
    order: ParentOrder
    venue_plan: list[VenueAllocation]
    routed_at: Timestamp


class Rejection(Record):
    signal_id: str
    order_id: str | None = None
    account_id: str
    strategy_id: str | None = None
    symbol: str | None = None
    reason_code: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
    reason: str
    stage: str
    signal: Signal | None = None
    rejected_at: Timestamp


class Slice(Record):
    slice_id: Identifier
    order_id: Identifier
    signal_id: Identifier
    account_id: Identifier
    symbol: Identifier
    venue: Identifier
    action: SliceAction
    sequence: Annotated[int, Field(ge=0, lt=2**31)]
    side: Side
    quantity: Positive
    order_type: OrderType
    price: Positive | None = None
    stop_price: Positive | None = None
    display_quantity: Positive | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expire_at: Timestamp | None = None
    post_only: bool = False
    collar_reference: Positive | None = None
    created_at: Timestamp


class GatewayJournalEntry(Record):
    slice: Slice
    step: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
    attempt: Annotated[int, Field(ge=0, lt=2**31)]
    timestamp: Timestamp
    venue_order_id: str | None = None
    reason: str | None = None


class ExecutionReport(Record):
    report_id: Identifier
    order_id: Identifier
    signal_id: Identifier
    slice_id: Identifier
    account_id: Identifier
    symbol: Identifier
    venue: Identifier
    venue_order_id: str | None = None
    side: Side
    exec_type: ExecType
    status: OrderStatus
    quantity: Positive
    last_quantity: NonNegative
    last_price: Positive | None = None
    filled_quantity: NonNegative
    leaves_quantity: NonNegative
    average_price: Positive | None = None
    commission: Amount
    commission_asset: str | None = None
    liquidity: Liquidity | None = None
    reason: str | None = None
    timestamp: Timestamp


class OrderState(Record):
    order_id: Identifier
    signal_id: Identifier
    strategy_id: Identifier
    account_id: Identifier
    symbol: Identifier
    side: Side
    order_type: OrderType
    quantity: Positive
    price: Positive | None = None
    algorithm: str | None = None
    status: OrderStatus
    filled_quantity: NonNegative
    leaves_quantity: NonNegative
    average_price: Positive | None = None
    commission: Amount
    reason: str | None = None
    version: Annotated[int, Field(ge=0)]
    created_at: Timestamp
    updated_at: Timestamp
    allocation_group: Identifier | None = None


class Quote(Record):
    symbol: Identifier
    venue: Identifier
    bid_price: Positive | None = None
    bid_size: NonNegative | None = None
    ask_price: Positive | None = None
    ask_size: NonNegative | None = None
    timestamp: Timestamp
    received_at: Timestamp | None = None


class Trade(Record):
    symbol: Identifier
    venue: Identifier
    trade_id: str
    price: Positive
    quantity: Positive
    aggressor_side: Side | None = None
    timestamp: Timestamp
    received_at: Timestamp | None = None


class ReferencePrice(Record):
    symbol: Identifier
    venue: Identifier
    bid_price: Positive | None = None
    ask_price: Positive | None = None
    last_price: Positive | None = None
    timestamp: Timestamp


class InstrumentRules(Record):
    instrument_id: Identifier
    venue: Identifier
    symbol: Identifier
    tick_size: Positive
    lot_size: Positive
    min_quantity: NonNegative
    min_notional: NonNegative
    source: str
    published_at: Timestamp

    @model_validator(mode="after")
    def _identified(self) -> Self:
        if self.instrument_id != f"{self.venue}:{self.symbol}":
            raise ValueError("instrument_id must be '<venue>:<symbol>'")
        return self


class PriceLevel(Record):
    price: Positive
    quantity: NonNegative


class BookUpdate(Record):
    symbol: Identifier
    venue: Identifier
    kind: BookUpdateKind
    bids: list[PriceLevel]
    asks: list[PriceLevel]
    first_update_id: int | None = None
    last_update_id: int | None = None
    timestamp: Timestamp
    received_at: Timestamp | None = None


class Command(Record):
    command_id: Identifier
    kind: CommandKind
    order_id: str | None = None
    symbol: str | None = None
    account_id: str | None = None
    quantity: Positive | None = None
    price: Positive | None = None
    reason: str | None = None
    issued_by: str | None = None
    slices_sent: Annotated[int, Field(ge=0, lt=2**31)] | None = None
    created_at: EventTime

    @model_validator(mode="after")
    def _target(self) -> Self:
        if self.kind in {CommandKind.CANCEL, CommandKind.MODIFY} and (
            self.order_id is None or self.symbol is None
        ):
            raise ValueError(
                f"a {self.kind.value} command needs an order_id and the order's symbol"
                " (the symbol routes it to the partition that holds the order)"
            )
        if self.kind is CommandKind.MODIFY and self.quantity is None and self.price is None:
            raise ValueError("a modify command needs a new quantity or price")
        if self.kind in {CommandKind.PAUSE, CommandKind.RESUME} and self.account_id is None:
            raise ValueError(f"a {self.kind.value} command needs an account_id")
        return self


class TcaResult(Record):
    order_id: Identifier
    signal_id: Identifier
    strategy_id: Identifier
    account_id: Identifier
    symbol: Identifier
    side: Side
    algorithm: str | None = None
    venues: list[str] = Field(default_factory=list)
    status: OrderStatus
    quantity: Positive
    filled_quantity: NonNegative
    fill_ratio: Annotated[float, Field(ge=0)]
    decision_price: Positive | None = None
    arrival_price: Positive | None = None
    end_price: Positive | None = None
    average_price: Positive | None = None
    interval_vwap: Positive | None = None
    perold_execution_cost: Amount | None = None
    perold_opportunity_cost: Amount | None = None
    delay_cost: Amount | None = None
    trading_cost: Amount | None = None
    opportunity_cost: Amount | None = None
    fees: Amount
    total_cost: Amount | None = None
    total_cost_bps: float | None = None
    arrival_slippage_bps: float | None = None
    vwap_slippage_bps: float | None = None
    participation_rate: float | None = None
    timing_cost: Amount | None = None
    effective_spread_bps: float | None = None
    realized_spread_bps: float | None = None
    price_impact_bps: float | None = None
    markouts_bps: dict[str, float] = Field(default_factory=dict)
    duration_us: Annotated[int, Field(ge=0)]
    completed_at: Timestamp


class ExecutionFeedback(Record):
    order_id: Identifier
    signal_id: Identifier
    strategy_id: Identifier
    account_id: Identifier
    symbol: Identifier
    algorithm: str | None = None
    venues: list[str] = Field(default_factory=list)
    status: OrderStatus
    fill_ratio: Annotated[float, Field(ge=0)]
    total_cost: Amount | None = None
    total_cost_bps: float | None = None
    arrival_slippage_bps: float | None = None
    duration_us: Annotated[int, Field(ge=0)]
    completed_at: Timestamp


class Metric(Record):
    processor: Identifier
    name: Identifier
    kind: MetricKind
    value: float
    labels: dict[str, str] = Field(default_factory=dict)
    timestamp: Timestamp


class DeadLetter(Record):
    processor: Identifier
    source_topic: str
    partition: Annotated[int, Field(ge=0, lt=2**31)]
    offset: Annotated[int, Field(ge=0)]
    key: Base64Bytes | None = None
    value: Base64Bytes | None = None
    error_type: str
    error: str
    timestamp: Timestamp


class ClockTick(Record):
    partition: Annotated[int, Field(ge=0, lt=2**31)]
    sequence: Annotated[int, Field(ge=0)]
    timestamp: Timestamp


class OptimizationTarget(_CaseInsensitive):
    LATENCY = "latency"
    THROUGHPUT = "throughput"
    BALANCED = "balanced"


_Count = Annotated[int, Field(ge=0, lt=2**31)]


class BatchingProfile(Record):
    profile_id: Identifier
    scope: Annotated[str, Field(pattern="^pipeline$")] = "pipeline"
    target: OptimizationTarget
    linger_ms: _Count
    batch_messages: Annotated[int, Field(ge=1, le=1_000_000)]
    fetch_wait_ms: _Count
    fetch_min_bytes: Annotated[int, Field(ge=1, lt=2**31)]
    commit_interval_ms: Annotated[int, Field(ge=1, lt=2**31)]
    requested_by: str | None = None
    created_at: EventTime


class AccountState(Record):
    account_id: Identifier
    status: AccountStatus
    positions: dict[str, Amount] = Field(default_factory=dict)
    exposure: NonNegative
    working_orders: Annotated[int, Field(ge=0, lt=2**31)]
    pnl: Amount
    daily_pnl: Amount
    drawdown: NonNegative
    updated_at: Timestamp


class VenueBalance(Record):
    venue: Identifier
    free: dict[str, NonNegative] = Field(default_factory=dict)
    total: dict[str, NonNegative] = Field(default_factory=dict)
    fetched_at: Timestamp


class AccountCorrelation(Record):
    pair_id: str
    account_a: Identifier
    account_b: Identifier
    correlation: Annotated[float, Field(ge=-1, le=1)]
    issued_by: str | None = None
    updated_at: EventTime

    @model_validator(mode="after")
    def _pair(self) -> Self:
        if self.account_a >= self.account_b:
            raise ValueError("account_a and account_b: two different accounts, sorted")
        if self.pair_id != pair_id(self.account_a, self.account_b):
            raise ValueError(f"pair_id must be {pair_id(self.account_a, self.account_b)!r}")
        return self


def pair_id(account_a: str, account_b: str) -> str:
    """The key of two accounts' correlation, whichever order they come in."""
    return "|".join(sorted((account_a, account_b)))


class AllocationLine(Record):
    account_id: Identifier
    status: AccountStatus
    available_margin: NonNegative
    remaining_budget: NonNegative
    drawdown: NonNegative
    capacity: NonNegative
    drawdown_factor: NonNegative
    weight: NonNegative
    correlated_with: list[str] = Field(default_factory=list)
    quantity: NonNegative
    child_signal_id: str | None = None
    notes: list[str] = Field(default_factory=list)


class Allocation(Record):
    signal_id: Identifier
    allocation_group: Identifier
    strategy_id: Identifier
    symbol: Identifier
    side: Side
    quantity: Positive
    allocated: NonNegative
    lot_size: Positive
    max_correlation: float
    accounts: list[AllocationLine]
    notes: list[str] = Field(default_factory=list)
    created_at: Timestamp
    failover_of: str | None = None


MODELS: dict[str, type[Record]] = {
    model.__name__: model
    for model in (
        Signal,
        ParentOrder,
        VenueAllocation,
        RoutedOrder,
        Rejection,
        Slice,
        GatewayJournalEntry,
        ExecutionReport,
        OrderState,
        Quote,
        Trade,
        ReferencePrice,
        InstrumentRules,
        PriceLevel,
        BookUpdate,
        Command,
        TcaResult,
        ExecutionFeedback,
        Metric,
        DeadLetter,
        ClockTick,
        SignalTemplate,
        Schedule,
        ScheduleState,
        BatchingProfile,
        AccountState,
        VenueBalance,
        AccountCorrelation,
        AllocationLine,
        Allocation,
    )
}
