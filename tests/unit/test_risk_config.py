"""Risk limits from the config: most specific wins, field by field; bad entries are refused."""

from __future__ import annotations

import tomllib
from decimal import Decimal

import pytest

from fillstream.domain.instruments import InstrumentBook
from fillstream.streams.risk import Limits, RiskConfig, TradingState

NO_INSTRUMENTS = InstrumentBook.of([])

LAYERED = """
[risk.defaults]
max_order_quantity = "1"
max_order_notional = "1"
max_position = "1"
price_collar_bps = 1
reduce_only = true

[risk.accounts.acct-1]
trading_state = "reducing"
max_order_quantity = "2"
max_order_notional = "2"
max_position = "2"

[risk.symbols."BTC/USDT"]
max_order_quantity = "3"
max_order_notional = "3"

[risk.accounts.acct-1.symbols."BTC/USDT"]
max_order_quantity = "4"
reduce_only = false
"""


def layered() -> RiskConfig:
    return RiskConfig.from_dict(tomllib.loads(LAYERED)["risk"], NO_INSTRUMENTS)


@pytest.mark.parametrize(
    ("account_id", "symbol", "expected"),
    [
        # account+symbol > symbol > account > defaults, each field on its own
        ("acct-1", "BTC/USDT", (4, 3, 2, 1, False)),
        ("acct-2", "BTC/USDT", (3, 3, 1, 1, True)),
        ("acct-1", "ETH/USDT", (2, 2, 2, 1, True)),
        ("acct-2", "ETH/USDT", (1, 1, 1, 1, True)),
    ],
)
def test_most_specific_level_wins_field_by_field(account_id, symbol, expected):
    limits = layered().limits_for(account_id, symbol)
    quantity, notional, position, collar, reduce_only = expected
    assert limits == Limits(
        max_order_quantity=Decimal(quantity),
        max_order_notional=Decimal(notional),
        max_position=Decimal(position),
        price_collar_bps=Decimal(collar),
        reduce_only=reduce_only,
    )


def test_trading_state_is_per_account_and_active_by_default():
    config = layered()
    assert config.trading_state("acct-1") is TradingState.REDUCING
    assert config.trading_state("acct-2") is TradingState.ACTIVE


def test_absent_fields_are_no_limit():
    assert RiskConfig.from_dict({}, NO_INSTRUMENTS).limits_for("a", "s") == Limits()


def test_values_are_exact():
    config = RiskConfig.from_dict(
        {
            "defaults": {
                "max_order_notional": 0.1,
                "max_position": "0.00000001",
                "max_daily_orders": 7,
            }
        },
        NO_INSTRUMENTS,
    )
    limits = config.limits_for("a", "s")
    assert limits.max_order_notional == Decimal("0.1")
    assert limits.max_position == Decimal("0.00000001")
    assert limits.max_daily_orders == 7


@pytest.mark.parametrize(
    ("risk", "message"),
    [
        ({"defaults": {"max_positon": "1"}}, r"risk.defaults: unknown field\(s\) max_positon"),
        ({"limits": {}}, r"risk: unknown field\(s\) limits"),
        (
            {"accounts": {"a": {"symbols": {"S": {"max_order_quantity": "x"}}}}},
            "risk.accounts.a.symbols.S.max_order_quantity: expected a number, got 'x'",
        ),
        ({"symbols": {"S": {"max_position": "-1"}}}, "expected a finite number >= 0"),
        ({"defaults": {"max_order_notional": "NaN"}}, "expected a finite number >= 0"),
        ({"defaults": {"max_order_notional": True}}, "expected a number, got True"),
        ({"defaults": {"max_daily_orders": 1.5}}, "expected a whole number >= 0"),
        ({"defaults": {"max_orders_per_second": True}}, "expected a whole number >= 0"),
        ({"defaults": {"reduce_only": "yes"}}, "expected true or false"),
        (
            {"accounts": {"a": {"trading_state": "frozen"}}},
            "risk.accounts.a.trading_state: expected one of active, reducing, halted",
        ),
        ({"accounts": {"a": {"equity": "0"}}}, r"risk.accounts.a.equity: expected an amount > 0"),
        ({"accounts": {"a": {"equity": "-5"}}}, "risk.accounts.a.equity: expected a finite"),
        ({"defaults": {"equity": "5"}}, r"risk.defaults: unknown field\(s\) equity"),
        (
            {"defaults": {"max_concentration": "1.5"}},
            r"risk.defaults.max_concentration: a fraction of the gross \(0.25 = 25%\), at most 1",
        ),
        (
            {"sectors": {"tech": {"max_sector_exposure": "1"}}},
            "risk.sectors.tech.symbols: expected",
        ),
        (
            {"sectors": {"a": {"symbols": ["S"]}, "b": {"symbols": ["S"]}}},
            "risk.sectors.b.symbols: S is already in sector a",
        ),
        (
            {"sectors": {"tech": {"symbols": ["S"], "max_sector_exposur": "1"}}},
            r"risk.sectors.tech: unknown field\(s\) max_sector_exposur",
        ),
    ],
)
def test_bad_entries_are_refused_naming_where(risk, message):
    with pytest.raises(ValueError, match=message):
        RiskConfig.from_dict(risk, NO_INSTRUMENTS)


SECTORED = """
[risk.defaults]
max_sector_exposure = "1"
max_gross_leverage = "1"

[risk.accounts.acct-1]
equity = "250000.50"
max_sector_exposure = "2"
max_gross_leverage = "2"

[risk.sectors.tech]
symbols = ["IBM", "AAPL"]
max_sector_exposure = "3"

[risk.symbols.AAPL]
max_sector_exposure = "4"

[risk.accounts.acct-1.symbols.AAPL]
max_sector_exposure = "5"
"""


@pytest.mark.parametrize(
    ("account_id", "symbol", "sector_exposure", "leverage"),
    [
        # account+symbol > symbol > sector > account > defaults
        ("acct-1", "AAPL", 5, 2),
        ("acct-2", "AAPL", 4, 1),
        ("acct-1", "IBM", 3, 2),
        ("acct-1", "MSFT", 2, 2),  # in no sector
        ("acct-2", "MSFT", 1, 1),
    ],
)
def test_a_sectors_limits_sit_between_the_account_and_the_symbol(
    account_id, symbol, sector_exposure, leverage
):
    config = RiskConfig.from_dict(tomllib.loads(SECTORED)["risk"], NO_INSTRUMENTS)
    limits = config.limits_for(account_id, symbol)
    assert (limits.max_sector_exposure, limits.max_gross_leverage) == (
        Decimal(sector_exposure),
        Decimal(leverage),
    )


def test_equity_and_sectors_are_read_from_the_config():
    config = RiskConfig.from_dict(tomllib.loads(SECTORED)["risk"], NO_INSTRUMENTS)
    assert (config.equity("acct-1"), config.equity("acct-2")) == (Decimal("250000.50"), None)
    assert dict(config.sectors) == {"IBM": "tech", "AAPL": "tech"}
