"""What the API knows of the engine: the topics it follows, folded into plain dicts.

`apply` takes one decoded record of a followed topic, as its model (the typed codec's) or as
fields (validated here), and updates the view; it is pure apart from that (no Kafka, no clock),
so a test folds records by hand. The follower thread
(`api/follower.py`) feeds it from the beginning of each topic, and GETs answer from it.
Orders and TCA are kept by order id (the latest version wins), executions by order and by
slice, quotes and books by symbol and venue, each symbol's trades as a 24 h window of minute
buckets (`api/trade_window.py`), the latest value of every metrics series, and where each
schedule stands by schedule id.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from fillstream.api.trade_window import TradeWindow
from fillstream.connectors.simvenue.book import BookView
from fillstream.domain.ids import order_id_for
from fillstream.schemas.models import (
    AccountState,
    Allocation,
    BookUpdate,
    ExecutionReport,
    Metric,
    OrderState,
    ParentOrder,
    Quote,
    Rejection,
    ScheduleState,
    TcaResult,
    Trade,
    VenueBalance,
)
from fillstream.schemas.topics import keep_latest

__all__ = ["FOLLOWED", "EngineView", "SeriesKey", "apply", "series_key"]

FOLLOWED = (
    "orders.approved",
    "orders.state",
    "orders.rejected",
    "fills",
    "tca",
    "market.quotes",
    "market.book",
    "market.trades",
    "metrics",
    "schedules.state",
    "accounts.state",
    "venue.balances",
    "allocations",
)
# The rationales kept per account: its latest allocations, oldest first.
ALLOCATION_HISTORY = 1_000

# processor, metric name, labels (sorted): one time series on the `metrics` topic.
SeriesKey = tuple[str, str, tuple[tuple[str, str], ...]]


def series_key(metric: Metric) -> SeriesKey:
    return metric.processor, metric.name, tuple(sorted(metric.labels.items()))


@dataclass
class EngineView:
    orders: dict[str, OrderState] = field(default_factory=dict)
    rejections: dict[str, Rejection] = field(default_factory=dict)  # by order id
    # How close each approved order took its account to its nearest limit (0-1; None before
    # risk scored approvals), by order id.
    risk_scores: dict[str, float | None] = field(default_factory=dict)
    # Executions by order id, then by report id (a re-delivered report counts once).
    executions: dict[str, dict[str, ExecutionReport]] = field(default_factory=dict)
    slices: dict[str, list[str]] = field(default_factory=dict)  # slice id -> order id, report ids
    tca: dict[str, TcaResult] = field(default_factory=dict)
    quotes: dict[str, dict[str, Quote]] = field(default_factory=dict)  # symbol -> venue -> quote
    books: dict[str, dict[str, BookView]] = field(default_factory=dict)
    book_times: dict[tuple[str, str], int] = field(default_factory=dict)
    trades: dict[str, TradeWindow] = field(default_factory=dict)  # by symbol
    series: dict[SeriesKey, Metric] = field(default_factory=dict)
    schedules: dict[str, ScheduleState] = field(default_factory=dict)
    accounts: dict[str, AccountState] = field(default_factory=dict)  # risk's latest, by account
    balances: dict[str, VenueBalance] = field(default_factory=dict)  # the gateway's, by venue
    # Each account's allocations (the rationales naming it), by account id.
    allocations: dict[str, deque[Allocation]] = field(default_factory=dict)

    def reports_of_slice(self, slice_id: str) -> list[ExecutionReport]:
        ids = self.slices.get(slice_id)
        if not ids:
            return []
        reports = self.executions.get(ids[0], {})
        return sorted((reports[r] for r in ids[1:]), key=lambda r: (r.timestamp, r.report_id))

    def market_time(self, symbol: str) -> int:
        """The latest market time seen for `symbol`: its last trade, quote or book update."""
        window = self.trades.get(symbol)
        times = [t for (s, _venue), t in self.book_times.items() if s == symbol]
        if window is not None and window.last is not None:
            times.append(window.last.timestamp)
        return max(times, default=0)


_Model = TypeVar("_Model", bound=BaseModel)


def _typed(model: type[_Model], record: Mapping[str, Any] | BaseModel) -> _Model:
    return record if isinstance(record, model) else model.model_validate(record)


def apply(view: EngineView, topic: str, record: Mapping[str, Any] | BaseModel) -> None:
    """Fold one decoded record of `topic` (one of FOLLOWED) into the view."""
    if topic == "orders.approved":
        approved = _typed(ParentOrder, record)
        view.risk_scores[approved.order_id] = approved.risk_score
    elif topic == "orders.state":
        state = _typed(OrderState, record)
        known = view.orders.get(state.order_id)
        if known is None or known.version <= state.version:
            view.orders[state.order_id] = state
    elif topic == "orders.rejected":
        rejection = _typed(Rejection, record)
        view.rejections[rejection.order_id or order_id_for(rejection.signal_id)] = rejection
    elif topic == "fills":
        report = _typed(ExecutionReport, record)
        reports = view.executions.setdefault(report.order_id, {})
        if report.report_id not in reports:
            reports[report.report_id] = report
            view.slices.setdefault(report.slice_id, [report.order_id]).append(report.report_id)
    elif topic == "tca":
        result = _typed(TcaResult, record)
        view.tca[result.order_id] = result
    elif topic == "market.quotes":
        quote = _typed(Quote, record)
        view.quotes.setdefault(quote.symbol, {})[quote.venue] = quote
        _book(view, quote.symbol, quote.venue, quote.timestamp).apply_quote(quote)
    elif topic == "market.book":
        update = _typed(BookUpdate, record)
        _book(view, update.symbol, update.venue, update.timestamp).apply(update)
    elif topic == "market.trades":
        trade = _typed(Trade, record)
        view.trades.setdefault(trade.symbol, TradeWindow()).add(trade)
    elif topic == "metrics":
        metric = _typed(Metric, record)
        view.series[series_key(metric)] = metric
    elif topic == "schedules.state":
        standing = _typed(ScheduleState, record)
        view.schedules[standing.schedule_id] = standing
    elif topic == "accounts.state":
        keep_latest(view.accounts, topic, _typed(AccountState, record))
    elif topic == "venue.balances":
        keep_latest(view.balances, topic, _typed(VenueBalance, record))
    elif topic == "allocations":
        allocation = _typed(Allocation, record)
        for line in allocation.accounts:
            history = view.allocations.setdefault(line.account_id, deque(maxlen=ALLOCATION_HISTORY))
            repeated = any(  # a repeated parent publishes the same again
                (a.signal_id, a.failover_of) == (allocation.signal_id, allocation.failover_of)
                for a in history
            )
            if not repeated:
                history.append(allocation)


def _book(view: EngineView, symbol: str, venue: str, timestamp: int) -> BookView:
    key = (symbol, venue)
    view.book_times[key] = max(timestamp, view.book_times.get(key, 0))
    return view.books.setdefault(symbol, {}).setdefault(venue, BookView())
