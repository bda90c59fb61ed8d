"""A venue's balance as the gateway publishes it on `venue.balances`: the assets it holds any
of, free never below zero, stamped with the fetch's time."""

from __future__ import annotations

from decimal import Decimal as D

from fillstream.connectors.gateway.adapter import Balance

T0 = 1_723_161_300_000_000


def test_the_record_keeps_the_assets_held_and_reads_an_overdraft_as_nothing_free():
    balance = Balance(
        free={"USDT": D("996893.5"), "BTC": D("-0.5"), "ETH": D(0)},
        total={"USDT": D("1000000"), "BTC": D("0.25"), "ETH": D(0), "XRP": D(0)},
        at_us=T0,
    )
    record = balance.to_record("binance")
    assert (record.venue, record.fetched_at) == ("binance", T0)
    assert record.total == {"USDT": D("1000000"), "BTC": D("0.25")}
    assert record.free == {"USDT": D("996893.5"), "BTC": D(0)}


def test_an_asset_the_venue_states_no_free_amount_of_counts_as_none_free():
    record = Balance(free={}, total={"USDT": D(5)}, at_us=T0).to_record("kraken")
    assert record.free == {"USDT": D(0)}
