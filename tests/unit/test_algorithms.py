"""The execution algorithms on examples worked by hand: schedules, targets, child sizes, the
Almgren-Chriss preview, the catalog's answers and `fillstream algos preview`."""

from __future__ import annotations

import json
import math
from decimal import Decimal as D
from fractions import Fraction

import pytest
from typer.testing import CliRunner

from fillstream.cli import app
from fillstream.domain.instruments import Instrument
from fillstream.schemas.models import Quote, Side, Signal, Trade
from fillstream.streams.execution import children
from fillstream.streams.execution.algorithms import pov, twap, vwap
from fillstream.streams.execution.algorithms.base import (
    SECOND_US,
    Market,
    ParentFacts,
    Venue,
    schedule_of,
)
from fillstream.streams.execution.algorithms.catalog import CATALOG, parse, problems
from fillstream.streams.execution.algorithms.preview import preview
from fillstream.streams.execution.volume_profile import VolumeProfile

T0 = 1_723_161_600_000_000  # 2024-08-09 00:00:00 UTC
DAY_US = 86_400 * SECOND_US
MINUTE_US = 60 * SECOND_US
LOT = D("0.00001")
BTC_USDT = Instrument(
    "binance", "BTC/USDT", tick_size=D("0.01"), lot_size=LOT, min_quantity=LOT, min_notional=D(5)
)


def facts(
    algorithm: str,
    raw: dict[str, str],
    *,
    order_id: str = "o-1",
    quantity: D = D(5),
    start_us: int = T0,
) -> ParentFacts:
    return ParentFacts(
        order_id=order_id,
        side=Side.BUY,
        quantity=quantity,
        limit_price=None,
        display_quantity=None,
        urgency=None,
        confidence=None,
        parameters=parse(CATALOG[algorithm], raw),
        start_us=start_us,
    )


def slices_of(schedule) -> list[tuple[int, D]]:
    """(offset µs, quantity) of each slice of a cumulative schedule."""
    before = D(0)
    result = []
    for offset, cumulative in schedule:
        result.append((offset, cumulative - before))
        before = cumulative
    return result


# --- TWAP ------------------------------------------------------------------------------------


def test_twap_of_5_btc_over_240_s_in_10_s_slices():
    plan = twap.plan(
        facts("twap", {"duration_seconds": "240", "interval_seconds": "10"}),
        Market(),
        Venue(lot=LOT),
    )
    slices = slices_of(plan.schedule)
    # 240 / 10 = 24 slices, one every 10 s from 0 to 230 s
    assert [offset for offset, _ in slices] == [k * 10 * SECOND_US for k in range(24)]
    # 5 / 24 = 0.208333… BTC. The cumulative amount is rounded down to lots: after k slices
    # floor(500,000 · k / 24) lots of 0.00001, i.e. 20833, 41666, 62500, 83333, …, so the
    # slices go 20833, 20833, 20834 lots, eight times over.
    by_hand = [(500_000 * k // 24 - 500_000 * (k - 1) // 24) * LOT for k in range(1, 25)]
    assert by_hand == [D("0.20833"), D("0.20833"), D("0.20834")] * 8
    assert [size for _, size in slices] == by_hand
    assert sum(size for _, size in slices) == D(5)
    assert plan.schedule[-1][1] == D(5)


def test_twap_randomised_by_20_percent_stays_in_its_bounds():
    raw = {"duration_seconds": "240", "interval_seconds": "10", "random_variation": "0.2"}
    plan = twap.plan(facts("twap", raw, order_id="o-random"), Market(), Venue(lot=LOT))
    slices = slices_of(plan.schedule)
    sizes = [size for _, size in slices]
    assert len(slices) == 24
    assert sum(sizes) == D(5)
    assert all(size % LOT == 0 for size in sizes)
    # Each slice's weight is 1 + 0.2u, u in [−1, 1]: from 0.8 to 1.2; then the 24 weights are
    # renormalised to 5 BTC. A slice is smallest when it weighs 0.8 and the 23 others 1.2:
    # 0.8 / (0.8 + 23 · 1.2) = 0.8 / 28.4 = 2/71 of 5 BTC ≈ 0.14085 (−32% of 5/24); largest
    # when it weighs 1.2 and the others 0.8: 1.2 / (1.2 + 23 · 0.8) = 1.2 / 19.6 = 3/49 of
    # 5 BTC ≈ 0.30612 (+47%). Rounding the cumulative amounts down to lots moves a slice by
    # less than one lot either way.
    low, high = Fraction(5) * Fraction(2, 71), Fraction(5) * Fraction(3, 49)
    lot = Fraction(LOT)
    for size in sizes:
        assert low - lot < Fraction(size) < high + lot, f"{size} outside ({low}, {high})"
    # Whatever the total, two slices' weights are at most 1.2 / 0.8 = 1.5 apart.
    assert Fraction(max(sizes)) - lot <= Fraction(3, 2) * (Fraction(min(sizes)) + lot)
    # Times move by up to half the variation of an interval: ±0.1 · 10 s = ±1 s; the first
    # slice goes at once; slices never swap places.
    offsets = [offset for offset, _ in slices]
    assert offsets[0] == 0
    for k, offset in enumerate(offsets[1:], start=1):
        assert abs(offset - k * 10 * SECOND_US) <= SECOND_US, f"slice {k} at {offset} µs"
    assert offsets == sorted(set(offsets))
    # not just TWAP: the draws did move sizes and times
    assert len(set(sizes)) > 3
    assert any(offset % (10 * SECOND_US) for offset in offsets)


def test_twap_randomisation_is_seeded_by_the_order_id():
    raw = {"duration_seconds": "240", "interval_seconds": "10", "random_variation": "0.2"}

    def schedule(order_id: str):
        return twap.plan(facts("twap", raw, order_id=order_id), Market(), Venue(lot=LOT)).schedule

    assert schedule("o-sig-7") == schedule("o-sig-7")
    assert schedule("o-sig-7") != schedule("o-sig-8")
    assert schedule("o-sig-8") != schedule("o-sig-9")


def test_twap_slice_count_from_slices_interval_or_default():
    duration = 240 * SECOND_US
    assert twap.slice_count(duration, parse(CATALOG["twap"], {"slices": "7"})) == 7
    assert twap.slice_count(duration, parse(CATALOG["twap"], {"interval_seconds": "60"})) == 4
    # an interval longer than the duration: one slice
    assert twap.slice_count(duration, parse(CATALOG["twap"], {"interval_seconds": "999"})) == 1
    assert twap.slice_count(duration, parse(CATALOG["twap"], {})) == 10


def test_equal_weights_give_equal_whole_lot_slices():
    # 3 lots in 3 equal slices: 1, 1, 1. (base.schedule_of computes
    # quantity · Decimal(running / total): 3 · 0.33333333333333331 = 0.99999… → 0 lots.)
    schedule = schedule_of(D(3), [(0, 1.0), (10, 1.0), (20, 1.0)], D(1))
    assert slices_of(schedule) == [(0, D(1)), (10, D(1)), (20, D(1))]


# --- VWAP ------------------------------------------------------------------------------------


def hand_profile() -> VolumeProfile:
    """A day whose volume trades in three minutes: 10:00 20%, 10:01 30%, 10:02 50%."""
    shares = [0.0] * 1440
    shares[600], shares[601], shares[602] = 0.2, 0.3, 0.5
    return VolumeProfile(tuple(shares))


def test_vwap_points_follow_the_profile_over_the_window():
    # Window 10:00:30 to 10:02:30 in 30 s intervals. It covers the second half of 10:00
    # (0.2 / 2 = 0.1), all of 10:01 (0.3) and the first half of 10:02 (0.5 / 2 = 0.25): 0.65
    # in all, renormalised. Intervals: [0, 30 s) = 0.1 → 0.1/0.65 = 2/13; [30, 60 s) and
    # [60, 90 s) each half of 10:01 = 0.15 → 3/13; [90, 120 s) = 0.25 → 5/13.
    start = T0 + (10 * 60 * 60 + 30) * SECOND_US
    points = vwap.points(hand_profile(), start, 120 * SECOND_US, 30 * SECOND_US)
    assert [offset for offset, _ in points] == [0, 30 * SECOND_US, 60 * SECOND_US, 90 * SECOND_US]
    assert [w for _, w in points] == pytest.approx([2 / 13, 3 / 13, 3 / 13, 5 / 13], rel=1e-12)
    # 13 BTC then goes 2, 3, 3, 5
    raw = {"duration_seconds": "120", "interval_seconds": "30"}
    parent = facts("vwap", raw, quantity=D(13), start_us=start)
    plan = vwap.plan(parent, Market(), Venue(lot=LOT, profile=hand_profile()))
    assert [size for _, size in slices_of(plan.schedule)] == [D(2), D(3), D(3), D(5)]


def test_vwap_without_a_profile_is_equal_slices_and_a_partial_last_interval():
    assert vwap.points(None, T0, 60 * SECOND_US, 20 * SECOND_US) == [
        (0, 1.0),
        (20 * SECOND_US, 1.0),
        (40 * SECOND_US, 1.0),
    ]
    # 50 s in 20 s intervals: 0-20, 20-40, 40-50, the last half as heavy under a flat profile
    points = vwap.points(VolumeProfile.flat(), T0, 50 * SECOND_US, 20 * SECOND_US)
    assert [w for _, w in points] == pytest.approx([0.4, 0.4, 0.2], rel=1e-9)


def market_with(volume: str, turnover_price: str = "60000") -> Market:
    market = Market()
    market.on_quote(
        Quote(
            symbol="BTC/USDT",
            venue="binance",
            bid_price=D(turnover_price),
            ask_price=D(turnover_price) + 1,
            timestamp=T0,
        )
    )
    market.on_trade(
        Trade(
            symbol="BTC/USDT",
            venue="binance",
            trade_id="1",
            price=D(turnover_price),
            quantity=D(volume),
            timestamp=T0,
        )
    )
    return market


def trade(market: Market, quantity: str, price: str = "60000") -> None:
    market.on_trade(
        Trade(
            symbol="BTC/USDT",
            venue="binance",
            trade_id="x",
            price=D(price),
            quantity=D(quantity),
            timestamp=T0 + SECOND_US,
        )
    )


def test_vwap_participation_cap_and_price_band():
    raw = {
        "duration_seconds": "60",
        "interval_seconds": "60",
        "participation_rate": "0.2",
        "max_deviation": "0.002",
    }
    market = market_with("100")
    plan = vwap.plan(facts("vwap", raw, quantity=D(10)), market, Venue(lot=LOT))
    assert plan.due(T0) == D(10)  # one slice, all due at the start
    assert plan.target(T0, market) == 0  # nobody has traded since the start
    trade(market, "8")  # others trade 8: our share of 20% is 0.2 / 0.8 · 8 = 2
    assert plan.target(T0 + SECOND_US, market) == D(2)
    # the market VWAP since the start is 60,000; a buy paying 60,200 is 0.33% worse: hold off
    market.on_quote(
        Quote(
            symbol="BTC/USDT",
            venue="binance",
            bid_price=D(60190),
            ask_price=D(60200),
            timestamp=T0 + 2 * SECOND_US,
        )
    )
    assert plan.target(T0 + 2 * SECOND_US, market) == 0


# --- POV -------------------------------------------------------------------------------------


def test_pov_target_is_its_share_of_what_others_trade():
    market = market_with("100")  # volume before the order: not ours to share
    plan = pov.plan(facts("pov", {"participation_rate": "0.2"}, quantity=D(5)), market, Venue())
    assert plan.target(T0, market) == 0
    trade(market, "8")  # rate 0.2 of the total: 0.2 / (1 − 0.2) · 8 = 2 of the others' 8
    assert plan.target(T0, market) == D(2)
    trade(market, "100")  # never more than the parent
    assert plan.target(T0, market) == D(5)


def test_pov_slices_bound_its_children():
    raw = {"participation_rate": "0.1", "min_slice": "0.01", "max_slice": "0.5"}
    plan = pov.plan(facts("pov", raw), Market(), Venue())
    assert (plan.min_child, plan.max_child) == (D("0.01"), D("0.5"))


# --- children --------------------------------------------------------------------------------


def test_smallest_child_from_the_venues_minimums():
    # 5 USDT at 60,000: 5 / 60,000 = 0.0000833… BTC, up to whole lots: 9 lots = 0.00009
    assert children.smallest_child(BTC_USDT, D(60000), D(0)) == D("0.00009")
    # at 40,000: 0.000125 → 13 lots
    assert children.smallest_child(BTC_USDT, D(40000), D(0)) == D("0.00013")
    # at 500,000: 0.00001 BTC is worth the 5 USDT exactly
    assert children.smallest_child(BTC_USDT, D(500000), D(0)) == D("0.00001")
    # the algorithm's own floor, up to lots, when it is larger
    assert children.smallest_child(BTC_USDT, D(60000), D("0.000123")) == D("0.00013")
    # no instrument known: only the floor
    assert children.smallest_child(None, D(60000), D("0.5")) == D("0.5")


SMALLEST = D("0.00009")  # at 60,000


def size(quantity: str, done: str, target: str, largest: str | None = None) -> D | None:
    return children.child_quantity(
        quantity=D(quantity),
        done=D(done),
        target=D(target),
        lot=LOT,
        smallest=SMALLEST,
        largest=None if largest is None else D(largest),
    )


def test_child_closes_the_gap_in_whole_lots():
    assert size("1", "0", "0.123456789") == D("0.12345")
    assert size("1", "0.5", "7") == D("0.5")  # a target past the parent: only what remains
    assert size("1", "0.5", "0.5") is None  # on schedule
    assert size("1", "0.5", "0.4") is None  # ahead of it


def test_a_gap_below_the_minimum_waits_unless_everything_is_due():
    # gap 0.00055 − 0.0005 = 0.00005 < 0.00009, with 0.0005 still to come: wait
    assert size("0.001", "0.0005", "0.00055") is None
    # everything due, and the rest (0.00005) is below the minimum: the rest, as it is
    assert size("0.001", "0.00095", "0.001") == D("0.00005")
    # everything due, but the largest child (0.00002) is below the minimum: the minimum
    assert size("0.001", "0", "0.001", largest="0.00002") == SMALLEST


def test_a_remainder_below_the_minimum_is_folded_into_the_child():
    # quantity 0.001, done 0.00085, target 0.00095: the gap is 0.0001 (≥ 0.00009), but it
    # would leave 0.001 − 0.00085 − 0.0001 = 0.00005, below the minimum, stranded: the child
    # takes the whole 0.00015 instead
    assert size("0.001", "0.00085", "0.00095") == D("0.00015")
    # leaving exactly the minimum is fine: no fold
    assert size("0.001", "0.00081", "0.00091") == D("0.0001")
    # the fold goes past the largest child: 1 − 0.9 = 0.1 left, largest 0.09995 would leave
    # 0.00005
    assert size("1", "0.9", "1", largest="0.09995") == D("0.1")
    assert size("1", "0", "1", largest="0.3") == D("0.3")


def test_a_largest_child_below_the_minimum_does_not_hold_back_a_big_gap():
    # half the parent is due, far more than the minimum, but max_slice (0.00005) is below it
    assert size("1", "0", "0.5", largest="0.00005") == SMALLEST


# --- implementation shortfall ----------------------------------------------------------------

PAPER = {
    "sigma": "0.95",
    "eta": "2.5e-6",
    "gamma": "2.5e-7",
    "risk_aversion": "1e-6",
    "horizon": "5",
    "periods": "5",
}


def test_shortfall_preview_is_the_papers_optimal_schedule():
    slices = preview("implementation_shortfall", D(1_000_000), PAPER, lot=D(1))
    # Almgren & Chriss's example, by hand: X = 10⁶ shares over T = 5 days in N = 5 periods,
    # τ = 1. η̃ = η − γτ/2 = 2.5e-6 − 2.5e-7 / 2 = 2.375e-6; κ̃² = λσ²/η̃ = 1e-6 · 0.9025 /
    # 2.375e-6 = 0.38; cosh(κτ) = 1 + κ̃²τ²/2 = 1.19, κ = acosh(1.19) ≈ 0.6071 a day.
    x_big, horizon, n, tau = 1e6, 5.0, 5, 1.0
    eta_tilde = 2.5e-6 - 2.5e-7 * tau / 2
    kappa_tilde_sq = 1e-6 * 0.95**2 / eta_tilde
    kappa = math.acosh(1 + kappa_tilde_sq * tau**2 / 2) / tau
    holdings = [
        x_big * math.sinh(kappa * (horizon - j * tau)) / math.sinh(kappa * horizon)
        for j in range(n + 1)
    ]
    trades = [holdings[j - 1] - holdings[j] for j in range(1, n + 1)]
    # ≈ 458,044 / 252,101 / 141,957 / 85,756 / 62,142 shares on days 0 to 4
    assert [offset for offset, _ in slices] == [D(0), D(1), D(2), D(3), D(4)]
    for (_, quantity), expected in zip(slices, trades, strict=True):
        assert abs(float(quantity) - expected) <= 1, (quantity, expected)
    assert sum(quantity for _, quantity in slices) == D(1_000_000)
    assert [round(t) for t in trades] == [458_044, 252_101, 141_957, 85_756, 62_142]


def test_shortfall_without_risk_aversion_is_twap():
    slices = preview(
        "implementation_shortfall", D(1_000_000), {**PAPER, "risk_aversion": "1e-12"}, lot=D(1)
    )
    assert slices == [(D(k), D(200_000)) for k in range(5)]


def test_shortfall_preview_needs_the_model():
    with pytest.raises(ValueError, match="no market to estimate sigma, eta, gamma"):
        preview("implementation_shortfall", D(100), {"risk_aversion": "1e-6"})


# --- the catalog -----------------------------------------------------------------------------


def signal(**fields) -> Signal:
    base = {
        "signal_id": "sig-1",
        "strategy_id": "strat-1",
        "account_id": "acct-1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "quantity": D(1),
        "order_type": "market",
        "created_at": T0,
    }
    return Signal(**{**base, **fields})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"algorithm": "sniper"},
            "unknown algorithm 'sniper'; the catalog has: direct, twap, vwap, pov, iceberg, "
            "implementation_shortfall, adaptive",
        ),
        ({"algorithm": "pov"}, "pov needs participation_rate"),
        (
            {"algorithm": "twap", "algorithm_parameters": {"slices": "ten"}},
            "slices must be a number, not 'ten'",
        ),
        (
            {"algorithm": "twap", "algorithm_parameters": {"slices": "2.5"}},
            "slices must be a whole number of at least 1, not 2.5",
        ),
        (
            {"algorithm": "vwap", "algorithm_parameters": {"participation_rate": "1"}},
            "participation_rate must be between 0 and 1 (exclusive), not 1",
        ),
        (
            {"algorithm": "implementation_shortfall", "algorithm_parameters": {"sigma": "-1"}},
            "sigma must be a positive number, not '-1'",
        ),
        (
            {"algorithm": "twap", "algorithm_parameters": {"slice": "3"}},
            "twap has no parameter slice (it has: duration_seconds, slices, interval_seconds, "
            "random_variation, max_slippage_bps)",
        ),
        ({"algorithm": "iceberg"}, "iceberg runs iceberg, limit orders, not market"),
        (
            {"algorithm": "iceberg", "order_type": "limit", "price": D(60000)},
            "iceberg needs a display_quantity",
        ),
        (
            {"algorithm": "twap", "order_type": "stop", "stop_price": D(60000)},
            "twap runs limit, market orders, not stop",
        ),
    ],
)
def test_catalog_problems_say_what_is_wrong(fields, message):
    assert problems(signal(**fields)) == message


def test_a_signal_without_parameters_gets_each_default_and_a_copy_of_them():
    twap_values = parse(CATALOG["twap"], {})
    assert twap_values["duration_seconds"] == D(300)  # the catalog's documented default
    assert twap_values["slices"] is None and twap_values["random_variation"] == D(0)
    twap_values["duration_seconds"] = D(1)  # the caller's copy: the next parse is unchanged
    assert parse(CATALOG["twap"], {})["duration_seconds"] == D(300)
    with pytest.raises(ValueError, match="pov needs participation_rate"):
        parse(CATALOG["pov"], {})


def test_catalog_accepts_good_signals():
    assert problems(signal()) is None  # no algorithm: direct
    assert (
        problems(signal(algorithm="pov", algorithm_parameters={"participation_rate": "0.1"}))
        is None
    )
    iceberg = signal(
        algorithm="iceberg", order_type="limit", price=D(60000), display_quantity=D("0.1")
    )
    assert problems(iceberg) is None


def test_parse_fills_in_the_defaults_with_their_types():
    assert parse(CATALOG["twap"], {}) == {
        "duration_seconds": D(300),
        "slices": None,
        "interval_seconds": None,
        "random_variation": D(0),
        "max_slippage_bps": None,
    }
    assert parse(CATALOG["vwap"], {"participation_rate": "0.1"}) == {
        "duration_seconds": D(300),
        "interval_seconds": D(10),
        "participation_rate": D("0.1"),
        "max_deviation": None,
        "max_slippage_bps": None,
    }
    assert parse(CATALOG["implementation_shortfall"], {"sigma": "2"}) == {
        "duration_seconds": D(300),
        "periods": 10,
        "sigma": 2.0,
        "eta": None,
        "gamma": None,
        "risk_aversion": 1e-6,
        "max_slippage_bps": None,
    }
    assert parse(CATALOG["iceberg"], {}) == {"post_only": False}


# --- fillstream algos preview ----------------------------------------------------------------


def test_cli_preview_prints_the_schedule_as_json():
    result = CliRunner().invoke(
        app,
        [
            "algos",
            "preview",
            "twap",
            "--quantity",
            "5",
            "--lot-size",
            "0.00001",
            "--json",
            "--duration-seconds",
            "240",
            "--interval-seconds",
            "10",
        ],
    )
    assert result.exit_code == 0, result.output
    slices = json.loads(result.stdout, parse_float=D)["slices"]
    assert len(slices) == 24
    assert [s["offset"] for s in slices] == [10 * k for k in range(24)]
    assert all(isinstance(s["quantity"], D | int) for s in slices)
    assert sum(D(s["quantity"]) for s in slices) == D(5)
    assert {D(s["quantity"]) for s in slices} == {D("0.20833"), D("0.20834")}


def test_cli_preview_refuses_a_bad_parameter():
    result = CliRunner().invoke(
        app, ["algos", "preview", "twap", "--quantity", "5", "--slices", "abc"]
    )
    assert result.exit_code == 2
    assert "slices must be a number, not 'abc'" in result.output
    result = CliRunner().invoke(app, ["algos", "preview", "pov", "--quantity", "5"])
    assert result.exit_code == 2
    assert "pov needs participation_rate" in result.output
