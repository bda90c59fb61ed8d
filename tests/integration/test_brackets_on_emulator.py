"""Brackets through the ccxt gateway: the entries and their legs trade Binance over the real
ccxt client and HTTP against the exchange emulator, which matches the BTCUSDT capture of
tests/unit/test_replay_brackets.py. The stop-loss under the 23:55 buy triggers in the
23:58 sell-off and its take-profit is cancelled; the take-profit over the 61,600 buy fills on
the recovery and its stop-loss is cancelled; every leg is sized to its entry's fill."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from fillstream.pipeline import feed
from tests.integration.test_pipeline_on_emulator import final_states, on_emulator
from tests.unit.test_replay_brackets import SIGNALS
from tests.unit.test_replay_btcusdt import SECOND, T0

pytestmark = pytest.mark.integration

# Past the stop-loss's trigger (23:58:22) and the take-profit's fill (23:58:54).
END = T0 + 240 * SECOND
BRACKETS = [s for s in SIGNALS if s["signal_id"] in ("stopped", "profit")]
FINAL = {
    "o-stopped": ("filled", D("0.05")),
    "sl-stopped": ("filled", D("0.05")),
    "tp-stopped": ("cancelled", D(0)),
    "o-profit": ("filled", D("0.02")),
    "tp-profit": ("filled", D("0.02")),
    "sl-profit": ("cancelled", D(0)),
}


def test_a_brackets_legs_trade_through_the_gateway(kafka_bootstrap, tmp_path_factory):
    with on_emulator(kafka_bootstrap, tmp_path_factory, "emubr", END, speed=8) as run:
        feed(run.market, BRACKETS, watcher=run.watcher, pipeline=run.pipeline)
        states = final_states(run.watcher, FINAL, timeout=120)
        run.pipeline.check_alive()
        records = run.watcher.records

    assert {o: (states[o]["status"], states[o]["filled_quantity"]) for o in FINAL} == FINAL
    legs = [s for s in records["slices"] if s["order_id"] in FINAL and s["action"] == "new"]
    assert {s["venue"] for s in legs} == {"binance"}
    for leg in ("sl-stopped", "tp-profit"):
        fills = [r for r in records["fills"] if r["order_id"] == leg and r["last_quantity"] > 0]
        assert fills and all("#trade:" in r["report_id"] for r in fills), fills  # the venue's
    stop = next(r for r in records["fills"] if r["order_id"] == "sl-stopped" and r["last_quantity"])
    assert stop["last_price"] <= D("61650")  # sold in the sell-off, at or below the trigger
    profit = next(
        r for r in records["fills"] if r["order_id"] == "tp-profit" and r["last_quantity"]
    )
    assert profit["last_price"] >= D("61700")
