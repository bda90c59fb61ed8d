"""The gateway processor: slices of the ccxt venues in, their executions out, over Kafka.

`fillstream run gateway` runs it for the venues of the engine configuration's
`[gateway.venues.<name>]` tables (the simulated venue leaves their slices alone). It runs on
the processors' loop (streams/runtime.py) like every processor: the loop takes `slices` and
`commands` in batches, dead-letters what cannot be decoded, publishes what the gateway emits and
checkpoints where its inputs stand. The gateway is the shell around one `VenueAdapter` per venue
(ccxt is async: the adapters run on an event loop of the gateway's own, one call at a time),
and it is thin: the adapter decides, this hands on.

- **Start.** Each venue's credentials come from the environment; the adapter proves them with
  one signed call and reads the venue's instrument rules. The journal topic is read whole, and
  the adapter carries out what it leaves to do (look up a slice whose send had no answer, track
  what was acknowledged) before any new slice is taken; then it reconciles what it holds with
  the venue, and the log says, once, what differs (orders the engine does not know, its orders
  no longer open there, fills it missed, which the tracking publishes).
- **Instrument rules.** Each venue's rules (tick, lot, minimums), as its markets state them, go
  to `venue.instruments` at start: risk, the router, the executor and the allocator use them
  instead of the configured ones for that venue.
- **Write ahead.** Every journal entry is on `gateway.journal`, flushed, before the adapter
  acts on it: after a crash the journal says where every slice stood. The journal is the
  gateway's durable memory; its checkpoints in the loop's changelog hold only where its inputs
  stand.
- **Slices.** New ones go through the three-phase commit, cancels are carried out; a cancel
  the venue did not take for a transient reason (retries exhausted, breaker open) is tried
  again on time, with the venue's retries each time, until the order ends. A slice
  taken again after a crash (at least once) is dropped when the adapter holds it or the
  journal has finished it, and report ids are deterministic, so the OMS and the executor count
  a re-published report once.
- **Tracking.** Every venue's `order_update_interval` seconds (its error policy) its adapter
  follows its open orders; each new fill is published on `fills` and (re-keyed by account,
  for risk) `fills.accounts`.
- **Balances.** Each time an adapter fetches its venue's balance (every
  `balance_update_interval` seconds), the balance goes to `venue.balances`, compacted and
  copied to every partition: the allocator and the account status take an account's available
  margin from it where the account is the venue's only one (streams/accounts.py).
- **Kill switch.** A global kill switch on `commands` cancels every open order at every venue.
- **Dead man's switch.** The engine's heartbeat is the desks' `heartbeat` records on
  `metrics` (streams/telemetry.py): their executors own the orders the gateway sends, and while
  no desk lives nobody can cancel or complete those orders. Every second each adapter's
  watchdog decides from the latest one (the gateway's start counts as one, for a grace period):
  arm the venue's own cancel-all timer, or cancel every open order once when it goes stale.
- **Reconciliation.** Besides the start, every venue's `reconcile_interval_seconds` the
  adapter's open and recently finished slices are compared with the venue; differences are
  logged as at the start.
- **Metrics.** Every few seconds each venue's figures (the circuit breaker's state, calls,
  retries, errors by reason) go to `metrics`, labelled by venue; the loop publishes the
  gateway's heartbeat and consumer lag there too, as every processor's.

One worker serves every venue: each worker would recover and track the whole journal.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

from confluent_kafka import Producer

from fillstream.config import EngineConfig
from fillstream.connectors.gateway.adapter import Outcome, VenueAdapter
from fillstream.connectors.gateway.config import read_credentials
from fillstream.connectors.gateway.finished import FinishedSlices
from fillstream.connectors.gateway.journal import JournalEntry
from fillstream.connectors.gateway.reconcile import Reconciliation
from fillstream.connectors.gateway.tracking import trade_id_of
from fillstream.connectors.gateway.wire import from_record, to_record
from fillstream.infra.topic_io import at_ends, codec, consume, make_producer, send, typed_codec
from fillstream.schemas.models import (
    Command,
    CommandKind,
    Metric,
    MetricKind,
    Slice,
    SliceAction,
)
from fillstream.schemas.serde import UndecodableRecord
from fillstream.schemas.topics import find, key_of
from fillstream.streams.runtime import run_processor
from fillstream.streams.stages import Emit
from fillstream.streams.telemetry import worker_id

__all__ = ["READS", "WRITES", "GatewayStage", "run_gateway"]

log = logging.getLogger("fillstream.gateway")

T = TypeVar("T")

METRICS_INTERVAL = 5.0  # seconds between two publications of each venue's figures
WATCHDOG_INTERVAL = 1.0  # seconds between two decisions of the dead man's switch
HEARTBEAT_FROM = b"desk"  # the processor (its executor) whose heartbeat is the engine's


class GatewayStage:
    """What the loop hands a shard's records to: the one gateway of the process, whichever
    partitions the shard holds. Its memory is the journal, not the loop's changelog."""

    inputs = ("slices", "commands")
    outputs = ("fills", "fills.accounts", "venue.balances", "metrics")
    durable = ()

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def handle(self, topic: str, record: Any, now_us: int) -> list[Emit]:
        if isinstance(record, Slice):
            return self.gateway.carry_out(record)
        if isinstance(record, Command):
            self.gateway.command(record)
        return []

    def on_time(self, now_us: int) -> list[Emit]:
        return self.gateway.on_time()


# Everything the gateway reads (its journal and its venues' fills whole at start, the desks'
# heartbeats on `metrics`) and writes besides the loop's topics: what its Kafka ACLs allow
# (fillstream/acls.py).
READS = (*GatewayStage.inputs, "gateway.journal", "fills", "metrics")
WRITES = (*GatewayStage.outputs, "gateway.journal", "venue.instruments")


def run_gateway(config: EngineConfig, environ: Mapping[str, str] = os.environ) -> None:
    """Serve the configured ccxt venues until SIGTERM or SIGINT."""
    if not config.gateway:
        raise ValueError("no [gateway.venues.<name>] in the configuration: nothing to serve")
    gateway = Gateway(config, environ)
    try:
        gateway.start()
        run_processor("gateway", lambda: GatewayStage(gateway))
    finally:
        gateway.close()


class Gateway:
    """The venues' adapters, on an event loop of their own, and what the gateway remembers
    between records: the finished slices and published trades that reconciliation compares,
    the kill switches carried out, the reports to publish next."""

    def __init__(self, config: EngineConfig, environ: Mapping[str, str]) -> None:
        self.loop = asyncio.new_event_loop()
        self.journal = _Journal(make_producer())
        self.adapters = {
            name: VenueAdapter(
                entry,
                read_credentials(entry, environ),
                write_ahead=self._write_ahead,
                heartbeat_timeout_us=int(entry.heartbeat_timeout_seconds * 1_000_000),
            )
            for name, entry in config.gateway.items()
        }
        self.finished = FinishedSlices()
        self.published: set[tuple[str, str]] = set()  # (slice id, trade id) on `fills`
        self.kills: set[str] = set()  # a global command comes once per partition
        self.pending: list[Emit] = []  # reports of the start's recovery, for the first turn
        self.balances_sent: dict[str, int] = {}  # by venue, when the one published was fetched
        self.worker = worker_id()
        self.heartbeats: _Heartbeats | None = None
        now = time.monotonic()
        self.next_metrics = self.next_watchdog = now
        self.next_reconcile = {
            name: now + adapter.venue.reconcile_interval_seconds
            for name, adapter in self.adapters.items()
        }

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    async def _write_ahead(self, entry: JournalEntry) -> None:
        await self.journal.write(entry)
        self.finished.add(entry)

    # -- start -----------------------------------------------------------------------------

    def start(self) -> None:
        """Prove each venue, publish its rules, carry out what the journal leaves to do and
        reconcile, before any new slice is taken."""
        journal = _read_journal()
        for entry in journal:
            self.finished.add(entry)
        self.published |= _published_trades(self.adapters)
        for name, adapter in self.adapters.items():
            self._run(adapter.start())
            self.journal.instruments(adapter)
            mine = [entry for entry in journal if entry.slice.venue == name]
            self.pending += self._reported(self._run(adapter.recover(mine)))
            _report(name, self._run(adapter.reconcile_held(self.finished.of(name), self.published)))
        self.heartbeats = _Heartbeats()

    def close(self) -> None:
        try:
            for adapter in self.adapters.values():
                self._run(adapter.close())
            if self.heartbeats is not None:
                self.heartbeats.close()
            self.journal.flush()
        finally:
            self.loop.close()

    # -- records ---------------------------------------------------------------------------

    def carry_out(self, child: Slice) -> list[Emit]:
        adapter = self.adapters.get(child.venue)
        if adapter is None:
            return []
        if child.action is SliceAction.CANCEL:
            return self._reported(self._run(adapter.cancel(child)))
        if child.action is SliceAction.REPLACE:
            # Not sent: the order stands at the venue as it was, and its fills count as they come.
            log.warning(
                "replace of %s not carried out: the gateway does not amend orders at %s",
                child.slice_id,
                child.venue,
            )
            return []
        if child.slice_id in self.finished:
            return []  # taken again after a crash: the journal says it is done
        return self._reported(self._run(adapter.submit(child)))

    def command(self, command: Command) -> None:
        """A global kill switch cancels everything at every venue, the engine's orders or not
        (an account's kill switch reaches the gateway as the executor's cancels of its
        orders)."""
        if command.kind is not CommandKind.KILL_SWITCH or command.account_id is not None:
            return
        if command.command_id in self.kills:
            return
        failed = []
        for adapter in self.adapters.values():  # a venue that fails holds back none of the others
            try:
                self._run(adapter.cancel_everything(f"kill switch {command.command_id}"))
            except Exception as error:
                log.error("kill switch at %s: %s", adapter.venue.name, error)
                failed.append(adapter.venue.name)
        if not failed:  # else the command's copy on the next partition tries again
            self.kills.add(command.command_id)

    # -- time ------------------------------------------------------------------------------

    def on_time(self) -> list[Emit]:
        """What is due: the start's reports, the orders' tracking, the dead man's switch,
        reconciliation and the venues' figures."""
        emits, self.pending = self.pending, []
        now = time.monotonic()
        for adapter in self.adapters.values():  # each at its venue's order_update_interval
            emits += self._reported(self._run(adapter.poll()))
        emits += self._balances()
        if now >= self.next_watchdog and self.heartbeats is not None:
            self._run(_watch(self.adapters, self.heartbeats.latest_us()))
            self.next_watchdog = time.monotonic() + WATCHDOG_INTERVAL
        for name, adapter in self.adapters.items():
            if now >= self.next_reconcile[name]:
                found = self._run(adapter.reconcile_held(self.finished.of(name), self.published))
                if not found.clean:
                    _report(name, found)
                self.next_reconcile[name] = (
                    time.monotonic() + adapter.venue.reconcile_interval_seconds
                )
        if now >= self.next_metrics:
            emits += self._metrics()
            self.next_metrics = time.monotonic() + METRICS_INTERVAL
        return emits

    def _reported(self, outcome: Outcome) -> list[Emit]:
        emits = []
        for report in outcome.reports:
            emits.append(Emit("fills", report))
            trade_id = trade_id_of(report.report_id)
            if trade_id is not None:
                self.published.add((report.slice_id, trade_id))
            if report.last_quantity > 0:
                emits.append(Emit("fills.accounts", report))
        return emits

    def _balances(self) -> list[Emit]:
        """Each venue's balance once per fetch, for the accounts it funds (the allocator's
        and the account status's available margin)."""
        emits = []
        for name, adapter in self.adapters.items():
            balance = adapter.balance
            if balance is not None and self.balances_sent.get(name) != balance.at_us:
                emits.append(Emit("venue.balances", balance.to_record(name)))
                self.balances_sent[name] = balance.at_us
        return emits

    def _metrics(self) -> list[Emit]:
        """Each venue's figures (breaker state, calls, retries, errors by reason)."""
        now = time.time_ns() // 1000
        emits = []
        for venue, adapter in self.adapters.items():
            for name, value in adapter.metrics().items():
                values = value.items() if isinstance(value, dict) else [(None, value)]
                for reason, number in values:
                    labels = {"venue": venue, "worker": self.worker}
                    labels |= {"reason": reason} if reason else {}
                    metric = Metric(
                        processor="gateway",
                        name=f"gateway_{name}",
                        kind=MetricKind.COUNTER if name.endswith("_total") else MetricKind.GAUGE,
                        value=float(number),
                        labels=labels,
                        timestamp=now,
                    )
                    emits.append(Emit("metrics", metric))
        return emits


class _Heartbeats:
    """The time of the engine's latest heartbeat, read from the end of `metrics` on."""

    def __init__(self) -> None:
        self._spec = find("metrics")
        self._codec = typed_codec(self._spec)
        self._consumer = at_ends([self._spec])
        self._latest_us = time.time_ns() // 1000  # the gateway's start: a grace period

    def latest_us(self) -> int:
        for message in self._consumer.consume(num_messages=10_000, timeout=0):
            if message.error() is not None or message.key() != HEARTBEAT_FROM:
                continue
            try:
                record = self._codec.decode(message.value())
            except UndecodableRecord:
                continue
            if isinstance(record, Metric) and record.name == "heartbeat":
                self._latest_us = max(self._latest_us, record.timestamp)
        return self._latest_us

    def close(self) -> None:
        self._consumer.close()


async def _watch(adapters: Mapping[str, VenueAdapter], heartbeat_us: int) -> None:
    """Every venue's dead man's switch, on the engine's latest heartbeat."""
    now_us = time.time_ns() // 1000
    for adapter in adapters.values():
        try:
            await adapter.watchdog(heartbeat_us, now_us)
        except Exception as error:  # a venue that does not answer now is asked next second
            log.warning("dead man's switch at %s: %s", adapter.venue.name, error)


def _report(venue: str, found: Reconciliation) -> None:
    """The start's reconciliation, once, in the log: what ops must look at, by id."""
    if found.clean:
        log.info("reconciliation with %s: clean", venue)
        return
    log.warning(
        "reconciliation with %s: %d unknown order(s) at the venue %s; %d engine order(s) not "
        "open there %s; %d missed fill(s) %s (published now); %d trade(s) of no known order",
        venue,
        len(found.unknown_orders),
        [order.get("clientOrderId") or order.get("id") for order in found.unknown_orders],
        len(found.missing_orders),
        list(found.missing_orders),
        len(found.missed_fills),
        [fill.slice_id for fill in found.missed_fills],
        len(found.unattributed_trades),
    )


def _read_journal() -> list[JournalEntry]:
    """Every entry of the journal topic, oldest first (compacted: at least each slice's last)."""
    received = consume(find("gateway.journal"), from_beginning=True, idle_timeout=2)
    entries = []
    for item in received:
        if item.record is None:
            log.warning("journal record at offset %s skipped: %s", item.offset, item.error)
        else:
            entries.append(from_record(item.record))
    return entries


def _published_trades(venues: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(slice id, trade id) of every fill the gateway's venues have on `fills`.

    Read whole at start: for the reconciliation to tell a fill missed from one published.
    """
    published = set()
    for item in consume(find("fills"), from_beginning=True, idle_timeout=2):
        record = item.record
        if record is not None and record["venue"] in venues:
            trade_id = trade_id_of(record["report_id"])
            if trade_id is not None:
                published.add((record["slice_id"], trade_id))
    return published


class _Journal:
    """What the gateway writes itself, flushed at once: the journal, before each step is
    acted on, and the venues' instrument rules at start."""

    def __init__(self, producer: Producer) -> None:
        self.producer = producer
        self._journal, self._rules = find("gateway.journal"), find("venue.instruments")
        self._codecs = {spec.name: codec(spec) for spec in (self._journal, self._rules)}

    async def write(self, entry: JournalEntry) -> None:
        self._send(self._journal, to_record(entry).model_dump())
        await asyncio.get_running_loop().run_in_executor(None, self.flush)

    def instruments(self, adapter: VenueAdapter) -> None:
        """The venue's instrument rules, as it states them, for risk, routing and execution."""
        now, source = time.time_ns() // 1000, f"ccxt:{adapter.venue.exchange}"
        for instrument in adapter.instruments.values():
            self._send(self._rules, instrument.to_rules(source, now).model_dump())
        self.flush()

    def flush(self) -> None:
        if self.producer.flush(30):
            raise RuntimeError("the broker did not take the gateway's records within 30 s")

    def _send(self, spec: Any, value: dict[str, Any]) -> None:
        send(self.producer, spec, self._codecs[spec.name].encode(value), key_of(spec, value))
