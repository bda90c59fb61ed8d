"""Routing on the real IBM day (2013-10-07): an order larger than the best venue's size splits.

At 10:39:13.131 New York time the best ask, 183.14, is shown by nasdaq (300 shares), nyse (100)
and byx (100). byx charges takers nothing (its fees are inverted: a rebate of 0.0000080 of
notional), nasdaq and nyse charge 0.0000160, so a 400-share buy goes first to byx, then to the
other two at the same price in venue priority (nyse before nasdaq), 100 + 100 + 200.
"""

from __future__ import annotations

import itertools
from decimal import Decimal as D
from pathlib import Path

import pytest

from fillstream.config import load_config
from fillstream.connectors.feeds import load
from fillstream.connectors.feeds.samples import sample_file
from fillstream.replay import run_replay

AT = 1381156753_131000  # 2013-10-07 10:39:13.131 EDT
WINDOW_US = 5_000_000


def quotes() -> Path:
    path = sample_file("20131007_ibm_Quote_Tick.csv")
    if path is None:
        pytest.skip("the shared sample data (20131007_ibm_Quote_Tick.csv) is not present")
    return path


@pytest.fixture(scope="module")
def replay():
    market = itertools.takewhile(lambda e: e.timestamp <= AT + WINDOW_US, load(quotes()))
    signal = {
        "signal_id": "ibm-400",
        "strategy_id": "routing-test",
        "account_id": "acct-1",
        "symbol": "IBM",
        "side": "buy",
        "quantity": "400",
        "order_type": "market",
        "created_at": AT,
    }
    return run_replay(load_config(), market, [signal])


def test_the_plan_sweeps_venues_by_price_net_of_fees_then_priority(replay):
    (routed,) = replay.records["orders.routed"]
    assert [(a.venue, a.quantity, a.expected_price) for a in routed.venue_plan] == [
        ("byx", D("100"), D("183.14")),
        ("nyse", D("100"), D("183.14")),
        ("nasdaq", D("200"), D("183.14")),
    ]


def test_the_order_fills_across_the_three_exchanges(replay):
    (result,) = replay.results()
    assert result["status"] == "filled"
    assert result["filled_quantity"] == D("400")
    by_venue = {}
    for fill in result["fills"]:
        by_venue[fill["venue"]] = by_venue.get(fill["venue"], D(0)) + fill["quantity"]
    assert by_venue == {"byx": D("100"), "nyse": D("100"), "nasdaq": D("200")}
    assert result["average_price"] == D("183.14")
