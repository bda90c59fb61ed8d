"""The topic catalog: every topic's name, contract, key, partitioning and retention, in one place.

Topics keyed by symbol or account share one partition count so that orders, slices, fills,
market data and clock ticks of one instrument meet in the same partition number (Kafka's
co-partitioning); scale out by raising `FILLSTREAM_PARTITIONS` before topics are created.
Order-lifecycle topics keep records forever: they are the audit log, and pruning them is a
retention decision for the operator's regulator, not for a default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fillstream import settings

__all__ = [
    "CATALOG",
    "TopicSpec",
    "broadcast",
    "changelog",
    "event_time",
    "find",
    "has_event_time",
    "keep_latest",
    "key_of",
    "partition_of",
]

DAY_MS = 24 * 60 * 60 * 1000
FOREVER = -1


@dataclass(frozen=True)
class TopicSpec:
    """A topic as fillstream uses it; `name` is unprefixed, `full_name` is what the broker sees."""

    name: str
    record: str
    key_fields: tuple[str, ...]
    description: str
    cleanup_policy: Literal["delete", "compact"] = "delete"
    retention_ms: int = FOREVER
    co_partitioned: bool = True
    # Records that go to every partition: "all" (clock ticks, reference prices), those without
    # a key ("unkeyed": commands for an account or all, which risk and every executor read), or
    # "none".
    broadcast: Literal["none", "all", "unkeyed"] = "none"
    # The field that carries when a record happened (µs since the epoch, UTC), the clock every
    # stage reads, live and in replay; None for a topic whose records carry none (dead letters,
    # the gateway's journal, batching profiles, a changelog).
    event_time: str | None = None

    @property
    def full_name(self) -> str:
        return settings.topic_prefix() + self.name

    @property
    def partitions(self) -> int:
        return settings.partitions() if self.co_partitioned else 1

    def config(self) -> dict[str, str]:
        """Broker-side topic configuration."""
        config = {"cleanup.policy": self.cleanup_policy}
        if self.cleanup_policy == "delete":
            config["retention.ms"] = str(self.retention_ms)
        return config


CATALOG: tuple[TopicSpec, ...] = (
    TopicSpec(
        "signals",
        "Signal",
        ("account_id",),
        "trade signals from producers",
        event_time="created_at",
    ),
    TopicSpec(
        "orders.approved",
        "ParentOrder",
        ("signal.symbol",),
        "risk-approved parent orders",
        event_time="approved_at",
    ),
    TopicSpec(
        "orders.rejected",
        "Rejection",
        ("symbol", "account_id"),
        "rejections with reason codes",
        event_time="rejected_at",
    ),
    TopicSpec(
        "orders.routed",
        "RoutedOrder",
        ("order.signal.symbol",),
        "parent orders + venue plan",
        event_time="routed_at",
    ),
    TopicSpec(
        "slices",
        "Slice",
        ("symbol",),
        "child orders and cancels for venues",
        event_time="created_at",
    ),
    TopicSpec(
        "fills",
        "ExecutionReport",
        ("symbol",),
        "execution reports from venues",
        event_time="timestamp",
    ),
    TopicSpec(
        "fills.accounts",
        "ExecutionReport",
        ("account_id",),
        "executions by account, for risk",
        event_time="timestamp",
    ),
    TopicSpec(
        "orders.state",
        "OrderState",
        ("order_id",),
        "latest state of every order",
        cleanup_policy="compact",
        event_time="updated_at",
    ),
    TopicSpec(
        "orders.ended",
        "OrderState",
        ("account_id",),
        "every order's final state by account, for risk",
        event_time="updated_at",
    ),
    TopicSpec(
        "gateway.journal",
        "GatewayJournalEntry",
        ("slice.slice_id",),
        "the venue gateway's three-phase commit, by slice",
        cleanup_policy="compact",
        co_partitioned=False,
    ),
    TopicSpec(
        "market.quotes",
        "Quote",
        ("symbol",),
        "top of book",
        retention_ms=7 * DAY_MS,
        event_time="timestamp",
    ),
    TopicSpec(
        "market.trades",
        "Trade",
        ("symbol",),
        "public trades",
        retention_ms=7 * DAY_MS,
        event_time="timestamp",
    ),
    TopicSpec(
        "market.book",
        "BookUpdate",
        ("symbol",),
        "L2 books",
        retention_ms=7 * DAY_MS,
        event_time="timestamp",
    ),
    TopicSpec(
        "market.reference",
        "ReferencePrice",
        ("symbol",),
        "every symbol's prices, for risk",
        retention_ms=7 * DAY_MS,
        broadcast="all",
        event_time="timestamp",
    ),
    TopicSpec(
        "venue.instruments",
        "InstrumentRules",
        ("instrument_id",),
        "each venue's instrument rules, for risk, routing and execution",
        cleanup_policy="compact",
        broadcast="all",
        event_time="published_at",
    ),
    TopicSpec(
        "venue.balances",
        "VenueBalance",
        ("venue",),
        "each ccxt venue's balance by asset, as the gateway last fetched it (a global table)",
        cleanup_policy="compact",
        broadcast="all",
        event_time="fetched_at",
    ),
    TopicSpec(
        "clock",
        "ClockTick",
        ("partition",),
        "punctuation ticks",
        retention_ms=DAY_MS,
        broadcast="all",
        event_time="timestamp",
    ),
    TopicSpec(
        "schedules",
        "Schedule",
        ("schedule_id",),
        "scheduled and recurring executions, and their cancels",
        cleanup_policy="compact",
        event_time="created_at",
    ),
    TopicSpec(
        "schedules.state",
        "ScheduleState",
        ("schedule_id",),
        "where each schedule stands",
        cleanup_policy="compact",
        event_time="updated_at",
    ),
    TopicSpec(
        "profiles",
        "BatchingProfile",
        ("scope",),
        "the batching profile in force for every processor (latest wins)",
        cleanup_policy="compact",
        co_partitioned=False,
    ),
    TopicSpec(
        "signals.group",
        "Signal",
        ("allocation_group",),
        "signals addressed to an allocation group, for the allocator",
        event_time="created_at",
    ),
    TopicSpec(
        "allocations",
        "Allocation",
        ("allocation_group",),
        "each group signal's split across its accounts, with the rationale",
        event_time="created_at",
    ),
    TopicSpec(
        "allocations.ended",
        "OrderState",
        ("allocation_group",),
        "the final state of each group signal's child that left part unfilled, for failover",
        event_time="updated_at",
    ),
    TopicSpec(
        "accounts.state",
        "AccountState",
        ("account_id",),
        "each configured account as risk holds it (a global table for the allocator)",
        cleanup_policy="compact",
        broadcast="all",
        event_time="updated_at",
    ),
    TopicSpec(
        "accounts.correlations",
        "AccountCorrelation",
        ("pair_id",),
        "the correlation of two accounts' returns (a global table for the allocator)",
        cleanup_policy="compact",
        broadcast="all",
        event_time="updated_at",
    ),
    TopicSpec(
        "commands",
        "Command",
        ("symbol",),
        "cancel, modify, pause, kill switch",
        broadcast="unkeyed",
        event_time="created_at",
    ),
    TopicSpec(
        "tca", "TcaResult", ("order_id",), "per-order execution quality", event_time="completed_at"
    ),
    TopicSpec(
        "tca.feedback",
        "ExecutionFeedback",
        ("strategy_id",),
        "execution feedback for strategies",
        event_time="completed_at",
    ),
    TopicSpec(
        "metrics",
        "Metric",
        ("processor",),
        "processor measurements",
        retention_ms=7 * DAY_MS,
        co_partitioned=False,
        event_time="timestamp",
    ),
    TopicSpec(
        "deadletter",
        "DeadLetter",
        ("key",),
        "records no processor could accept",
        co_partitioned=False,
    ),
)

_BY_NAME = {spec.name: spec for spec in CATALOG}


def find(name: str) -> TopicSpec:
    """A catalog entry by its unprefixed or prefixed name, with a helpful error."""
    spec = _BY_NAME.get(name) or _BY_NAME.get(name.removeprefix(settings.topic_prefix()))
    if spec is None:
        known = ", ".join(_BY_NAME)
        raise KeyError(f"unknown topic {name!r}; the catalog has: {known}")
    return spec


def broadcast(spec: TopicSpec, key: bytes | None) -> bool:
    """Whether a record with this key goes to every partition of its topic."""
    return spec.broadcast == "all" or (spec.broadcast == "unkeyed" and key is None)


def changelog(processor: str) -> TopicSpec:
    """The compacted topic holding processor `processor`'s memory, co-partitioned with its
    inputs (streams/changelog.py); its values are not a contract's records."""
    return TopicSpec(
        f"changelog.{processor}",
        "",
        (),
        f"the {processor} processor's memory, checkpoints and input-order journal",
        cleanup_policy="compact",
    )


def key_of(spec: TopicSpec, record: Any) -> bytes | None:
    """The record's Kafka key: the first of the spec's key fields that is set (dotted = nested);
    `record` is a mapping (its fields) or a typed record (its attributes)."""
    for path in spec.key_fields:
        value: Any = record
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
        if value is None:
            continue
        if isinstance(value, bytes):
            return value
        return str(value).encode()
    return None


def partition_of(key: bytes, partitions: int) -> int:
    """The partition a keyed record goes to: Kafka's default partitioner, the murmur2 hash of
    the key made positive, modulo the partition count (what `murmur2_random` in our producers
    and the Java clients compute). A stage that reads a broadcast record can tell with it
    whether the record's key is one of its partition's."""
    return (_murmur2(key) & 0x7FFFFFFF) % partitions


def _murmur2(data: bytes) -> int:
    """MurmurHash2, 32 bits, seed 0x9747B28C, as Kafka's `Utils.murmur2` (unsigned here)."""
    m, mask = 0x5BD1E995, 0xFFFFFFFF
    length = len(data)
    h = (0x9747B28C ^ length) & mask
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = ((h * m) & mask) ^ k
    rest = data[whole:]
    if rest:
        h ^= int.from_bytes(rest, "little")
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h


_EVENT_TIME = {spec.name: spec.event_time for spec in CATALOG if spec.event_time is not None}


def has_event_time(topic: str) -> bool:
    """Whether `topic`'s records carry the time they happened, for `event_time` to read."""
    return topic in _EVENT_TIME


def event_time(topic: str, record: Any, fallback: int) -> int:
    """When a record happened: the clock every stage reads, in replay and live alike.

    `fallback` (the transport's time) serves records without a usable time: a raw signal
    that fails validation.
    """
    field = _EVENT_TIME[topic]
    value = record.get(field) if isinstance(record, dict) else getattr(record, field, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback


def keep_latest(table: dict[str, Any], topic: str, record: Any) -> None:
    """Put a record of a global table (a compacted topic copied to every partition) in `table`
    under its key, unless the table holds a later one of that key by event time: a shard
    holding several partitions may take an older copy after a newer one."""
    key = key_of(find(topic), record)
    assert key is not None, f"{topic}: a global table's record has a key"
    name = key.decode()
    known = table.get(name)
    if known is None or event_time(topic, known, 0) <= event_time(topic, record, 0):
        table[name] = record
