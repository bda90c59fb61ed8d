"""The market view risk reads: best prices across venues, the last trade, late records ignored."""

from __future__ import annotations

from decimal import Decimal

from fillstream.schemas.models import Quote, Side, Signal, Trade
from fillstream.streams.risk import MarketView, order_price
from fillstream.streams.risk.market import reference_of

T = 1_723_161_600_000_000


def quote(venue: str, bid: str | None, ask: str | None, at: int = T) -> Quote:
    return Quote(
        symbol="BTC/USDT",
        venue=venue,
        bid_price=None if bid is None else Decimal(bid),
        ask_price=None if ask is None else Decimal(ask),
        timestamp=at,
    )


def trade(price: str, at: int = T) -> Trade:
    return Trade(
        symbol="BTC/USDT",
        venue="binance",
        trade_id=str(at),
        price=Decimal(price),
        quantity=Decimal(1),
        timestamp=at,
    )


def signal(**fields: str) -> Signal:
    return Signal.model_validate(
        {
            "signal_id": "s",
            "strategy_id": "st",
            "account_id": "a",
            "symbol": "BTC/USDT",
            "side": "buy",
            "quantity": "0.5",
            "order_type": "market",
            "created_at": T,
            **fields,
        }
    )


def test_best_bid_and_ask_across_venues():
    market = MarketView()
    market.update(quote("binance", "100.00", "100.30"))
    market.update(quote("kraken", "100.10", "100.40"))
    assert market.touch("BTC/USDT", Side.BUY) == Decimal("100.30")
    assert market.touch("BTC/USDT", Side.SELL) == Decimal("100.10")
    assert market.reference_price("BTC/USDT") == Decimal("100.20")
    market.update(quote("kraken", None, "100.40", at=T + 1))  # kraken's bid side empties
    assert market.touch("BTC/USDT", Side.SELL) == Decimal("100.00")


def test_a_late_quote_does_not_replace_a_newer_one():
    market = MarketView()
    market.update(quote("binance", "100.00", "100.30", at=T + 10))
    market.update(quote("binance", "90.00", "90.30", at=T))
    assert market.reference_price("BTC/USDT") == Decimal("100.15")


def test_last_trade_is_the_fallback_and_late_trades_are_ignored():
    market = MarketView()
    assert market.reference_price("BTC/USDT") is None
    assert market.touch("BTC/USDT", Side.BUY) is None
    market.update(trade("101.00", at=T + 10))
    market.update(trade("99.00", at=T))
    assert market.reference_price("BTC/USDT") == Decimal("101.00")
    market.update(quote("binance", "100.00", None))
    assert market.touch("BTC/USDT", Side.BUY) == Decimal("101.00")  # no ask: the last trade
    assert market.touch("BTC/USDT", Side.SELL) == Decimal("100.00")
    assert market.reference_price("BTC/USDT") == Decimal("101.00")  # one-sided: no mid


def test_orders_are_valued_at_their_limit_else_stop_else_the_touch():
    market = MarketView()
    market.update(quote("binance", "100.00", "100.30"))
    assert order_price(signal(order_type="limit", price="99.00"), market) == Decimal("99.00")
    assert order_price(signal(order_type="stop", stop_price="105.00"), market) == Decimal("105.00")
    assert order_price(signal(), market) == Decimal("100.30")  # a market buy pays the ask
    assert order_price(signal(side="sell"), market) == Decimal("100.00")
    assert order_price(signal(symbol="ETH/USDT"), market) is None


def test_reference_prices_carry_a_quotes_touch_or_a_trades_price_and_nothing_else():
    from_quote = reference_of(quote("binance", "100.00", "100.30"))
    assert (from_quote.bid_price, from_quote.ask_price, from_quote.last_price) == (
        Decimal("100.00"),
        Decimal("100.30"),
        None,
    )
    from_trade = reference_of(trade("101.00", at=T + 5))
    assert (from_trade.bid_price, from_trade.last_price, from_trade.timestamp) == (
        None,
        Decimal("101.00"),
        T + 5,
    )
    assert reference_of(signal()) is None


def test_a_view_fed_reference_prices_equals_one_fed_the_market_records():
    records = [quote("binance", "100.00", "100.30"), trade("100.10"), quote("kraken", "99.9", None)]
    direct, relayed = MarketView(), MarketView()
    for record in records:
        direct.update(record)
        relayed.update(reference_of(record))
    assert (
        relayed.reference_price("BTC/USDT")
        == direct.reference_price("BTC/USDT")
        == Decimal("100.15")
    )
    assert relayed.touch("BTC/USDT", Side.SELL) == Decimal("100.00")
