"""A slice refused before anything of it filled ends in one report of one shape, wherever it is
refused: at the gateway, by the venue, or because no venue by its name is configured."""

from __future__ import annotations

from decimal import Decimal as D

from fillstream.config import load_config
from fillstream.domain.reports import rejected
from fillstream.schemas.models import ExecutionReport, Slice
from fillstream.streams.stages import Emit
from fillstream.streams.stages.venue import VenueStage

T = 1_723_204_800_000_000
SLICE = Slice(
    slice_id="o-sig-1-0",
    order_id="o-sig-1",
    signal_id="sig-1",
    account_id="acct-1",
    symbol="BTC/USDT",
    venue="binance",
    action="new",
    sequence=0,
    side="sell",
    quantity=D("0.25"),
    order_type="limit",
    price=D("60000"),
    created_at=T,
)
# What every refused slice's report holds besides its ids, reason and time.
NOTHING_FILLED = {
    "order_id": "o-sig-1",
    "signal_id": "sig-1",
    "slice_id": "o-sig-1-0",
    "account_id": "acct-1",
    "symbol": "BTC/USDT",
    "side": "sell",
    "quantity": D("0.25"),
    "exec_type": "reject",
    "status": "rejected",
    "last_quantity": D("0"),
    "filled_quantity": D("0"),
    "leaves_quantity": D("0"),
    "commission": D("0"),
}


def test_a_refused_slice_ends_with_nothing_filled_nothing_left_and_no_commission():
    report = rejected(
        SLICE,
        report_id="o-sig-1-0#end",
        venue="binance",
        reason="VENUE_REJECTED: the venue reports the order rejected",
        timestamp=T + 5,
        venue_order_id="42",
    )
    assert report == ExecutionReport(
        **NOTHING_FILLED,
        report_id="o-sig-1-0#end",
        venue="binance",
        venue_order_id="42",
        reason="VENUE_REJECTED: the venue reports the order rejected",
        timestamp=T + 5,
    )
    assert report.last_price is None and report.average_price is None


def test_a_slice_for_a_venue_not_configured_is_refused_at_its_own_time():
    config = load_config()
    stage = VenueStage(config.venues, config.instruments, config.gateway)
    child = SLICE.model_copy(update={"venue": "nowhere"})
    report = ExecutionReport(
        **NOTHING_FILLED,
        report_id="o-sig-1-0:1",
        venue="nowhere",
        reason="no venue 'nowhere' is configured",
        timestamp=T,
    )
    assert stage.handle("slices", child, T + 1_000) == [Emit("fills", report)]
