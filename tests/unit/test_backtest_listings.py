"""A backtest whose signals name instruments the configuration lacks says, before it replays,
which tables would list them, with the tick and lot sizes the recording's values imply."""

from __future__ import annotations

import io
import json
from decimal import Decimal as D
from pathlib import Path

from rich.console import Console

from fillstream.backtest import run_backtest
from fillstream.config import DEFAULT_CONFIG
from fillstream.connectors.feeds.listings import common_step, step_of

T_MS = 1_723_161_300_000  # 2024-08-08 23:55 UTC


def test_the_common_step_of_two_decimals_is_their_greatest_common_divisor():
    assert common_step(D("60000.3"), D("60000")) == D("0.3")
    assert common_step(D("2600.50"), D("2600.51000000")) == D("0.01")
    assert common_step(D("12"), D("0.005")) == D("0.005")
    assert common_step(D("0.005"), D("1.234")) == D("0.001")
    assert common_step(D("5000"), D("15000")) == D("5000")


def test_a_step_is_what_every_value_is_a_multiple_of_but_for_one_in_a_thousand():
    assert step_of([D("100.5"), D("101"), D("102.5")]) == D("0.5")
    assert step_of([D("0"), D("2")]) == D("2")  # a removed level's size says nothing
    assert step_of([]) is None
    on_ticks = [D("100.00") + D("0.01") * n for n in range(998)]
    assert step_of([*on_ticks, D("150.00"), D("100.001")]) == D("0.01")  # 1 stray in 1,000
    assert step_of([*on_ticks, D("100.001"), D("100.002")]) == D("0.001")  # 2 are not strays


def _capture_line(local_ms: int, stream: str, data: dict) -> str:
    return f"{local_ms * 1_000_000} {json.dumps({'stream': stream, 'data': data})}"


def _usdm_capture(path: Path) -> Path:
    """Binance USD-M ETHUSDT: aggregate trades and best bid and offer (futures send `e`)."""
    trades = [("2600.51", "0.005"), ("2600.50", "1.234"), ("2601.07", "12")]
    lines = [
        _capture_line(
            T_MS + 100 * n,
            "ethusdt@aggTrade",
            {
                "e": "aggTrade",
                "E": T_MS + 100 * n,
                "T": T_MS + 100 * n,
                "s": "ETHUSDT",
                "a": n,
                "p": price,
                "q": quantity,
                "f": n,
                "l": n,
                "m": False,
            },
        )
        for n, (price, quantity) in enumerate(trades)
    ]
    lines += [
        _capture_line(
            T_MS + 100 * n + 50,
            "ethusdt@bookTicker",
            {
                "e": "bookTicker",
                "u": n,
                "E": T_MS + 100 * n + 50,
                "T": T_MS + 100 * n + 50,
                "s": "ETHUSDT",
                "b": "2600.50",
                "B": "3.456",
                "a": "2600.51",
                "A": "0.789",
            },
        )
        for n in range(2)
    ]
    path.write_text("\n".join(sorted(lines)) + "\n")
    return path


def _signals(path: Path) -> Path:
    base = {"strategy_id": "s", "account_id": "acct-1", "side": "buy", "quantity": "0.01"}
    signals = [
        base | {"signal_id": "eth-1", "exchange": "binanceusdm", "symbol": "ETH/USDT:USDT"},
        base | {"signal_id": "eth-2", "exchange": "binanceusdm", "symbol": "ETH/USDT:USDT"},
        base | {"signal_id": "doge", "symbol": "DOGE/USDT"},
    ]
    stamped = [s | {"order_type": "market", "created_at": (T_MS + 120) * 1000} for s in signals]
    path.write_text("".join(json.dumps(signal) + "\n" for signal in stamped))
    return path


HINT = """\
Signals name instruments the configuration does not list: risk will refuse their orders (UNKNOWN_INSTRUMENT).
  1 signal: DOGE/USDT on any venue; the market data does not trade it
  2 signals: ETH/USDT:USDT on binanceusdm
Add these tables to the configuration (--config FILE; the shipped one is fillstream/engine.toml), with values read from the market data:

[[venues]]
name = "binanceusdm"  # fees, latency: not in the data (0 unless set)

[[instruments]]
venue = "binanceusdm"
symbol = "ETH/USDT:USDT"
tick_size = "0.01"  # the step of the 7 prices read
lot_size = "0.001"  # the step of the 7 quantities read
"""  # noqa: E501


def _backtest(tmp_path: Path, config: Path | None = None) -> tuple[str, dict[str, dict]]:
    out = io.StringIO()
    results = run_backtest(
        _usdm_capture(tmp_path / "ethusdt_usdm.txt"),
        _signals(tmp_path / "signals.jsonl"),
        tmp_path / "results.json",
        config,
        console=Console(file=out, width=400, color_system=None),
    )
    return out.getvalue(), {result["signal_id"]: result for result in results}


def test_a_capture_of_a_market_the_configuration_lacks_gets_the_tables_to_add(tmp_path):
    text, results = _backtest(tmp_path)
    assert text.startswith(HINT)
    assert {signal: r.get("reason_code") for signal, r in results.items()} == {
        "eth-1": "UNKNOWN_INSTRUMENT",
        "eth-2": "UNKNOWN_INSTRUMENT",
        "doge": "UNKNOWN_INSTRUMENT",
    }
    # The tables, added to the configuration, list the market: its orders are risk's to judge.
    tables = HINT[HINT.index("[[venues]]") :]
    config = tmp_path / "engine.toml"
    config.write_text(DEFAULT_CONFIG.read_text() + "\n" + tables)
    text, results = _backtest(tmp_path, config)
    assert text.startswith(
        "Signals name instruments the configuration does not list: risk will refuse their"
        " orders (UNKNOWN_INSTRUMENT).\n"
        "  1 signal: DOGE/USDT on any venue; the market data does not trade it\n"
        "The market data trades ETH/USDT:USDT on binanceusdm.\n"
    )
    assert results["eth-1"].get("reason_code") != "UNKNOWN_INSTRUMENT"
    assert results["doge"]["reason_code"] == "UNKNOWN_INSTRUMENT"


def test_a_backtest_of_listed_instruments_says_nothing_of_tables(tmp_path):
    config = tmp_path / "engine.toml"
    config.write_text(DEFAULT_CONFIG.read_text() + "\n" + HINT[HINT.index("[[venues]]") :])
    signals = _signals(tmp_path / "signals.jsonl")
    signals.write_text("".join(signals.read_text().splitlines(keepends=True)[:2]))
    out = io.StringIO()
    run_backtest(
        _usdm_capture(tmp_path / "ethusdt_usdm.txt"),
        signals,
        tmp_path / "results.json",
        config,
        console=Console(file=out, width=400, color_system=None),
    )
    assert "UNKNOWN_INSTRUMENT" not in out.getvalue() and "[[" not in out.getvalue()
