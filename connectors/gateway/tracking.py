"""Follow one slice's order at the venue and publish each of its executions exactly once.

ccxt gives two views of an order: snapshots (`create_order`, `fetch_order`, `watch_orders`:
id, clientOrderId, status, filled, sometimes its trades) and trade lists (`fetch_my_trades`,
`watch_my_trades`: id, order, amount, price, fee, takerOrMaker). Fills are reported from trades
only, one report per trade id, so a trade seen in a snapshot, then in a trade list, then again
after a restart, is published once; `filled` only tells that trades are still unseen
(`missing_quantity`: the shell then fetches the order's trades). The end of an order (cancel,
expiry) is held back until every trade up to the venue's `filled` is reported, so no fill ever
follows a final report.

Report ids are deterministic: `{slice_id}#ack`, `{slice_id}#trade:{trade id}`,
`{slice_id}#end` (`#` is not in a client order id). Cumulative fields follow the simulated
venue's rules: exact sums, leaves 0 once final, the average divided afresh each time to 28
digits. `commission` is the running total in the asset of the latest fee (venues charge one
asset per account setting, e.g. BNB at Binance).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

from fillstream.connectors.gateway.reasons import GatewayReason
from fillstream.connectors.simvenue.reasons import VenueReason
from fillstream.domain.reports import rejected, report_of
from fillstream.schemas.models import ExecType, ExecutionReport, Liquidity, OrderStatus, Slice

__all__ = ["OrderTracker", "TrackingError", "trade_id_of"]

_ZERO = Decimal(0)
_AVERAGE = Context(prec=28, rounding=ROUND_HALF_EVEN)
_TRADE = "#trade:"
_LIQUIDITY = {"maker": Liquidity.MAKER, "taker": Liquidity.TAKER}


class TrackingError(ValueError):
    """The venue's account of an order contradicts itself or the slice."""


def trade_id_of(report_id: str) -> str | None:
    """The venue trade id a fill report was made from, or None for any other report."""
    _, marker, trade_id = report_id.partition(_TRADE)
    return trade_id if marker else None


def _decimal(value: Any) -> Decimal:
    """ccxt numbers are floats or strings; str() of a float is its shortest exact spelling."""
    return Decimal(str(value))


def _us(ms: Any, default: int) -> int:
    return int(ms) * 1000 if ms is not None else default


class OrderTracker:
    """One slice's order: what was published about it, and what is still to publish."""

    def __init__(self, slice_: Slice, venue: str) -> None:
        self.slice = slice_
        self.venue = venue
        self.venue_order_id: str | None = None
        self.acknowledged = False
        self.final = False
        self.filled = _ZERO
        self.venue_filled = _ZERO  # the latest snapshot's `filled`
        self._notional = _ZERO
        self._fees: dict[str, Decimal] = {}
        self._fee_asset: str | None = None
        self._trade_ids: set[str] = set()
        self._end: tuple[ExecType, OrderStatus, str | None, int] | None = None
        # Set when the gateway cancels the order at an expiry the venue cannot keep (DAY, GTD):
        # the reason its end is reported with, as an expiry, not as a cancel nobody asked for.
        self.expiring: str | None = None

    @classmethod
    def resume(
        cls, slice_: Slice, venue: str, published: Iterable[ExecutionReport]
    ) -> OrderTracker:
        """A tracker that knows what was published before a restart (from `fills`)."""
        tracker = cls(slice_, venue)
        for report in published:
            tracker.venue_order_id = report.venue_order_id or tracker.venue_order_id
            tracker.acknowledged = True
            tracker.final = tracker.final or report.leaves_quantity == 0
            trade_id = trade_id_of(report.report_id)
            if trade_id is not None and trade_id not in tracker._trade_ids:
                tracker._trade_ids.add(trade_id)
                tracker.filled += report.last_quantity
                tracker._notional += report.last_quantity * (report.last_price or _ZERO)
                if report.commission_asset is not None:
                    tracker._fees[report.commission_asset] = report.commission
                    tracker._fee_asset = report.commission_asset
        tracker.venue_filled = tracker.filled
        return tracker

    @property
    def trade_ids(self) -> frozenset[str]:
        return frozenset(self._trade_ids)

    @property
    def missing_quantity(self) -> Decimal:
        """Filled at the venue but not yet seen as trades: fetch the order's trades."""
        return max(self.venue_filled - self.filled, _ZERO)

    def on_order(self, order: Mapping[str, Any], now_us: int) -> list[ExecutionReport]:
        """The reports a ccxt order snapshot brings: ack, new trades, and the end once due."""
        client_id = order.get("clientOrderId")
        if client_id is not None and client_id != self.slice.slice_id:
            raise TrackingError(f"order {client_id} is not slice {self.slice.slice_id}")
        if self.final:
            return []
        self.venue_order_id = str(order["id"])
        status = order.get("status")
        at = _us(order.get("lastUpdateTimestamp") or order.get("timestamp"), now_us)
        if status == "rejected" and not self.acknowledged:
            self.final = True
            reason = GatewayReason.VENUE_REJECTED.text(status=status)
            return [
                rejected(
                    self.slice,
                    report_id=self.slice.slice_id + "#end",
                    venue=self.venue,
                    reason=reason,
                    timestamp=at,
                    venue_order_id=self.venue_order_id,
                )
            ]
        reports = self._acknowledge(_us(order.get("timestamp"), now_us))
        # a trade inside a snapshot without its own time (Binance's create answer) happened by
        # the order's last update: the venue's time, not ours, which may be far from it
        reports += self._fills(order.get("trades") or [], at)
        if order.get("filled") is not None:
            self.venue_filled = max(self.venue_filled, _decimal(order["filled"]))
        if status in {"closed", "canceled", "expired", "rejected"}:
            self._end = self._ending(status, at)
        return reports + self._release_end()

    def on_trades(self, trades: Iterable[Mapping[str, Any]], now_us: int) -> list[ExecutionReport]:
        """The reports of a ccxt trade list (any orders'; this order's are picked out).

        Trades name the venue's order id only, so they wait for a first snapshot to give it;
        that id is unique per symbol only, so the symbol must match too.
        """
        if self.final or self.venue_order_id is None:
            return []
        mine = [
            trade
            for trade in trades
            if str(trade.get("order")) == self.venue_order_id
            and trade.get("symbol", self.slice.symbol) == self.slice.symbol
        ]
        return self._fills(mine, now_us) + self._release_end()

    def _acknowledge(self, at: int) -> list[ExecutionReport]:
        if self.acknowledged:
            return []
        self.acknowledged = True
        return [self._report(ExecType.ACK, OrderStatus.ACCEPTED, "#ack", at)]

    def _fills(self, trades: Iterable[Mapping[str, Any]], now_us: int) -> list[ExecutionReport]:
        fresh = {
            str(trade["id"]): trade
            for trade in trades
            if trade.get("id") is not None and str(trade["id"]) not in self._trade_ids
        }
        ordered = sorted(fresh.items(), key=lambda item: (item[1].get("timestamp") or 0, item[0]))
        reports = []
        for trade_id, trade in ordered:
            reports += self._acknowledge(_us(trade.get("timestamp"), now_us))
            reports.append(self._fill(trade_id, trade, now_us))
        return reports

    def _fill(self, trade_id: str, trade: Mapping[str, Any], now_us: int) -> ExecutionReport:
        quantity, price = _decimal(trade["amount"]), _decimal(trade["price"])
        if quantity <= 0 or price <= 0:
            raise TrackingError(f"trade {trade_id}: amount {quantity} at {price}")
        if self.filled + quantity > self.slice.quantity:
            raise TrackingError(
                f"trade {trade_id} would fill {self.filled + quantity} of slice "
                f"{self.slice.slice_id}'s {self.slice.quantity}"
            )
        self._trade_ids.add(trade_id)
        self.filled += quantity
        self._notional += quantity * price
        fee = trade.get("fee") or {}
        if fee.get("cost") is not None and fee.get("currency") is not None:
            asset = str(fee["currency"])
            self._fees[asset] = self._fees.get(asset, _ZERO) + _decimal(fee["cost"])
            self._fee_asset = asset
        done = self.filled == self.slice.quantity
        if done:
            self.final = True
        return self._report(
            ExecType.FILL if done else ExecType.PARTIAL_FILL,
            OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED,
            _TRADE + trade_id,
            _us(trade.get("timestamp"), now_us),
            last=(quantity, price),
            liquidity=_LIQUIDITY.get(trade.get("takerOrMaker") or ""),
        )

    def _ending(self, status: str, at: int) -> tuple[ExecType, OrderStatus, str | None, int]:
        leaves = self.slice.quantity - self.venue_filled
        if status == "canceled" and self.expiring is not None:
            return ExecType.EXPIRE, OrderStatus.EXPIRED, self.expiring, at
        reference = self.slice.collar_reference
        if reference is not None and status != "rejected":
            # The venue ended a collared marketable limit (IOC): the rest is the collar's.
            reason = VenueReason.SLIPPAGE_COLLAR.text(
                leaves=leaves, price=self.slice.price, reference=reference
            )
            return ExecType.CANCEL, OrderStatus.CANCELLED, reason, at
        if status == "canceled":
            return ExecType.CANCEL, OrderStatus.CANCELLED, None, at
        if status == "expired":
            return ExecType.EXPIRE, OrderStatus.EXPIRED, None, at
        if status == "rejected":
            reason = GatewayReason.VENUE_REJECTED.text(status=status)
            return ExecType.REJECT, OrderStatus.REJECTED, reason, at
        reason = GatewayReason.CLOSED_UNFILLED.text(leaves=leaves, quantity=self.slice.quantity)
        return ExecType.EXPIRE, OrderStatus.EXPIRED, reason, at

    def _release_end(self) -> list[ExecutionReport]:
        if self.final or self._end is None or self.filled < self.venue_filled:
            return []
        exec_type, status, reason, at = self._end
        self.final = True
        return [self._report(exec_type, status, "#end", at, reason=reason)]

    def _report(
        self,
        exec_type: ExecType,
        status: OrderStatus,
        suffix: str,
        at: int,
        *,
        last: tuple[Decimal, Decimal] | None = None,
        liquidity: Liquidity | None = None,
        reason: str | None = None,
    ) -> ExecutionReport:
        slice_ = self.slice
        last_quantity, last_price = last or (_ZERO, None)
        return report_of(
            slice_,
            report_id=slice_.slice_id + suffix,
            venue=self.venue,
            venue_order_id=self.venue_order_id,
            exec_type=exec_type,
            status=status,
            last_quantity=last_quantity,
            last_price=last_price,
            filled_quantity=self.filled,
            leaves_quantity=_ZERO if self.final else slice_.quantity - self.filled,
            average_price=_AVERAGE.divide(self._notional, self.filled) if self.filled else None,
            commission=self._fees.get(self._fee_asset, _ZERO) if self._fee_asset else _ZERO,
            commission_asset=self._fee_asset,
            liquidity=liquidity,
            reason=reason,
            timestamp=at,
        )
