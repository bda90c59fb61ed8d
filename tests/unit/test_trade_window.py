"""A symbol's 24-hour trade figures, kept as minute buckets: the window drops what is older
than 1,440 minutes, in market time, and keeps only those buckets in memory."""

from __future__ import annotations

from decimal import Decimal

from fillstream.api.trade_window import TradeWindow
from fillstream.api.view import EngineView, apply
from fillstream.schemas.models import Trade

T0 = 1_723_161_600_000_000  # a whole minute (28,719,360 minutes since the epoch)
MINUTE = 60_000_000
HOUR = 60 * MINUTE


def trade(trade_id: str, at: int, price: str, quantity: str, venue: str = "binance") -> Trade:
    return Trade(
        symbol="BTC/USDT",
        venue=venue,
        trade_id=trade_id,
        price=Decimal(price),
        quantity=Decimal(quantity),
        timestamp=at,
    )


def test_the_24h_figures_drop_trades_older_than_the_window():
    window = TradeWindow()
    window.add(trade("a", T0, "100", "1"))
    window.add(trade("b", T0 + 30 * MINUTE, "120", "2"))
    window.add(trade("c", T0 + 23 * HOUR, "90", "3"))
    window.add(trade("c", T0 + 23 * HOUR, "90", "3"))  # re-delivered: counts once
    window.add(trade("d", T0 + 24 * HOUR + 10 * MINUTE, "110", "0.5", venue="okx"))

    # 24 h up to d: the minutes after T0 + 10 min; a (T0) is out, b, c and d are in.
    now = T0 + 24 * HOUR + 10 * MINUTE
    stats = window.stats(now)
    assert stats == {
        "last_price": "110",
        "last_quantity": "0.5",
        "last_venue": "okx",
        "last_trade_at": now,
        "volume_24h": "5.5",
        "high_24h": "120",
        "low_24h": "90",
        "trades_24h": 3,
        "window_end": now,
    }
    assert len(window.minutes) == 3  # a's minute is forgotten, not just left out

    # 21 minutes on, b (T0 + 30 min) has left the window too: the high is d's.
    later = window.stats(T0 + 24 * HOUR + 31 * MINUTE)
    assert (later["volume_24h"], later["high_24h"], later["low_24h"]) == ("3.5", "110", "90")
    assert later["trades_24h"] == 2


def test_a_trade_older_than_the_window_is_not_counted_and_not_the_last():
    window = TradeWindow()
    window.add(trade("new", T0 + 25 * HOUR, "100", "1"))
    window.add(trade("late", T0, "50", "9"))
    stats = window.stats(T0 + 25 * HOUR)
    assert (stats["last_price"], stats["volume_24h"], stats["low_24h"]) == ("100", "1", "100")
    assert len(window.minutes) == 1


def test_a_window_without_trades_in_it_has_no_high_or_low():
    window = TradeWindow()
    window.add(trade("a", T0, "100", "1"))
    stats = window.stats(T0 + 48 * HOUR)
    assert (stats["volume_24h"], stats["high_24h"], stats["low_24h"]) == ("0", None, None)
    assert stats["last_price"] == "100"


def test_the_view_keeps_a_window_per_symbol_and_its_market_time():
    view = EngineView()
    apply(view, "market.trades", trade("a", T0, "100", "1").model_dump())
    assert view.trades["BTC/USDT"].last.trade_id == "a"
    assert view.market_time("BTC/USDT") == T0
    assert view.market_time("ETH/USDT") == 0


def test_the_pace_is_the_volume_over_the_minutes_the_window_has_seen():
    window = TradeWindow()
    assert window.pace(T0) is None
    window.add(trade("a", T0 + 5_000_000, "100", "1.5"))
    window.add(trade("b", T0 + 2 * MINUTE + 1, "100", "4.5"))
    # Minutes T0, T0+1, T0+2 seen: 6 over 180 s, not over a day's 86,400 s.
    assert window.pace(T0 + 2 * MINUTE + 30_000_000) == Decimal(6) / 180
    # A full day on: the window holds only b's minute and the minutes up to now.
    later = T0 + 2 * MINUTE + 24 * HOUR - MINUTE
    assert window.pace(later) == Decimal("4.5") / (24 * 60 * 60)
