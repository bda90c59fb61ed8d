"""The gateway processor: slices of the ccxt venues in, their executions out, over Kafka.

`fillstream run gateway` runs it for the venues of the engine configuration's
`[gateway.venues.<name>]` tables (the simulated venue leaves their slices alone). It is an
asyncio service around one `VenueAdapter` per venue, with confluent-kafka directly (ccxt is
async; a Quix Streams application is not), and it is thin: the adapter decides, this writes.

- **Start.** Each venue's credentials come from the environment; the adapter proves them with
  one signed call and reads the venue's instrument rules. The journal topic is read whole, and
  the adapter carries out what it leaves to do (look up a slice whose send had no answer, track
  what was acknowledged) before any new slice is taken; then it reconciles what it holds with
  the venue, and the log says, once, what differs (orders the engine does not know, its orders
  no longer open there, fills it missed, which the tracking publishes).
- **Write ahead.** Every journal entry is on `gateway.journal`, flushed, before the adapter
  acts on it: after a crash the journal says where every slice stood.
- **Slices.** New ones go through the three-phase commit, cancels are carried out; the offset
  is committed once the outcome is published (at least once: the adapter drops a slice it
  already holds, and report ids are deterministic, so the OMS and the executor count a
  re-published report once).
- **Tracking.** Every `poll_interval` seconds each adapter follows its open orders; each new
  fill is published once, on `fills` and (re-keyed by account, for risk) `fills.accounts`.
- **Kill switch.** A global kill switch on `commands` cancels every open order at every venue.
- **Metrics.** Every few seconds each venue's figures (the circuit breaker's state, calls,
  retries, errors by reason) go to `metrics`, labelled by venue.
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
from fillstream.topic_io import codec, consume, make_producer, send

__all__ = ["run_gateway"]

log = logging.getLogger("fillstream.gateway")

METRICS_INTERVAL = 5.0  # seconds between two publications of each venue's figures


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
    out = _Writer(make_producer())
    adapters = {
        name: VenueAdapter(entry, read_credentials(entry, environ), write_ahead=out.journal)
        for name, entry in config.gateway.items()
    }
    try:
        journal = _read_journal()
        finished = [entry for entry in latest(journal).values() if entry.step.final]
        published = _published_trades(config.gateway)
        for name, adapter in adapters.items():
            await adapter.start()
            mine = [entry for entry in journal if entry.slice.venue == name]
            out.reports((await adapter.recover(mine)).reports)
            done = [entry for entry in finished if entry.slice.venue == name]
            _report(name, await adapter.reconcile_held(done, published))
        await _serve(adapters, out, poll_interval, stop)
    finally:
        for adapter in adapters.values():
            await adapter.close()
        out.flush()


async def _serve(
    adapters: Mapping[str, VenueAdapter], out: _Writer, poll_interval: float, stop: asyncio.Event
) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers(),
            "group.id": f"{settings.topic_prefix()}fillstream-gateway",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )
    slices, commands = find("slices"), find("commands")
    decoders = {spec.full_name: codec(spec) for spec in (slices, commands)}
    consumer.subscribe(list(decoders))
    loop = asyncio.get_running_loop()
    next_poll = next_metrics = loop.time()
    kills: set[str] = set()  # a global command comes once per partition: carried out once
    try:
        while not stop.is_set():
            message = await loop.run_in_executor(None, consumer.poll, 0.1)
            if message is not None and message.error() is None:
                try:
                    record = decoders[message.topic()].decode(message.value())
                except UndecodableRecord as error:
                    log.warning("record at offset %s skipped: %s", message.offset(), error)
                else:
                    if message.topic() == slices.full_name:
                        await _slice(adapters, out, record)
                    else:
                        await _command(adapters, record, kills)
                consumer.commit(message=message, asynchronous=False)
            if loop.time() >= next_poll:
                for adapter in adapters.values():
                    out.reports((await adapter.poll()).reports)
                next_poll = loop.time() + poll_interval
            if loop.time() >= next_metrics:
                out.metrics(adapters)
                next_metrics = loop.time() + METRICS_INTERVAL
    finally:
        consumer.close()


async def _slice(adapters: Mapping[str, VenueAdapter], out: _Writer, record: Any) -> None:
    try:
        child = Slice.model_validate(record)
    except ValueError as error:
        log.warning("slice skipped: %s", error)
        return
    adapter = adapters.get(child.venue)
    if adapter is not None:
        out.reports((await _carry_out(adapter, child)).reports)


async def _command(adapters: Mapping[str, VenueAdapter], record: Any, kills: set[str]) -> None:
    """A global kill switch cancels everything at every venue, the engine's orders or not (an
    account's kill switch reaches the gateway as the executor's cancels of its orders)."""
    try:
        command = Command.model_validate(record)
    except ValueError as error:
        log.warning("command skipped: %s", error)
        return
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
    """What the gateway publishes: the journal (flushed before acting) and the executions."""

    def __init__(self, producer: Producer) -> None:
        self.producer = producer
        self._journal = find("gateway.journal")
        self._fills, self._accounts = find("fills"), find("fills.accounts")
        self._metrics = find("metrics")
        specs = (self._journal, self._fills, self._accounts, self._metrics)
        self._codecs = {spec.name: codec(spec) for spec in specs}

    async def journal(self, entry: JournalEntry) -> None:
        self._send(self._journal, to_record(entry).model_dump())
        await asyncio.get_running_loop().run_in_executor(None, self.flush)

    def reports(self, reports: list[ExecutionReport]) -> None:
        for report in reports:
            value = report.model_dump()
            self._send(self._fills, value)
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
                    labels = {"venue": venue} | ({"reason": reason} if reason else {})
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
