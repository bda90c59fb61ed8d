"""The demo's closing summary reads whole at 80 columns: no number is cut short.

Records are made by hand, shaped as the demo's watcher decodes them (decimals as the wire
carries them, with trailing zeros), with the figures a synthetic run gives.
"""

from __future__ import annotations

import io
from decimal import Decimal as D
from typing import Any

from rich.console import Console

from fillstream.config import load_config
from fillstream.demo import allocation_summary, orders_summary

SIGNALS = [{"signal_id": f"d54874-{n:02d}"} for n in (1, 3, 8, 12, 13, 14)]


def _state(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "order_id": f"o-d54874-{n:02d}",
        "signal_id": f"d54874-{n:02d}",
        "symbol": "BTC/USDT",
        "side": "buy",
        "order_type": "market",
        "algorithm": None,
        "quantity": D("0.05"),
        "status": "filled",
        "filled_quantity": D("0.05"),
        "average_price": None,
    } | fields


def _tca(n: int, slip: float, cost: float) -> dict[str, Any]:
    return {
        "order_id": f"o-d54874-{n:02d}",
        "arrival_slippage_bps": slip,
        "total_cost_bps": cost,
    }


def _fills(n: int, count: int) -> list[dict[str, Any]]:
    return [{"order_id": f"o-d54874-{n:02d}", "last_quantity": D("0.01")}] * count


RECORDS: dict[str, list[dict[str, Any]]] = {
    "orders.state": [
        _state(1, average_price=D("60000.30")),
        _state(3, order_type="limit", status="cancelled", filled_quantity=D("0")),
        _state(
            8,
            order_type="iceberg",
            quantity=D("0.30000"),
            status="partially_filled",
            filled_quantity=D("0.12500"),
            average_price=D("60012.4873333333333333333"),
        ),
        _state(
            12,
            algorithm="twap",
            quantity=D("0.20000"),
            filled_quantity=D("0.20000"),
            average_price=D("60013.0567"),
        ),
        _state(
            13,
            side="sell",
            algorithm="pov",
            quantity=D("0.05000"),
            filled_quantity=D("0.05000"),
            average_price=D("60004.8451"),
        ),
        _state(14, signal_id="d54874-14:fund-a", order_id="o-d54874-14:fund-a"),
    ],
    "tca": [
        _tca(1, 0.0, 10.05),
        _tca(3, None, 7.8),
        _tca(8, -12.3456, 107.25),
        _tca(12, 2.1349, 12.18),
        _tca(13, 0.3, -9.19),
    ],
    "fills": _fills(1, 1) + _fills(8, 3) + _fills(12, 6) + _fills(13, 64),
    "orders.approved": [{"order_id": f"o-d54874-{n:02d}"} for n in (1, 3, 8, 12, 13)],
    "orders.rejected": [{"reason_code": "UNKNOWN_INSTRUMENT"}],
    "deadletter": [],
    "allocations": [
        {
            "signal_id": "d54874-14",
            "failover_of": None,
            "side": "buy",
            "quantity": D("0.10000"),
            "symbol": "BTC/USDT",
            "allocation_group": "funded",
            "allocated": D("0.10000"),
            "notes": [],
            "accounts": [
                {
                    "account_id": account,
                    "status": "active",
                    "capacity": D(capacity),
                    "weight": D(capacity),
                    "quantity": D(quantity),
                    "child_signal_id": f"d54874-14:{account}",
                    "notes": [
                        f"capacity {capacity}: the smaller of margin {margin} x leverage 1 ="
                        f" {margin} and budget {budget} / adverse move 0.05 = {by_budget}"
                    ],
                }
                for account, capacity, quantity, margin, budget, by_budget in (
                    ("fund-a", "20000", "0.02000", "100000", "1000", "20000"),
                    ("fund-b", "30000", "0.03000", "30000", "5000", "100000"),
                    ("fund-c", "50000", "0.05000", "50000", "2500", "50000"),
                )
            ],
        }
    ],
}


def _render(show) -> str:
    out = io.StringIO()
    show(Console(file=out, width=80, color_system=None, legacy_windows=False))
    return out.getvalue()


def _row(text: str, first: str) -> list[str]:
    """The cells of the line that starts with `first`."""
    return next(line.split() for line in text.splitlines() if line.split()[:1] == [first])


def test_the_orders_table_is_whole_at_80_columns():
    text = _render(
        lambda console: orders_summary(RECORDS, SIGNALS, load_config().instruments, console)
    )
    assert "…" not in text
    assert max(map(len, text.splitlines())) <= 80
    # prices to BTC/USDT's tick (0.01), quantities without trailing zeros, bps to 0.1
    assert _row(text, "d54874-01") == [
        "d54874-01", "market", "buy", "0.05", "filled", "0.05", "1", "60000.30", "0.0", "10.1"
    ]  # fmt: skip
    assert _row(text, "d54874-03") == [
        "d54874-03", "limit", "buy", "0.05", "cancelled", "0", "0", "-", "-", "7.8"
    ]  # fmt: skip
    assert _row(text, "d54874-08") == [
        "d54874-08", "iceberg", "buy", "0.3", "partially", "0.125", "3", "60012.49", "-12.3",
        "107.2",
    ]  # fmt: skip
    assert _row(text, "d54874-12") == [
        "d54874-12", "twap", "buy", "0.2", "filled", "0.2", "6", "60013.06", "2.1", "12.2"
    ]  # fmt: skip
    assert _row(text, "d54874-13") == [
        "d54874-13", "pov", "sell", "0.05", "filled", "0.05", "64", "60004.85", "0.3", "-9.2"
    ]  # fmt: skip
    assert "6 orders, 74 fills, 1 not final, 0 dead letters, TCA for 5 of 5" in text


def test_the_allocation_table_is_whole_at_80_columns_with_its_notes_under_it():
    text = _render(lambda console: allocation_summary(RECORDS, console))
    assert "…" not in text
    assert max(map(len, text.splitlines())) <= 80
    assert "over group funded: 0.1 allocated" in " ".join(text.split())
    assert _row(text, "fund-a") == [
        "fund-a", "active", "20000", "20000", "0.02", "d54874-14:fund-a", "0.05", "filled"
    ]  # fmt: skip
    assert _row(text, "fund-b") == [
        "fund-b", "active", "30000", "30000", "0.03", "d54874-14:fund-b", "-", "-"
    ]  # fmt: skip
    notes = " ".join(text[text.index("fund-a:") :].split())
    assert notes.startswith(
        "fund-a: capacity 20000: the smaller of margin 100000 x leverage 1 = 100000 and budget"
        " 1000 / adverse move 0.05 = 20000 fund-b: capacity 30000:"
    )
