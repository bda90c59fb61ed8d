"""The emulated exchange: accounts, orders and a recorded market, matched by the simulated venue.

No HTTP, no wall clock: every call is synchronous and deterministic, so a test drives it in
process and the HTTP layer (`app.py`) is a thin shell over it. Time is market time and moves
only by `advance_to` (the recording's events up to then reach the venue and the public market)
or by an order's own latency (the venue's `latency_us`: a request waits for the market to move
that far before it answers, so what an order meets is what the market did meanwhile).

Orders are matched by `SimulatedVenue` (see its docstrings for how it matches against recorded
data): the exchange turns each Binance order into a slice and books the venue's reports as
fills, balances and statuses. A refusal by the venue (a filter, a post-only that would cross)
answers the request as Binance's error; the order is not kept.

Two faults act on orders rather than on HTTP (`faults.py` has the others):
- `cap_fills(quantity, orders)`: each of the next `orders` orders sends at most `quantity` to
  the venue at first. A resting (GTC) order sends the rest at the next `advance_to`, so it
  fills partly now and the rest later; an IOC or market order expires with the rest; an FOK
  order that cannot send all of it expires unfilled.
- `lose_order(client_order_id)`: the exchange cancels the order quietly and forgets it: fetch
  and cancel answer -2013 and -2011, open orders leave it out, its trades stay in myTrades.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from fillstream.connectors.emulator.accounts import Account, Wallet
from fillstream.connectors.emulator.errors import (
    BinanceError,
    bad_api_key,
    bad_parameter,
    cancel_unknown,
    duplicate_order,
    fetch_unknown,
    mandatory,
    unknown_symbol,
)
from fillstream.connectors.emulator.listings import Listing
from fillstream.connectors.emulator.market import SymbolMarket
from fillstream.connectors.emulator.orders import (
    EmulatedOrder,
    Fill,
    OrderRequest,
    Status,
    ms,
    parse_order_request,
    text,
    to_slice,
)
from fillstream.connectors.feeds.events import MarketEvent
from fillstream.connectors.simvenue import SimulatedVenue, VenueReason
from fillstream.connectors.simvenue.exact import exact_arithmetic
from fillstream.domain.instruments import Instrument
from fillstream.domain.venues import VenueConfig
from fillstream.schemas.decimals import format_decimal
from fillstream.schemas.models import (
    ExecType,
    ExecutionReport,
    Liquidity,
    Side,
    SliceAction,
    TimeInForce,
)

__all__ = ["Exchange"]

_ZERO = Decimal(0)
_DEFAULT_DEPTH, _MAX_DEPTH = 100, 5_000
_DEFAULT_TRADES, _MAX_TRADES = 500, 1_000
# The venue's refusals of a new order, as Binance words them (any other: -2010 with the reason).
_REFUSALS = {
    VenueReason.PRICE_OFF_TICK: (-1013, "Filter failure: PRICE_FILTER"),
    VenueReason.QUANTITY_OFF_LOT: (-1013, "Filter failure: LOT_SIZE"),
    VenueReason.BELOW_MIN_QUANTITY: (-1013, "Filter failure: LOT_SIZE"),
    VenueReason.BELOW_MIN_NOTIONAL: (-1013, "Filter failure: NOTIONAL"),
    VenueReason.POST_ONLY_WOULD_CROSS: (-2010, "Order would immediately match and take."),
}


class Exchange:
    """One emulated Binance spot exchange (see the module docstring)."""

    def __init__(
        self,
        venue: VenueConfig,
        instruments: Iterable[Instrument],
        market: Iterable[MarketEvent],
        accounts: Iterable[Account],
        *,
        start: int | None = None,
    ) -> None:
        listed = [Listing(i) for i in instruments if i.venue == venue.name]
        self.venue = venue
        self._matching = SimulatedVenue(venue, [listing.instrument for listing in listed])
        self._listings = {listing.symbol: listing for listing in listed}
        self._by_instrument = {listing.instrument.symbol: listing for listing in listed}
        self._accounts: dict[str, Account] = {}
        self._wallets: dict[str, Wallet] = {}
        for account in accounts:
            if account.api_key in self._accounts or account.name in self._wallets:
                raise ValueError(f"account {account.name!r} or its API key is configured twice")
            self._accounts[account.api_key] = account
            self._wallets[account.name] = Wallet(account.balances)
        self._events = iter(market)
        self._next = next(self._events, None)
        self._orders: dict[int, EmulatedOrder] = {}
        self._by_client: dict[tuple[str, str], EmulatedOrder] = {}
        self._by_slice: dict[str, EmulatedOrder] = {}
        # Capped resting orders whose first part filled, with when it did: the rest waits.
        self._waiting: list[tuple[int, EmulatedOrder]] = []
        self._fill_caps: deque[Decimal] = deque()
        self._order_ids = 0
        self._trade_ids = 0
        self._cancels = 0
        self._now = 0
        first = self._next.timestamp if self._next is not None else 0
        self.advance_to(first if start is None else start)

    @property
    def now(self) -> int:
        """Market time (µs since the epoch, UTC): the latest time the exchange has reached."""
        return self._now

    @property
    def next_event_at(self) -> int | None:
        """When the market next moves, or None once the recording is over."""
        return None if self._next is None else self._next.timestamp

    def secret_of(self, api_key: str) -> str:
        """The secret a request with `api_key` is signed with; refuse (-2015) an unknown key."""
        return self._account(api_key).secret

    @exact_arithmetic
    def advance_to(self, timestamp: int) -> None:
        """Let the market run to `timestamp`: its events reach the venue and the public market,
        then orders due by then arrive and a capped resting order sends its rest."""
        while self._next is not None and self._next.timestamp <= timestamp:
            record = self._next.record
            self._next = next(self._events, None)
            listing = self._by_instrument.get(record.symbol)
            if listing is not None and record.venue == self.venue.name:
                listing.market.on_market(record)
            self._book(self._matching.on_market(record))
        self._now = max(self._now, timestamp)
        self._book(self._matching.advance(self._now))
        due = [order for since, order in self._waiting if since < self._now]
        self._waiting = [(since, order) for since, order in self._waiting if since >= self._now]
        for order in due:
            if order.is_open and order.held:
                rest, order.held = order.held, _ZERO
                self._send(order, rest)

    def cap_fills(self, quantity: Decimal, orders: int = 1) -> None:
        """Send at most `quantity` of each of the next `orders` orders at first (see above)."""
        self._fill_caps.extend([quantity] * orders)

    @exact_arithmetic
    def lose_order(self, client_order_id: str) -> None:
        """Forget every account's order `client_order_id` (see the module docstring)."""
        for (account, client), order in list(self._by_client.items()):
            if client == client_order_id:
                self._cancel(order)
                order.lost = True
                del self._by_client[account, client]

    # -- public market data ----------------------------------------------------------------

    def exchange_info(self) -> dict[str, Any]:
        return {
            "timezone": "UTC",
            "rateLimits": [],
            "exchangeFilters": [],
            "symbols": [listing.exchange_info() for listing in self._listings.values()],
        }

    def depth(self, params: Mapping[str, str]) -> dict[str, Any]:
        limit = _limit(params, _DEFAULT_DEPTH, _MAX_DEPTH)
        return self._listing(params).market.render_depth(limit)

    def market_of(self, symbol: str) -> SymbolMarket:
        """One listed symbol's public market (Binance's name, `BTCUSDT`), for the WebSocket
        streams; -1121 for a symbol not listed."""
        return self._listing({"symbol": symbol}).market

    def agg_trades(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        market = self._listing(params).market
        return market.render_agg_trades(
            _limit(params, _DEFAULT_TRADES, _MAX_TRADES),
            _optional_int(params, "fromId"),
            _optional_int(params, "startTime"),
            _optional_int(params, "endTime"),
        )

    def ticker(self, params: Mapping[str, str]) -> dict[str, Any] | list[dict[str, Any]]:
        if "symbol" in params:
            listing = self._listing(params)
            return listing.market.render_ticker(listing.symbol)
        return [listing.market.render_ticker(symbol) for symbol, listing in self._listings.items()]

    # -- account and orders -----------------------------------------------------------------

    def account(self, api_key: str) -> dict[str, Any]:
        wallet = self._wallets[self._account(api_key).name]
        fee = {"maker": self.venue.maker_fee, "taker": self.venue.taker_fee}
        return {
            "makerCommission": int(fee["maker"] * 10_000),
            "takerCommission": int(fee["taker"] * 10_000),
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": format_decimal(fee["maker"]),
                "taker": format_decimal(fee["taker"]),
                "buyer": "0",
                "seller": "0",
            },
            "canTrade": True,
            "canWithdraw": False,
            "canDeposit": False,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": ms(self._now),
            "accountType": "SPOT",
            "balances": [
                {
                    "asset": asset,
                    "free": text(wallet.free.get(asset, _ZERO)),
                    "locked": text(wallet.locked.get(asset, _ZERO)),
                }
                for asset in wallet.assets()
            ],
            "permissions": ["SPOT"],
        }

    @exact_arithmetic
    def create_order(self, api_key: str, params: Mapping[str, str]) -> dict[str, Any]:
        """Place an order; answer as Binance does for its `newOrderRespType`."""
        account = self._account(api_key)
        request = parse_order_request(params)
        listing = self._listing(params)
        self._order_ids += 1
        client_order_id = request.client_order_id or f"emulator-{self._order_ids}"
        if (account.name, client_order_id) in self._by_client:
            raise duplicate_order()
        asset, amount = self._to_lock(listing, request)
        self._wallets[account.name].lock(asset, amount)
        order = EmulatedOrder(
            self._order_ids, account.name, request, client_order_id, self._now, locked=amount
        )
        self._orders[order.order_id] = order
        self._by_client[account.name, client_order_id] = order
        cap = self._fill_caps.popleft() if self._fill_caps else request.quantity
        first = min(cap, request.quantity)
        order.held = request.quantity - first
        if request.time_in_force is TimeInForce.FOK and order.held:
            order.status, order.held = Status.EXPIRED, _ZERO
            self._unlock_rest(order)
            return order.render_ack()
        self._send(order, first)
        if order.status is Status.REJECTED:
            del self._orders[order.order_id], self._by_client[account.name, client_order_id]
            raise _refusal(order.reason)
        return order.render_ack()

    def get_order(self, api_key: str, params: Mapping[str, str]) -> dict[str, Any]:
        order = self._find(api_key, params)
        if order is None:
            raise fetch_unknown()
        return order.render()

    @exact_arithmetic
    def cancel_order(self, api_key: str, params: Mapping[str, str]) -> dict[str, Any]:
        """Cancel an open order; answer -2011 for one that is unknown or already finished."""
        order = self._find(api_key, params)
        if order is None or not order.is_open:
            raise cancel_unknown()
        self._cancel(order)
        if order.status is not Status.CANCELED:  # it finished before the cancel arrived
            raise cancel_unknown()
        return self._cancelled(order, params.get("newClientOrderId"))

    def open_orders(self, api_key: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        return [order.render() for order in self._open(api_key, params)]

    def all_orders(self, api_key: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Every order of the account on the symbol, open or finished (Binance's allOrders)."""
        account = self._account(api_key)
        symbol = self._listing(params).symbol
        return [
            order.render()
            for order in self._orders.values()
            if order.account == account.name and order.request.symbol == symbol and not order.lost
        ]

    @exact_arithmetic
    def cancel_open_orders(self, api_key: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        self._listing(params)  # the symbol is mandatory here
        orders = self._open(api_key, params)
        if not orders:
            raise cancel_unknown()
        for order in orders:
            self._cancel(order)
        return [self._cancelled(order, None) for order in orders]

    def my_trades(self, api_key: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        account = self._account(api_key)
        symbol = self._listing(params).symbol
        order_id = _optional_int(params, "orderId")
        from_id = _optional_int(params, "fromId")
        start, end = _optional_int(params, "startTime"), _optional_int(params, "endTime")
        rows = [
            (fill, order)
            for order in self._orders.values()
            if order.account == account.name and order.request.symbol == symbol
            if order_id is None or order.order_id == order_id
            for fill in order.fills
            if (from_id is None or fill.trade_id >= from_id)
            and (start is None or ms(fill.timestamp) >= start)
            and (end is None or ms(fill.timestamp) <= end)
        ]
        rows.sort(key=lambda row: row[0].trade_id)
        limit = _limit(params, _DEFAULT_TRADES, _MAX_TRADES)
        rows = rows[:limit] if from_id is not None or start is not None else rows[-limit:]
        return [order.render_trade(fill) for fill, order in rows]

    # -- inside ------------------------------------------------------------------------------

    def _account(self, api_key: str) -> Account:
        account = self._accounts.get(api_key)
        if account is None:
            raise bad_api_key()
        return account

    def _listing(self, params: Mapping[str, str]) -> Listing:
        symbol = params.get("symbol")
        if not symbol:
            raise mandatory("symbol")
        listing = self._listings.get(symbol)
        if listing is None:
            raise unknown_symbol()
        return listing

    def _find(self, api_key: str, params: Mapping[str, str]) -> EmulatedOrder | None:
        account = self._account(api_key)
        symbol = self._listing(params).symbol
        if params.get("orderId"):
            order = self._orders.get(_optional_int(params, "orderId") or 0)
        elif params.get("origClientOrderId"):
            order = self._by_client.get((account.name, params["origClientOrderId"]))
        else:
            raise BinanceError(
                -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty."
            )
        if order is None or order.lost or order.account != account.name:
            return None
        return order if order.request.symbol == symbol else None

    def _open(self, api_key: str, params: Mapping[str, str]) -> list[EmulatedOrder]:
        account = self._account(api_key)
        symbol = self._listing(params).symbol if "symbol" in params else None
        return [
            order
            for order in self._orders.values()
            if order.account == account.name and order.is_open and not order.lost
            if symbol is None or order.request.symbol == symbol
        ]

    def _to_lock(self, listing: Listing, request: OrderRequest) -> tuple[str, Decimal]:
        """The asset and amount an order may spend: a market buy's is its cost in the book now."""
        if request.side is Side.SELL:
            return listing.base, request.quantity
        if request.price is not None:
            return listing.quote, request.quantity * request.price
        matches = listing.market.book.match(Side.BUY, request.quantity, None)
        return listing.quote, sum((price * quantity for price, quantity in matches), _ZERO)

    def _send(self, order: EmulatedOrder, quantity: Decimal) -> None:
        """Send `quantity` of `order` to the venue and wait its latency."""
        order.slices += 1
        listing = self._listings[order.request.symbol]
        slice_ = to_slice(
            order.request,
            slice_id=f"{order.order_id}.{order.slices}",
            order_id=str(order.order_id),
            account=order.account,
            symbol=listing.instrument.symbol,
            venue=self.venue.name,
            quantity=quantity,
            sequence=order.slices,
            at=self._now,
        )
        order.live_slice = slice_
        self._by_slice[slice_.slice_id] = order
        self._book(self._matching.submit(slice_))
        self.advance_to(self._now + self.venue.latency_us)

    def _cancel(self, order: EmulatedOrder) -> None:
        """Cancel what `order` has at the venue and keep back what it has not sent."""
        order.held = _ZERO
        live = order.live_slice
        if live is None:
            if order.is_open:
                order.status = Status.CANCELED
                self._unlock_rest(order)
            return
        cancel = live.model_copy(update={"action": SliceAction.CANCEL, "created_at": self._now})
        self._book(self._matching.submit(cancel))
        self.advance_to(self._now + self.venue.latency_us)

    def _cancelled(self, order: EmulatedOrder, cancel_id: str | None) -> dict[str, Any]:
        """Binance's answer to a cancel: `clientOrderId` names the cancel request itself."""
        self._cancels += 1
        answer = order.render()
        for field in ("time", "updateTime", "isWorking", "workingTime"):
            del answer[field]
        answer["origClientOrderId"] = order.client_order_id
        answer["clientOrderId"] = cancel_id or f"emulator-cancel-{self._cancels}"
        answer["transactTime"] = ms(self._now)
        return answer

    def _book(self, reports: list[ExecutionReport]) -> None:
        """Book the venue's reports on their orders: fills, balances, statuses."""
        for report in reports:
            order = self._by_slice.get(report.slice_id)
            if order is None:
                continue
            if report.exec_type in (ExecType.FILL, ExecType.PARTIAL_FILL):
                self._fill(order, report)
            order.apply(report)
            if not order.is_open:
                self._unlock_rest(order)
            elif order.held and order.live_slice is None:
                self._waiting.append((self._now, order))

    def _fill(self, order: EmulatedOrder, report: ExecutionReport) -> None:
        """Book a fill: pay from the order's lock, receive less the commission (see accounts)."""
        listing = self._listings[order.request.symbol]
        quantity, price = report.last_quantity, report.last_price
        assert price is not None
        liquidity = report.liquidity or Liquidity.TAKER
        fee = self.venue.maker_fee if liquidity is Liquidity.MAKER else self.venue.taker_fee
        request = order.request
        if request.side is Side.BUY:
            paid, cost = listing.quote, quantity * price
            reserved = quantity * (request.price or price)  # a limit buy locked at its price
            received, commission = listing.base, quantity * fee
            proceeds = quantity - commission
        else:
            paid, cost = listing.base, quantity
            reserved = quantity
            received, commission = listing.quote, quantity * price * fee
            proceeds = quantity * price - commission
        from_locked = min(reserved, order.locked)
        order.locked -= from_locked
        self._wallets[order.account].settle(paid, from_locked, cost, received, proceeds)
        self._trade_ids += 1
        fill = Fill(
            self._trade_ids, price, quantity, commission, received, liquidity, report.timestamp
        )
        order.fills.append(fill)

    def _unlock_rest(self, order: EmulatedOrder) -> None:
        listing = self._listings[order.request.symbol]
        asset = listing.quote if order.request.side is Side.BUY else listing.base
        self._wallets[order.account].unlock(asset, order.locked)
        order.locked = _ZERO


def _refusal(reason: str | None) -> BinanceError:
    code = (reason or "").partition(":")[0]
    for venue_reason, (binance_code, message) in _REFUSALS.items():
        if venue_reason.value == code:
            return BinanceError(binance_code, message)
    return BinanceError(-2010, reason or "Order rejected.")


def _limit(params: Mapping[str, str], default: int, maximum: int) -> int:
    limit = _optional_int(params, "limit")
    return default if limit is None else max(1, min(limit, maximum))


def _optional_int(params: Mapping[str, str], name: str) -> int | None:
    text = params.get(name)
    if not text:
        return None
    if not text.lstrip("-").isdigit():
        raise bad_parameter(name)
    return int(text)
