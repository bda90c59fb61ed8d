"""The live feed processor (`fillstream run feed`): venues' market data onto the market topics.

For each `[feed.venues.<name>]` venue and symbol, loops on one asyncio loop: the book, the
trades and the touch. Where ccxt.pro has the venue's streams (`watch_order_book`,
`watch_trades`, `watch_bids_asks` or `watch_ticker`) and the transport allows, they are
followed; otherwise the book and the trades are polled over REST every
`poll_interval_seconds`, under ccxt's own throttle at the venue's documented rate limit, and
the touch is the polled book's best levels (a ticker poll would spend a request of the
venue's limit on what the book already holds). What they receive goes through the
pure core (`core.py`) and is published with a plain producer on `market.book`,
`market.trades` and `market.quotes`, each quote and trade followed by its reference price on
`market.reference` (broadcast, as the recorded feeds' publisher does), so risk, the desk and
TCA read live data as they read recordings. The feed consumes nothing, so it does not run on
the processor loop.

Faults. A sequence gap (ccxt.pro's ChecksumError) or a lost connection (a NetworkError, or
ccxt handing back a book it built afresh after reconnecting on its own) resynchronises the
book from a new snapshot, and is counted on `metrics` as `feed_book_gaps_total{venue, symbol,
reason}` (`sequence` or `connection`). A loop whose venue fails waits a backoff with full
jitter (0.5 s doubling to 30 s, reset by a success) and calls again; after a lost
connection the trades loop also fetches the venue's recent trades, so that prints missed
meanwhile are published, once each (`TradeTape`).

Figures, beside the heartbeat every processor publishes: `feed_staleness_seconds{venue,
symbol}` (since anything was last received for it; the monitor's `stale_feed` rule), the
gaps, `feed_trades_repeated_total` and the records published, every
`FILLSTREAM_METRICS_INTERVAL`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import ccxt
import ccxt.pro
from prometheus_client import Counter

from fillstream.connectors.feeds.events import MarketEvent, MarketRecord
from fillstream.connectors.gateway.client import routing
from fillstream.connectors.gateway.exchanges import async_exchange
from fillstream.connectors.gateway.retry import RetryPolicy
from fillstream.connectors.livefeed import NAME, TOPICS
from fillstream.connectors.livefeed.config import FeedVenue
from fillstream.connectors.livefeed.core import (
    BookKeeper,
    Freshness,
    TradeTape,
    book_state,
    quote_of,
    touch_of,
    trades_of,
)
from fillstream.infra.topic_io import make_producer, send, typed_codec
from fillstream.infra.topics import ensure_topics
from fillstream.schemas.topics import find, key_of
from fillstream.settings.kafka_client import worker_id
from fillstream.streams.risk.market import reference_of
from fillstream.streams.telemetry import Publisher, Telemetry

__all__ = ["run_feed"]

log = logging.getLogger("fillstream.feed")

# Reconnection: full-jitter windows from 0.5 s doubling to 30 s; a feed never gives up.
BACKOFF = RetryPolicy(base_us=500_000, max_delay_us=30_000_000)


def _now_us() -> int:
    return time.time_ns() // 1_000


class _Figures:
    """The feed's own counters, in its telemetry's registry (published with the rest)."""

    def __init__(self, telemetry: Telemetry) -> None:
        labels = ["venue", "symbol"]
        registry = telemetry.registry
        self.records_out = telemetry.records_out
        self.gaps = Counter(
            "feed_book_gaps", "book resyncs", [*labels, "reason"], registry=registry
        )
        self.repeated = Counter(
            "feed_trades_repeated", "trades received again", labels, registry=registry
        )


class _Topics:
    """Encodes records and sends them where the catalog puts them."""

    def __init__(self, figures: _Figures) -> None:
        self._producer = make_producer()
        self._figures = figures
        self._specs = {name: find(name) for name in TOPICS}
        self._codecs = {name: typed_codec(spec) for name, spec in self._specs.items()}

    def publish(self, record: MarketRecord) -> None:
        topic = MarketEvent.of(record).topic
        self._send(topic, record)
        if (reference := reference_of(record)) is not None:
            self._send("market.reference", reference)
        self._producer.poll(0)

    def _send(self, topic: str, record: Any) -> None:
        spec = self._specs[topic]
        send(self._producer, spec, self._codecs[topic].encode(record), key_of(spec, record))
        self._figures.records_out.labels(topic).inc()

    def flush(self) -> None:
        self._producer.flush(10)


@dataclass
class _Symbol:
    """One venue symbol's loops: its client, its cores and where they publish."""

    venue: FeedVenue
    symbol: str
    client: Any  # a ccxt.pro or ccxt.async_support exchange
    streaming: bool
    topics: _Topics
    figures: _Figures
    freshness: Freshness
    book: BookKeeper = field(init=False)
    tape: TradeTape = field(default_factory=TradeTape)
    missed: bool = False  # a lost connection may have missed prints: fetch the recent ones

    def __post_init__(self) -> None:
        self.book = BookKeeper(self.venue.name)

    def heard(self) -> int:
        at = _now_us()
        self.freshness.hear(self.venue.name, self.symbol, at)
        return at

    def gap(self, reason: str) -> None:
        self.book.resync()
        self.figures.gaps.labels(self.venue.name, self.symbol, reason).inc()
        log.warning("%s %s: book resynchronised (%s)", self.venue.name, self.symbol, reason)

    async def follow_book(self) -> None:
        seen: object = None  # the ccxt book object last read: a new one is a fresh sync
        while True:
            try:
                book = await self._book()
            except ccxt.ChecksumError:
                seen = None
                self.gap("sequence")
                continue
            received = self.heard()
            if self.streaming and book is not seen:
                if seen is not None and self.book.published is not None:
                    self.gap("connection")  # ccxt reconnected and built the book again
                seen = book
            state = book_state(book, self.venue.depth, received)
            if (update := self.book.on_book(state)) is not None:
                self.topics.publish(update)
            if not self.streaming and (quote := touch_of(self.venue.name, state)) is not None:
                self.topics.publish(quote)

    async def _book(self) -> Any:
        if self.streaming:
            return await self.client.watch_order_book(self.symbol)
        await asyncio.sleep(self.venue.poll_interval_seconds)
        return await self.client.fetch_order_book(self.symbol, self.venue.depth)

    async def follow_trades(self) -> None:
        while True:
            if self.streaming and not self.missed:
                trades = await self.client.watch_trades(self.symbol)
            else:  # a poll, or the prints a lost connection may have missed
                if not self.streaming:
                    await asyncio.sleep(self.venue.poll_interval_seconds)
                trades = await self.client.fetch_trades(self.symbol, self.tape.since_ms)
                self.missed = False
            received = self.heard()
            records = trades_of(self.venue.name, trades, received)
            repeated = self.tape.repeated
            for record in self.tape.fresh(records):
                self.topics.publish(record)
            if self.tape.repeated > repeated:
                self.figures.repeated.labels(self.venue.name, self.symbol).inc(
                    self.tape.repeated - repeated
                )

    async def follow_touch(self) -> None:
        while True:
            ticker = await self._touch()
            quote = quote_of(self.venue.name, ticker, self.heard())
            if quote is not None:
                self.topics.publish(quote)

    async def _touch(self) -> Mapping[str, Any]:
        if self.client.has.get("watchBidsAsks"):
            return (await self.client.watch_bids_asks([self.symbol]))[self.symbol]
        return await self.client.watch_ticker(self.symbol)

    def lost_book(self) -> None:
        self.gap("connection")

    def lost_trades(self) -> None:
        self.missed = True

    async def forever(
        self,
        name: str,
        loop: Callable[[], Awaitable[None]],
        on_loss: Callable[[], None] = lambda: None,
    ) -> None:
        """Run `loop` for ever: after a venue's failure (`on_loss` says what it costs), back
        off and run it again."""
        failures = 0
        while True:
            attempt_us = _now_us()
            try:
                await loop()
            except ccxt.NetworkError as error:  # includes a lost connection
                if self.freshness.heard.get((self.venue.name, self.symbol), 0) > attempt_us:
                    failures = 0  # data came since the last attempt: the backoff starts over
                failures += 1
                on_loss()
                delay = random.random() * BACKOFF.window_us(failures) / 1_000_000
                log.warning(
                    "%s %s %s: %s; again in %.1f s",
                    self.venue.name,
                    self.symbol,
                    name,
                    error,
                    delay,
                )
                await asyncio.sleep(delay)


def _client(venue: FeedVenue) -> tuple[Any, bool]:
    """The venue's ccxt client and whether it streams: ccxt.pro's where the venue has its
    streams and the transport allows, else the REST client, throttled by ccxt."""
    pro = getattr(ccxt.pro, venue.exchange, None)
    settings = {
        **routing(venue.exchange, venue.api_url, venue.ws_url if pro else None),
        "enableRateLimit": True,  # the venue's own documented limit, for polls and snapshots
    }
    if venue.transport != "poll" and pro is not None:
        client = pro(settings)
        if client.has.get("watchOrderBook") and client.has.get("watchTrades"):
            return client, True
        if venue.transport == "stream":
            raise ValueError(f"feed.venues.{venue.name}: {venue.exchange} has no streams")
    elif venue.transport == "stream":
        raise ValueError(f"feed.venues.{venue.name}: ccxt.pro has no {venue.exchange}")
    return async_exchange(venue.exchange)(settings), False


def run_feed(venues: Mapping[str, FeedVenue]) -> None:
    """Publish the venues' market data until SIGTERM or SIGINT."""
    ensure_topics([find(name) for name in (*TOPICS, "metrics")])
    asyncio.run(_main(venues))


async def _main(venues: Mapping[str, FeedVenue]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    telemetry = Telemetry(NAME)
    figures = _Figures(telemetry)
    freshness = Freshness(_now_us())
    followed = [(venue.name, symbol) for venue in venues.values() for symbol in venue.symbols]
    worker = worker_id()
    publisher = Publisher(
        telemetry, extra=lambda: freshness.staleness(NAME, worker, followed, _now_us())
    ).start()
    topics = _Topics(figures)
    clients: list[Any] = []
    tasks: list[asyncio.Task[None]] = []
    for venue in venues.values():
        client, streaming = _client(venue)
        clients.append(client)
        for symbol in venue.symbols:
            feed = _Symbol(venue, symbol, client, streaming, topics, figures, freshness)
            tasks += [
                asyncio.create_task(feed.forever("book", feed.follow_book, feed.lost_book)),
                asyncio.create_task(feed.forever("trades", feed.follow_trades, feed.lost_trades)),
            ]
            if streaming:  # else the polled book gives the touch
                tasks.append(asyncio.create_task(feed.forever("touch", feed.follow_touch)))
    stopping = asyncio.create_task(stop.wait())
    try:
        # A loop ends only by an error that is not the venue's to retry (a symbol it does not
        # list, a record the contract refuses): the process ends with it, and its supervisor
        # decides when to start it again.
        await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in (stopping, *tasks):
            task.cancel()
        await asyncio.gather(stopping, *tasks, return_exceptions=True)
        for client in clients:
            await client.close()
        topics.flush()
        publisher.stop()
