"""One venue behind ccxt: the imperative shell around the gateway's cores, without Kafka.

A `VenueAdapter` owns the venue's ccxt client and the state the cores need between calls (the
instruments, the live orders' trackers, the reservations, the breaker, the bucket). Each public
method returns plain values, the journal entries and the execution reports of what it did, so
the Kafka shell only writes them. The one exception to "return, then write" is the journal:
an entry must be durable before the gateway acts on it, so each is first handed to the
`write_ahead` callable (the shell's journal producer) and only then acted upon.

Every venue call goes the same way (connectors/gateway/calls.py): the breaker may refuse it,
the bucket may make it wait, and its failure is classified and counted, then retried with
backoff, given up, or, for a create, looked up by client order id; never re-sent blindly.

The venue's entry carries its error policy (`VenuePolicy`): the retries and their delay, the
breaker's threshold, open time and switch, ccxt's request timeout, and how often `poll`
follows the open orders. The adapter takes all of it from the entry, so a venue's table in
the configuration is the one place that sets it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from fillstream.connectors.gateway.calls import Sleep, VenueCallError, VenueCalls
from fillstream.connectors.gateway.capabilities import (
    cancel_at,
    capabilities_of,
    expiry_reason,
    order_args,
    refusal,
)
from fillstream.connectors.gateway.client import build_client
from fillstream.connectors.gateway.config import Credentials, VenueEntry
from fillstream.connectors.gateway.errors import Disposition, Operation
from fillstream.connectors.gateway.exchanges import describe
from fillstream.connectors.gateway.journal import (
    JournalEntry,
    LookupOutcome,
    Recovery,
    Step,
    advance,
    after_lookup,
    begin,
    recover,
)
from fillstream.connectors.gateway.markets import instrument_from_market
from fillstream.connectors.gateway.precommit import (
    PreCommit,
    Reservation,
    pre_commit,
    reserved,
)
from fillstream.connectors.gateway.ratelimit import TokenBucket
from fillstream.connectors.gateway.reasons import GatewayReason
from fillstream.connectors.gateway.reconcile import EngineOrder, Reconciliation, reconcile
from fillstream.connectors.gateway.redact import RedactingFilter, Redactor
from fillstream.connectors.gateway.tracking import OrderTracker
from fillstream.connectors.gateway.watchdog import SwitchAction, SwitchDecision, dead_man_switch
from fillstream.domain.instruments import Instrument
from fillstream.domain.reports import rejected
from fillstream.schemas.models import ExecutionReport, Side, Slice, VenueBalance

__all__ = ["Balance", "GatewayStartError", "Outcome", "VenueAdapter"]

WriteAhead = Callable[[JournalEntry], Awaitable[None]]

# Binance's default recvWindow (10 s) plus a margin for clock skew and the journal-to-sign gap.
_RECV_WINDOW_US = 15_000_000
# Why a cancel may still succeed later: the error policy's transient failures, retried until
# exhausted, and the breaker, which lets a probe through after its open timeout.
_TRIED_AGAIN = frozenset({GatewayReason.RETRIES_EXHAUSTED, GatewayReason.CIRCUIT_OPEN})


class GatewayStartError(RuntimeError):
    """The venue cannot be used: refused credentials, unlisted symbols, no answer."""


class Balance(NamedTuple):
    """The venue's balance by asset as last fetched: free (not held by orders) and total, at
    `at_us`."""

    free: dict[str, Decimal]
    total: dict[str, Decimal]
    at_us: int

    def to_record(self, venue: str) -> VenueBalance:
        """As a record of `venue.balances`: the assets the venue holds any of (a free amount
        below zero, an overdraft some venues report, as none free)."""
        held = {asset: amount for asset, amount in self.total.items() if amount > 0}
        return VenueBalance(
            venue=venue,
            free={asset: max(self.free.get(asset, Decimal(0)), Decimal(0)) for asset in held},
            total=held,
            fetched_at=self.at_us,
        )


def _amounts(balance: Mapping[str, Any], kind: str) -> dict[str, Decimal]:
    """One kind of ccxt's unified balance (`free`, `used`, `total`) by asset, exactly."""
    return {
        asset: Decimal(str(amount))
        for asset, amount in (balance.get(kind) or {}).items()
        if amount is not None
    }


class Outcome(NamedTuple):
    """What a call did: journal entries (already handed to `write_ahead`) and reports."""

    journal: list[JournalEntry]
    reports: list[ExecutionReport]

    @classmethod
    def empty(cls) -> Outcome:
        return cls([], [])


async def _no_journal(entry: JournalEntry) -> None:
    return None


def _wall_clock_us() -> int:
    return time.time_ns() // 1_000


class VenueAdapter:
    """One venue's ccxt client and the gateway's state for it (see the module docstring)."""

    def __init__(
        self,
        venue: VenueEntry,
        credentials: Credentials,
        *,
        write_ahead: WriteAhead = _no_journal,
        bucket: TokenBucket | None = None,
        heartbeat_timeout_us: int = 10_000_000,
        recv_window_us: int = _RECV_WINDOW_US,
        clock_us: Callable[[], int] = _wall_clock_us,
        sleep: Sleep = asyncio.sleep,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.venue = venue
        self.redactor = Redactor(credentials.values())
        self.log = logging.getLogger(f"fillstream.gateway.{venue.name}")
        self._ccxt_log = self.log.getChild("ccxt")
        self._filter = RedactingFilter(self.redactor)
        for logger in (self.log, self._ccxt_log):
            logger.addFilter(self._filter)
        self.calls = VenueCalls(
            venue,
            self.redactor,
            self.log,
            bucket=bucket
            or TokenBucket.for_rate_limit(
                describe(venue.exchange)["rateLimit"], capacity=10, start_us=clock_us()
            ),
            clock_us=clock_us,
            sleep=sleep,
            draw=draw,
        )
        self.client = build_client(
            venue, credentials, logger=self._ccxt_log, throttle=self.calls.throttle
        )
        self.instruments: dict[str, Instrument] = {}
        self.capabilities = capabilities_of(venue.exchange)
        self._write_ahead = write_ahead
        self._heartbeat_timeout_us = heartbeat_timeout_us
        self._recv_window_us = recv_window_us
        self._clock = clock_us
        self._entries: dict[str, JournalEntry] = {}  # each live slice's last journal entry
        self._trackers: dict[str, OrderTracker] = {}  # acknowledged, not yet final
        self._unsettled: set[str] = set()  # sent, fate unknown: looked up again by `poll`
        self._cancelling: dict[str, Slice] = {}  # cancels that failed: tried again by `poll`
        self._reservations: dict[str, Reservation] = {}  # sent, not yet in the balance
        self._acknowledged_us: dict[str, int] = {}  # when each reserved order was acknowledged
        self.balance: Balance | None = None  # the venue's latest, fetched when due
        self._published: dict[str, list[ExecutionReport]] = {}  # reports before a restart
        self._last_cancel_us: int | None = None
        self._polled_us: int | None = None  # when `poll` last followed the orders

    async def __aenter__(self) -> VenueAdapter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.client.close()
        for logger in (self.log, self._ccxt_log):
            logger.removeFilter(self._filter)

    # -- start ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Prove the credentials with one signed call, then read the instruments' rules."""
        try:
            await self.calls.retrying(Operation.QUERY, self.client.fetch_balance)
            markets = await self.calls.retrying(Operation.QUERY, self.client.load_markets)
        except VenueCallError as failed:
            raise GatewayStartError(f"venue {self.venue.name!r}: {failed.reason}") from None
        unlisted = [symbol for symbol in self.venue.symbols if symbol not in markets]
        if unlisted:
            raise GatewayStartError(
                f"venue {self.venue.name!r} does not list {', '.join(unlisted)}"
            )
        self.instruments = {
            symbol: instrument_from_market(
                self.venue.name, markets[symbol], self.client.precisionMode
            )
            for symbol in self.venue.symbols
        }
        self.log.info("venue %s ready: %s", self.venue.name, ", ".join(self.instruments))

    # -- new orders ----------------------------------------------------------------------

    async def submit(self, slice_: Slice, reference_price: Decimal | None = None) -> Outcome:
        """Pre-commit, commit, post-commit: the three phases of a new slice.

        `reference_price` prices an order without one (the touch it would take) for the
        notional and balance checks; without it, the venue's ticker gives the touch. A slice
        already in hand (a re-delivery) changes nothing; one the journal has finished must be
        dropped by the shell, which reads the journal.
        """
        out = Outcome.empty()
        if slice_.slice_id in self._entries:
            return out
        try:
            free = (await self._balance_now()).free
            if slice_.price is None and reference_price is None:
                reference_price = await self._touch(slice_)
        except VenueCallError as failed:
            decision = PreCommit(failed.reason)
        else:
            decision = pre_commit(
                slice_,
                self.instruments.get(slice_.symbol),
                free,
                reserved(self._reservations.values()),
                reference_price,
            )
        if decision.accepted:
            decision = PreCommit(refusal(slice_, self.capabilities, self._clock()))
        entry = await self._journal(out, begin(slice_, decision, self._clock()))
        if entry.step is Step.REFUSED:
            out.reports.append(_rejection(entry, self.venue.name))
            return out
        self._entries[slice_.slice_id] = entry
        price = slice_.price or reference_price
        if price is not None:
            self._reservations[slice_.slice_id] = Reservation(
                slice_.symbol, slice_.side, slice_.quantity, price
            )
        await self._send(out, entry)
        await self._expire_due(out)  # an IOC the venue cannot end itself ends now
        return out

    async def _send(self, out: Outcome, entry: JournalEntry) -> None:
        """Create the order, journaling SENDING right before each attempt."""
        slice_ = entry.slice
        kind, price, params = order_args(slice_, self.capabilities)
        amount = float(slice_.quantity)

        async def sending() -> None:
            nonlocal entry
            entry = await self._journal(out, advance(entry, Step.SENDING, self._clock()))

        while True:
            try:
                order = await self.calls.once(
                    Operation.CREATE,
                    lambda: self.client.create_order(
                        slice_.symbol, kind, slice_.side.value, amount, price, params
                    ),
                    before=sending,
                )
            except VenueCallError as failed:
                if failed.disposition is Disposition.LOOK_UP:
                    entry = await self._journal(
                        out, advance(entry, Step.UNKNOWN, self._clock(), reason=failed.reason)
                    )
                    await self._settle(out, entry)
                    return
                if failed.disposition is Disposition.RETRY:
                    given_up = await self.calls.back_off(entry.attempt, failed)
                    if given_up is None:
                        continue
                    failed = given_up
                await self._end_unsent(out, entry, failed.reason)
                return
            await self._acknowledged(out, entry, order)
            return

    async def _settle(self, out: Outcome, entry: JournalEntry) -> None:
        """Look a sent order up by its client order id; track it, send it again, or wait."""
        slice_ = entry.slice
        self._entries[slice_.slice_id] = entry
        self._unsettled.discard(slice_.slice_id)
        try:
            order = await self.calls.retrying(
                Operation.QUERY,
                lambda: self.client.fetch_order(
                    None, slice_.symbol, {"clientOrderId": slice_.slice_id}
                ),
            )
        except VenueCallError as failed:
            if failed.code is not GatewayReason.ORDER_NOT_FOUND:
                self.log.warning("look-up of %s failed: %s", slice_.slice_id, failed.reason)
                self._unsettled.add(slice_.slice_id)
                return
            order = None
        outcome = after_lookup(entry, order is not None, self._clock(), self._recv_window_us)
        if outcome is LookupOutcome.FOUND and order is not None:
            await self._acknowledged(out, entry, order)
        elif outcome is LookupOutcome.WAIT:
            self._unsettled.add(slice_.slice_id)
        elif entry.attempt >= self.calls.max_attempts:
            detail = GatewayReason.ORDER_NOT_FOUND.text(detail=slice_.slice_id)
            reason = GatewayReason.RETRIES_EXHAUSTED.text(attempts=entry.attempt, detail=detail)
            await self._end_unsent(out, entry, reason)
        else:
            await self._send(out, entry)

    async def _acknowledged(
        self, out: Outcome, entry: JournalEntry, order: Mapping[str, Any]
    ) -> None:
        slice_id = entry.slice_id
        if slice_id in self._reservations:  # held until a balance fetched after this counts it
            self._acknowledged_us[slice_id] = self._clock()
        self._entries[slice_id] = await self._journal(
            out,
            advance(entry, Step.ACKNOWLEDGED, self._clock(), venue_order_id=str(order["id"])),
        )
        tracker = self._track(entry)
        out.reports.extend(tracker.on_order(order, self._clock()))
        if tracker.missing_quantity > 0:
            await self._follow(out, tracker, fetch_order=False)
        else:
            await self._finish(out, tracker)

    async def _end_unsent(self, out: Outcome, entry: JournalEntry, reason: str) -> None:
        """Refused before any send, or rejected after sends that placed nothing."""
        step = Step.REFUSED if entry.step is Step.VALIDATED else Step.REJECTED
        entry = await self._journal(out, advance(entry, step, self._clock(), reason=reason))
        self._reservations.pop(entry.slice_id, None)
        self._acknowledged_us.pop(entry.slice_id, None)
        self._entries.pop(entry.slice_id, None)
        out.reports.append(_rejection(entry, self.venue.name))

    # -- live orders ---------------------------------------------------------------------

    async def cancel(self, slice_: Slice) -> Outcome:
        """Cancel by client order id; an order already final is no error, just reported.

        A cancel that failed while the venue may still take it (its retries exhausted, the
        breaker open) is kept and tried again by each `poll`, with the policy's retries each
        time, until it succeeds or the order has ended; another refusal is raised as
        `VenueCallError`.
        """
        out = Outcome.empty()
        await self._cancel_or_keep(out, slice_)
        return out

    async def _cancel_or_keep(self, out: Outcome, slice_: Slice) -> None:
        """Cancel, or keep the cancel for `poll`: journaled, so that a restart keeps it too
        (the cancel's own record is behind the gateway's inputs by then)."""
        self._cancelling.pop(slice_.slice_id, None)
        try:
            await self._cancel(out, slice_)
        except VenueCallError as failed:
            entry = self._entries.get(slice_.slice_id)
            if failed.code not in _TRIED_AGAIN or entry is None:
                raise
            if entry.step is not Step.CANCELLING:
                self._entries[slice_.slice_id] = await self._journal(
                    out, advance(entry, Step.CANCELLING, self._clock(), reason=failed.reason)
                )
            self._cancelling[slice_.slice_id] = slice_
            self.log.warning("cancel of %s failed, tried again: %s", slice_.slice_id, failed.reason)

    async def _cancel(self, out: Outcome, slice_: Slice) -> None:
        try:
            order = await self.calls.retrying(
                Operation.CANCEL,
                lambda: self.client.cancel_order(
                    None, slice_.symbol, {"clientOrderId": slice_.slice_id}
                ),
            )
        except VenueCallError as failed:
            if failed.code is not GatewayReason.ORDER_NOT_FOUND:
                raise
            order = None
        tracker = self._trackers.get(slice_.slice_id)
        if tracker is None:
            return
        if order is None:
            await self._follow(out, tracker)
        else:
            # Binance names the cancel request in `clientOrderId`, not the order.
            out.reports.extend(tracker.on_order({**order, "clientOrderId": None}, self._clock()))
            await self._follow(out, tracker, fetch_order=False)

    async def poll(self) -> Outcome:
        """Every tracked order's news, each fill once; sends of unknown fate looked up again;
        the balance fetched again when due.

        At most once per the venue's `order_update_interval`: a call sooner does nothing, so
        the shell may call every venue's `poll` as often as the most eager venue wants.
        """
        out = Outcome.empty()
        now_us = self._clock()
        since = None if self._polled_us is None else now_us - self._polled_us
        if since is not None and 0 <= since < self.venue.policy.order_update_interval_us:
            return out
        self._polled_us = now_us
        try:
            await self._balance_now()
        except VenueCallError as failed:  # the one in hand stands; asked again next time
            self.log.warning("balance of %s not refreshed: %s", self.venue.name, failed.reason)
        for slice_id in sorted(self._unsettled):
            await self._settle(out, self._entries[slice_id])
        for slice_ in list(self._cancelling.values()):
            if slice_.slice_id not in self._entries:  # it ended meanwhile
                del self._cancelling[slice_.slice_id]
                continue
            try:
                await self._cancel_or_keep(out, slice_)
            except VenueCallError as failed:
                self.log.error("cancel of %s given up: %s", slice_.slice_id, failed.reason)
        await self._expire_due(out)
        for tracker in list(self._trackers.values()):
            await self._follow(out, tracker)
        return out

    async def _expire_due(self, out: Outcome) -> None:
        """Cancel each order whose DAY or GTD expiry, or IOC, the venue cannot keep and which is
        due.

        The expiry comes from the slice alone (`capabilities.cancel_at`), so a gateway
        restarted from its journal cancels at the same time; a cancel that fails is tried
        again at the next poll.
        """
        now_us = self._clock()
        for tracker in list(self._trackers.values()):
            expiry = cancel_at(tracker.slice, self.capabilities)
            if expiry is None or now_us < expiry or tracker.expiring is not None:
                continue
            tracker.expiring = expiry_reason(tracker.slice, tracker.slice.quantity - tracker.filled)
            try:
                await self._cancel(out, tracker.slice)
            except VenueCallError as failed:
                tracker.expiring = None
                self.log.warning("expiry of %s failed: %s", tracker.slice.slice_id, failed.reason)

    async def _follow(
        self, out: Outcome, tracker: OrderTracker, *, fetch_order: bool = True
    ) -> None:
        """The order's snapshot (unless just seen) and its trades, through its tracker."""
        slice_ = tracker.slice
        venue_id = tracker.venue_order_id
        try:
            if fetch_order:
                order = await self.calls.retrying(
                    Operation.QUERY, lambda: self.client.fetch_order(venue_id, slice_.symbol)
                )
                out.reports.extend(tracker.on_order(order, self._clock()))
            trades = await self.calls.retrying(
                Operation.QUERY,
                lambda: self.client.fetch_my_trades(slice_.symbol, params={"orderId": venue_id}),
            )
        except VenueCallError as failed:
            self.log.warning("following %s failed: %s", slice_.slice_id, failed.reason)
            return
        out.reports.extend(tracker.on_trades(trades, self._clock()))
        await self._finish(out, tracker)

    async def _finish(self, out: Outcome, tracker: OrderTracker) -> None:
        if not tracker.final:
            return
        slice_id = tracker.slice.slice_id
        del self._trackers[slice_id]
        await self._journal(out, advance(self._entries.pop(slice_id), Step.DONE, self._clock()))

    # -- after a restart, and against drift ----------------------------------------------

    async def recover(
        self, entries: Iterable[JournalEntry], published: Iterable[ExecutionReport] = ()
    ) -> Outcome:
        """Carry out what the journal of a previous run leaves to do.

        `published` are the reports already on `fills`, so no execution is reported twice.
        """
        for report in published:
            self._published.setdefault(report.slice_id, []).append(report)
        out = Outcome.empty()
        tracked: list[OrderTracker] = []
        for action in recover(entries):
            entry = action.entry
            self._entries[entry.slice_id] = entry
            if action.action is Recovery.SEND:
                await self._send(out, entry)
            elif action.action is Recovery.LOOK_UP:
                await self._settle(out, entry)
            else:
                tracker = self._track(entry)
                tracker.venue_order_id = entry.venue_order_id
                tracked.append(tracker)
                if action.action is Recovery.CANCEL:  # tried again at the next poll
                    self._cancelling[entry.slice_id] = entry.slice
        # Expiries first: an order cancelled at its expiry before the crash ends as expired.
        await self._expire_due(out)
        for tracker in tracked:
            if self._trackers.get(tracker.slice.slice_id) is tracker:
                await self._follow(out, tracker)
        return out

    def _track(self, entry: JournalEntry) -> OrderTracker:
        """Start following an acknowledged slice, knowing what `fills` already has of it."""
        tracker = OrderTracker.resume(
            entry.slice, self.venue.name, self._published.pop(entry.slice_id, ())
        )
        self._trackers[entry.slice_id] = tracker
        return tracker

    async def reconcile_held(
        self, finished: Iterable[JournalEntry], published: Collection[tuple[str, str]]
    ) -> Reconciliation:
        """What the adapter holds (after `recover`: the journal's open slices, and the trades
        its trackers reported), and the slices the journal has `finished`, against the venue.
        `published` are the (slice id, trade id) pairs already on `fills`."""
        engine = [
            EngineOrder(slice_id, tracker.slice.symbol, tracker.venue_order_id, open=True)
            for slice_id, tracker in self._trackers.items()
        ]
        engine += [
            EngineOrder(slice_id, self._entries[slice_id].slice.symbol, None, open=True)
            for slice_id in self._unsettled
        ]
        engine += [
            EngineOrder(entry.slice_id, entry.slice.symbol, entry.venue_order_id, open=False)
            for entry in finished
        ]
        reported = {
            (slice_id, trade_id)
            for slice_id, tracker in self._trackers.items()
            for trade_id in tracker.trade_ids
        }
        return await self.reconcile(engine, reported | set(published))

    async def reconcile(
        self, engine_orders: Iterable[EngineOrder], published_trades: Collection[tuple[str, str]]
    ) -> Reconciliation:
        """The engine's orders against the venue's open orders and recent trades, per symbol."""
        open_orders: list[Mapping[str, Any]] = []
        trades: list[Mapping[str, Any]] = []
        for symbol in self.venue.symbols:
            open_orders += await self.calls.retrying(
                Operation.QUERY, lambda symbol=symbol: self.client.fetch_open_orders(symbol)
            )
            trades += await self.calls.retrying(
                Operation.QUERY, lambda symbol=symbol: self.client.fetch_my_trades(symbol)
            )
        return reconcile(engine_orders, open_orders, trades, published_trades)

    async def watchdog(self, last_heartbeat_us: int, now_us: int) -> SwitchDecision:
        """The dead man's switch: arm the venue's timer, or cancel everything once stale."""
        decision = dead_man_switch(
            last_heartbeat_us,
            now_us,
            self._heartbeat_timeout_us,
            venue_has_timer=bool(self.client.has.get("cancelAllOrdersAfter")),
            last_cancel_us=self._last_cancel_us,
        )
        if decision.action is SwitchAction.ARM_VENUE_TIMER:
            await self.calls.retrying(
                Operation.CANCEL, lambda: self.client.cancel_all_orders_after(decision.timeout_ms)
            )
        elif decision.action is SwitchAction.CANCEL_ALL_NOW:
            await self.cancel_everything("heartbeat stale")
            self._last_cancel_us = now_us
        return decision

    async def cancel_everything(self, why: str) -> None:
        """Cancel every open order of the account at the venue, the engine's or not."""
        self.log.warning("%s: cancelling every open order at %s", why, self.venue.name)
        for symbol in self.venue.symbols:
            try:
                await self.calls.retrying(
                    Operation.CANCEL, lambda symbol=symbol: self.client.cancel_all_orders(symbol)
                )
            except VenueCallError as failed:  # "not found": nothing was open there
                if failed.code is not GatewayReason.ORDER_NOT_FOUND:
                    raise

    def metrics(self) -> dict[str, Any]:
        """A snapshot for the metrics exporter: gauges and counters, errors by reason code."""
        return {
            **self.calls.metrics(),
            "tracked_orders": len(self._trackers),
            "unsettled_orders": len(self._unsettled),
        }

    # -- calls ---------------------------------------------------------------------------

    async def _journal(self, out: Outcome, entry: JournalEntry) -> JournalEntry:
        await self._write_ahead(entry)
        out.journal.append(entry)
        return entry

    async def _balance_now(self) -> Balance:
        """The venue's balance, fetched again once `balance_update_interval` old (or never
        fetched). An order it counts leaves the reservations: one acknowledged before the
        request was sent."""
        now_us = self._clock()
        if self.balance is not None and now_us - self.balance.at_us < (
            self.venue.policy.balance_update_interval_us
        ):
            return self.balance
        fetched = await self.calls.retrying(Operation.QUERY, self.client.fetch_balance)
        self.balance = Balance(_amounts(fetched, "free"), _amounts(fetched, "total"), now_us)
        for slice_id, acknowledged_us in list(self._acknowledged_us.items()):
            if acknowledged_us <= now_us:
                del self._acknowledged_us[slice_id], self._reservations[slice_id]
        return self.balance

    async def _touch(self, slice_: Slice) -> Decimal | None:
        """The price a market slice would take at: the ask for a buy, the bid for a sell."""
        ticker = await self.calls.retrying(
            Operation.QUERY, lambda: self.client.fetch_ticker(slice_.symbol)
        )
        price = ticker.get("ask" if slice_.side is Side.BUY else "bid")
        return None if price is None else Decimal(str(price))


def _rejection(entry: JournalEntry, venue: str) -> ExecutionReport:
    """The report of a slice refused or rejected before the venue held it."""
    return rejected(
        entry.slice,
        report_id=f"{entry.slice_id}#end",
        venue=venue,
        reason=entry.reason,
        timestamp=entry.timestamp,
    )
