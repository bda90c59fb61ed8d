"""The gateway processor: slices of the ccxt venues in, their executions out, over Kafka.

`fillstream run gateway` runs it for the venues of the engine configuration's
`[gateway.venues.<name>]` tables (the simulated venue leaves their slices alone). It is an
asyncio service around one `VenueAdapter` per venue, with confluent-kafka directly (ccxt is
async; the processor loop, streams/runtime.py, is not), and it is thin: the adapter decides,
this writes.

- **Start.** Each venue's credentials come from the environment; the adapter proves them with
  one signed call and reads the venue's instrument rules. The journal topic is read whole, and
  the adapter carries out what it leaves to do (look up a slice whose send had no answer, track
  what was acknowledged) before any new slice is taken; then it reconciles what it holds with
  the venue, and the log says, once, what differs (orders the engine does not know, its orders
  no longer open there, fills it missed, which the tracking publishes).
- **Instrument rules.** Each venue's rules (tick, lot, minimums), as its markets state them, go
  to `venue.instruments` at start: risk, the router and the executor use them instead of the
  configured ones for that venue.
- **Write ahead.** Every journal entry is on `gateway.journal`, flushed, before the adapter
  acts on it: after a crash the journal says where every slice stood.
- **Slices.** New ones go through the three-phase commit, cancels are carried out; the offset
  is committed once the outcome is published (at least once: the adapter drops a slice it
  already holds, and report ids are deterministic, so the OMS and the executor count a
  re-published report once).
- **Tracking.** Every `poll_interval` seconds each adapter follows its open orders; each new
  fill is published once, on `fills` and (re-keyed by account, for risk) `fills.accounts`.
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
  retries, errors by reason) go to `metrics`, labelled by venue; its own heartbeat and consumer
  lag go there too, as every processor's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer, Producer

from fillstream import settings
from fillstream.config import EngineConfig
from fillstream.connectors.gateway.adapter import Outcome, VenueAdapter
from fillstream.connectors.gateway.config import read_credentials
from fillstream.connectors.gateway.journal import JournalEntry, latest
from fillstream.connectors.gateway.reconcile import Reconciliation
from fillstream.connectors.gateway.tracking import trade_id_of
from fillstream.connectors.gateway.wire import from_record, to_record
from fillstream.kafka_client import client_config
from fillstream.schemas.models import (
    Command,
    CommandKind,
    ExecutionReport,
    Metric,
    MetricKind,
    Slice,
    SliceAction,
)
from fillstream.schemas.serde import UndecodableRecord
from fillstream.schemas.topics import find, key_of
from fillstream.streams.telemetry import Publisher, Telemetry, worker_id
from fillstream.topic_io import at_ends, codec, consume, make_producer, send, typed_codec

__all__ = ["READS", "WRITES", "run_gateway"]

log = logging.getLogger("fillstream.gateway")

METRICS_INTERVAL = 5.0  # seconds between two publications of each venue's figures
WATCHDOG_INTERVAL = 1.0  # seconds between two decisions of the dead man's switch
# The topics the gateway takes work from, in its consumer group.
SUBSCRIBED = ("slices", "commands")
# Everything it reads (the journal and its venues' fills whole at start, the desks' heartbeats
# on `metrics`) and writes: what its Kafka ACLs allow (fillstream/acls.py).
READS = (*SUBSCRIBED, "gateway.journal", "fills", "metrics")
WRITES = ("gateway.journal", "fills", "fills.accounts", "metrics", "venue.instruments")
HEARTBEAT_FROM = b"desk"  # the processor (its executor) whose heartbeat is the engine's
KEEP_FINISHED = 1000  # finished slices per venue that periodic reconciliation still checks


async def run_gateway(
    config: EngineConfig,
    environ: Mapping[str, str] = os.environ,
    *,
    poll_interval: float = 0.5,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the configured ccxt venues until `stop` is set (or forever)."""
    if not config.gateway:
        raise ValueError("no [gateway.venues.<name>] in the configuration: nothing to serve")
    stop = stop or asyncio.Event()
    telemetry = Telemetry("gateway")
    out = _Writer(make_producer(), telemetry)
    adapters = {
        name: VenueAdapter(
            entry,
            read_credentials(entry, environ),
            write_ahead=out.journal,
            heartbeat_timeout_us=int(entry.heartbeat_timeout_seconds * 1_000_000),
        )
        for name, entry in config.gateway.items()
    }
    publisher = Publisher(
        telemetry, group=_GROUP.format(prefix=settings.topic_prefix()), topics=("slices",)
    ).start()
    try:
        journal = _read_journal()
        out.finished.update(
            (entry.slice_id, entry) for entry in latest(journal).values() if entry.step.final
        )
        out.published |= _published_trades(config.gateway)
        for name, adapter in adapters.items():
            await adapter.start()
            out.instruments(adapter)
            mine = [entry for entry in journal if entry.slice.venue == name]
            out.reports((await adapter.recover(mine)).reports)
            _report(name, await adapter.reconcile_held(out.done(name), out.published))
        await _serve(adapters, out, poll_interval, stop)
    finally:
        publisher.stop()
        for adapter in adapters.values():
            await adapter.close()
        out.flush()


async def _serve(
    adapters: Mapping[str, VenueAdapter], out: _Writer, poll_interval: float, stop: asyncio.Event
) -> None:
    consumer = Consumer(
        client_config(
            {
                "group.id": _GROUP.format(prefix=settings.topic_prefix()),
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
            }
        )
    )
    specs = [find(topic) for topic in SUBSCRIBED]
    decoders = {spec.full_name: typed_codec(spec) for spec in specs}
    names = {spec.full_name: spec.name for spec in specs}  # labels: catalog names
    consumer.subscribe(list(decoders))
    heartbeats = _Heartbeats()
    loop = asyncio.get_running_loop()
    next_poll = next_metrics = next_watchdog = loop.time()
    next_reconcile = {
        name: loop.time() + adapter.venue.reconcile_interval_seconds
        for name, adapter in adapters.items()
    }
    kills: set[str] = set()  # a global command comes once per partition: carried out once
    try:
        while not stop.is_set():
            message = await loop.run_in_executor(None, consumer.poll, 0.1)
            if message is not None and message.error() is None:
                out.telemetry.records_in.labels(names[message.topic()]).inc()
                try:
                    record = decoders[message.topic()].decode(message.value())
                except UndecodableRecord as error:
                    log.warning("record at offset %s skipped: %s", message.offset(), error)
                else:
                    if isinstance(record, Slice):
                        await _slice(adapters, out, record)
                    elif isinstance(record, Command):
                        await _command(adapters, record, kills)
                consumer.commit(message=message, asynchronous=False)
            if loop.time() >= next_poll:
                for adapter in adapters.values():
                    out.reports((await adapter.poll()).reports)
                next_poll = loop.time() + poll_interval
            if loop.time() >= next_watchdog:
                await _watch(adapters, heartbeats.latest_us())
                next_watchdog = loop.time() + WATCHDOG_INTERVAL
            for name, adapter in adapters.items():
                if loop.time() >= next_reconcile[name]:
                    found = await adapter.reconcile_held(out.done(name), out.published)
                    if not found.clean:
                        _report(name, found)
                    next_reconcile[name] = loop.time() + adapter.venue.reconcile_interval_seconds
            if loop.time() >= next_metrics:
                out.metrics(adapters)
                next_metrics = loop.time() + METRICS_INTERVAL
    finally:
        consumer.close()
        heartbeats.close()


_GROUP = "{prefix}fillstream-gateway"


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


async def _slice(adapters: Mapping[str, VenueAdapter], out: _Writer, child: Slice) -> None:
    adapter = adapters.get(child.venue)
    if adapter is not None:
        out.reports((await _carry_out(adapter, child)).reports)


async def _command(adapters: Mapping[str, VenueAdapter], command: Command, kills: set[str]) -> None:
    """A global kill switch cancels everything at every venue, the engine's orders or not (an
    account's kill switch reaches the gateway as the executor's cancels of its orders)."""
    if command.kind is not CommandKind.KILL_SWITCH or command.account_id is not None:
        return
    if command.command_id in kills:
        return
    kills.add(command.command_id)
    for adapter in adapters.values():
        await adapter.cancel_everything(f"kill switch {command.command_id}")


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


async def _carry_out(adapter: VenueAdapter, child: Slice) -> Outcome:
    if child.action is SliceAction.CANCEL:
        return await adapter.cancel(child)
    if child.action is SliceAction.REPLACE:
        # Not sent: the order stands at the venue as it was, and its fills count as they come.
        log.warning(
            "replace of %s not carried out: the gateway does not amend orders at %s",
            child.slice_id,
            child.venue,
        )
        return Outcome.empty()
    return await adapter.submit(child)


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


class _Writer:
    """What the gateway publishes: the journal (flushed before acting) and the executions;
    it remembers the finished slices and published trades that reconciliation compares."""

    def __init__(self, producer: Producer, telemetry: Telemetry) -> None:
        self.producer = producer
        self.telemetry = telemetry
        self.worker = worker_id()
        self.finished: dict[str, JournalEntry] = {}  # oldest first; the last KEEP_FINISHED
        self.published: set[tuple[str, str]] = set()  # (slice id, trade id) on `fills`
        self._journal = find("gateway.journal")
        self._fills, self._accounts = find("fills"), find("fills.accounts")
        self._metrics, self._rules = find("metrics"), find("venue.instruments")
        self._codecs = {topic: codec(find(topic)) for topic in WRITES}

    async def journal(self, entry: JournalEntry) -> None:
        self._send(self._journal, to_record(entry).model_dump())
        await asyncio.get_running_loop().run_in_executor(None, self.flush)
        if entry.step.final:
            self.finished[entry.slice_id] = entry
            if len(self.finished) > KEEP_FINISHED * 4:  # trimmed now and then, not per entry
                for slice_id in list(self.finished)[: -KEEP_FINISHED * 2]:
                    del self.finished[slice_id]

    def instruments(self, adapter: VenueAdapter) -> None:
        """The venue's instrument rules, as it states them, for risk, routing and execution."""
        now, source = time.time_ns() // 1000, f"ccxt:{adapter.venue.exchange}"
        for instrument in adapter.instruments.values():
            self._send(self._rules, instrument.to_rules(source, now).model_dump())
        self.flush()

    def done(self, venue: str) -> list[JournalEntry]:
        """The venue's most recently finished slices: their trades may still be missed."""
        mine = [entry for entry in self.finished.values() if entry.slice.venue == venue]
        return mine[-KEEP_FINISHED:]

    def reports(self, reports: list[ExecutionReport]) -> None:
        for report in reports:
            value = report.model_dump()
            self._send(self._fills, value)
            self.telemetry.records_out.labels("fills").inc()
            trade_id = trade_id_of(report.report_id)
            if trade_id is not None:
                self.published.add((report.slice_id, trade_id))
            if report.last_quantity > 0:
                self._send(self._accounts, value)
        self.flush()

    def metrics(self, adapters: Mapping[str, VenueAdapter]) -> None:
        """Each venue's figures (breaker state, calls, retries, errors by reason) on `metrics`."""
        now = time.time_ns() // 1000
        for venue, adapter in adapters.items():
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
                    self._send(self._metrics, metric.model_dump())
        self.flush()

    def flush(self) -> None:
        if self.producer.flush(30):
            raise RuntimeError("the broker did not take the gateway's records within 30 s")

    def _send(self, spec: Any, value: dict[str, Any]) -> None:
        send(self.producer, spec, self._codecs[spec.name].encode(value), key_of(spec, value))
