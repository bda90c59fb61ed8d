"""The engine configuration file: the shipped default loads, mistakes are named."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fillstream.config import ConfigError, load_config
from fillstream.domain.instruments import InstrumentBook
from fillstream.streams.risk.limits import RiskConfig


def test_the_shipped_default_describes_the_demo_venues():
    config = load_config()
    assert config.venues["binance"].taker_fee == Decimal("0.001")
    assert config.instruments.get("binance", "BTC/USDT").tick_size == Decimal("0.01")
    assert "nyse" in config.instruments.venues_for("IBM")
    assert config.risk.limits_for("anyone", "BTC/USDT").max_order_quantity == Decimal("10")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[venue]\nname = 'x'\n", "unknown section(s) venue (allowed: accounts, algorithms,"),
        (
            "[[instruments]]\nvenue = 'a'\nsymbol = 'X'\ntick_size = '1'\nlot_size = '1'\n"
            "step_size = '1'\n",
            "instruments[1]: unknown field(s) step_size (allowed: lot_size, min_notional,",
        ),
        ("[algorithms]\nprofiles = {}\n", "algorithms: unknown field(s) profiles (allowed:"),
        (
            "[[instruments]]\nvenue = 'mars'\nsymbol = 'X'\ntick_size = '1'\nlot_size = '1'\n",
            "names venue 'mars', which no [[venues]] entry defines",
        ),
        ("[[venues]]\nname = 'a'\n[[venues]]\nname = 'a'\n", "venue 'a' is defined twice"),
        ("[[venues]]\nmaker_fee = '0.1'\n", "missing field 'name'"),
        ("[risk.defaults]\nmax_order_quantitiy = '1'\n", "unknown field(s) max_order_quantitiy"),
        ("[[venues]\n", "Expected"),
    ],
)
def test_mistakes_name_the_file_and_the_entry(tmp_path, text, message):
    path = tmp_path / "engine.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(path) in str(raised.value)
    assert message in str(raised.value)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(ConfigError, match="no configuration file at"):
        load_config(tmp_path / "nope.toml")


def test_the_shipped_default_has_the_monitors_thresholds():
    monitor = load_config().monitor
    assert monitor.window_us == 60_000_000
    assert monitor.max_rejection_rate == 0.10
    assert monitor.min_signals == 20
    assert monitor.latency_quantile == 0.99
    assert monitor.max_latency_ms_of("executor") == 500
    assert monitor.heartbeat_timeout_us == 10_000_000


def test_a_monitor_table_sets_thresholds_and_per_processor_latencies(tmp_path):
    path = tmp_path / "engine.toml"
    path.write_text(
        "[monitor]\nwindow_seconds = 30\nmax_rejection_rate = 0.25\nmin_signals = 5\n"
        "latency_quantile = 0.95\nmax_latency_ms = 200\nmax_shortfall_bps = 12.5\n"
        "shortfall_by_strategy = true\nheartbeat_timeout_seconds = 2.5\n"
        "[monitor.max_latency_ms_by_processor]\nvenue = 750\n"
    )
    monitor = load_config(path).monitor
    assert monitor.window_us == 30_000_000
    assert monitor.max_rejection_rate == 0.25
    assert monitor.min_signals == 5
    assert monitor.latency_quantile == 0.95
    assert monitor.max_latency_ms_of("venue") == 750
    assert monitor.max_latency_ms_of("risk") == 200
    assert monitor.max_shortfall_bps == 12.5
    assert monitor.shortfall_by_strategy is True
    assert monitor.heartbeat_timeout_us == 2_500_000
    assert monitor.min_orders == 5  # not given: the default


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("window_secs = 60", "monitor: unknown field(s) window_secs"),
        ("window_seconds = 0", "monitor.window_seconds: expected a number > 0, got 0"),
        ("max_rejection_rate = 10", "monitor.max_rejection_rate: expected a fraction from 0 to 1"),
        ("max_rejection_rate = '0.1'", "monitor.max_rejection_rate: expected a number"),
        ("latency_quantile = 99", "monitor.latency_quantile: expected a quantile between 0 and 1"),
        ("min_signals = 0", "monitor.min_signals: expected a whole number >= 1, got 0"),
        ("min_orders = 2.5", "monitor.min_orders: expected a whole number >= 1, got 2.5"),
        ("shortfall_by_strategy = 1", "monitor.shortfall_by_strategy: expected true or false"),
        ("max_latency_ms_by_processor = 5", "expected a table of processor = milliseconds"),
        (
            "max_latency_ms_by_processor = { venue = -1 }",
            "monitor.max_latency_ms_by_processor.venue: expected a number > 0, got -1",
        ),
    ],
)
def test_monitor_mistakes_name_the_entry_and_what_to_write(tmp_path, text, message):
    path = tmp_path / "engine.toml"
    path.write_text(f"[monitor]\n{text}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(path) in str(raised.value)
    assert message in str(raised.value)


def test_an_unknown_key_in_a_venue_is_refused_with_the_keys_allowed(tmp_path):
    # A typo (`taker_fees`) read as absent would trade at a zero fee: it stops the load.
    path = tmp_path / "engine.toml"
    path.write_text("[[venues]]\nname = 'a'\ntaker_fees = '0.001'\nfee_tier = 'vip0'\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == (
        f"{path}: venues[1]: unknown field(s) fee_tier, taker_fees (allowed: dark, latency_us,"
        " maker_fee, min_size, name, priority, taker_fee)"
    )


def test_a_slippage_collar_of_10000_bps_or_more_is_refused():
    with pytest.raises(ValueError, match=r"risk.defaults.max_slippage_bps: .*below 10,000"):
        RiskConfig.from_dict({"defaults": {"max_slippage_bps": "10000"}}, InstrumentBook({}))
    limits = RiskConfig.from_dict({"defaults": {"max_slippage_bps": "9999"}}, InstrumentBook({}))
    assert limits.limits_for("acct-1", "BTC/USDT").max_slippage_bps == 9999


def test_the_risk_table_refuses_the_same_way():
    with pytest.raises(ValueError) as raised:
        RiskConfig.from_dict({"defaults": {"max_positon": "1"}}, InstrumentBook({}))
    assert str(raised.value) == (
        "risk.defaults: unknown field(s) max_positon (allowed: concentration_min_gross,"
        " max_concentration, max_daily_notional, max_daily_orders, max_gross_leverage,"
        " max_order_notional, max_order_quantity, max_orders_per_second, max_position,"
        " max_sector_exposure, max_slippage_bps, price_collar_bps, reduce_only)"
    )
