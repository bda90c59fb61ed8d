"""TCA measures against worked examples from their sources, and the identities they must keep.

Where a source publishes a worked example, its numbers are the vector and the source is named
(CFA Institute Level III material on implementation shortfall and spreads). Where none could
be found (realized spread, impact, markouts, interval VWAP, timing cost), the vector is a hand
calculation with the arithmetic in the comments. D = +1 buy, −1 sell; positive cost = bad.
"""

from __future__ import annotations

import re
from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fillstream.config import load_config
from fillstream.schemas.models import Side
from fillstream.streams.tca import (
    Execution,
    Fill,
    Horizons,
    Market,
    Print,
    TcaConfig,
    analyze,
    expanded_shortfall,
    interval_market,
    markout_bps,
    mid_at,
    perold_shortfall,
    spreads,
    timing_cost,
)

BUY, SELL = 1, -1
S = 1_000_000  # µs per second
T = 1_723_161_300_000_000


# --- implementation shortfall: published examples -------------------------------------------


def test_a_partial_buy_decomposes_as_in_the_cfa_example():
    """CFA Level III implementation-shortfall example (solution reproduced at
    https://www.gaodun.com/q/b03v1i): buy 1,000 at a decision price of $40.00 (the previous
    close); 700 shares bought at $40.05 when the revised benchmark was $40.04; the rest
    cancelled at $40.08; $17 commission. The source's parts: commission 17/40,000 = 0.04%,
    realized (700/1,000)(40.05 − 40.04)/40 = 0.02%, delay (700/1,000)(40.04 − 40.00)/40 = 0.07%,
    missed trade (300/1,000)(40.08 − 40.00)/40 = 0.06%; total 0.19% = $76."""
    fills = [Fill(D(700), D("40.05"))]
    perold = perold_shortfall(BUY, D(1000), fills, D("40.00"), D("40.08"), D(17))
    # Perold's execution cost is the source's realized + delay on the filled shares:
    # 700 × (40.05 − 40.00) = 35 = 7 + 28; its opportunity cost is the missed trade: 24.
    assert (perold.execution, perold.opportunity, perold.total) == (35, 24, 76)
    expanded = expanded_shortfall(BUY, D(1000), fills, D("40.00"), D("40.04"), D("40.08"), D(17))
    # Kissell's delay is on all S: 1,000 × 0.04 = 40; trading 700 × 0.01 = 7;
    # opportunity from arrival 300 × 0.04 = 12; 40 + 7 + 12 + 17 = 76.
    assert (expanded.delay, expanded.trading, expanded.opportunity, expanded.total) == (
        40,
        7,
        12,
        76,
    )
    result = analyze(
        Execution(
            Side.BUY,
            D(1000),
            tuple(fills),
            D(17),
            decision_price=D("40.00"),
            arrival_price=D("40.04"),
            end_price=D("40.08"),
        )
    )
    assert result.total_cost_bps == pytest.approx(19.0)  # 76 / 40,000 = 0.19 %
    assert result.fill_ratio == 0.7


def test_a_sell_filled_below_the_decision_price_costs_as_in_the_cfa_exam():
    """CFA Level III exam 2000, question 28 (discussed at analystforum.com/t/52371): sell
    50,000 TRP decided at $43.00, placed when the market was $41.00, executed at $40.25 with
    $0.05 a share commission; the official shortfall is $2.80 a share."""
    fills = [Fill(D(50_000), D("40.25"))]
    perold = perold_shortfall(SELL, D(50_000), fills, D("43.00"), D("38.00"), D(2_500))
    assert perold.total / 50_000 == D("2.80")
    expanded = expanded_shortfall(
        SELL, D(50_000), fills, D("43.00"), D("41.00"), D("38.00"), D(2_500)
    )
    # A sell whose price falls costs: delay −1 × 50,000 × (41 − 43) = 100,000; trading
    # −1 × 50,000 × (40.25 − 41.00) = 37,500; nothing left unfilled.
    assert (expanded.delay, expanded.trading, expanded.opportunity) == (100_000, 37_500, 0)
    assert expanded.total == perold.total == 140_000
    result = analyze(
        Execution(
            Side.SELL,
            D(50_000),
            tuple(fills),
            D(2_500),
            decision_price=D("43.00"),
            arrival_price=D("41.00"),
        )
    )
    assert result.total_cost_bps == pytest.approx(140_000 / 2_150_000 * 10_000)  # 651.16 bps
    # Arrival slippage: −1 × (40.25 − 41)/41 = 182.93 bps of cost.
    assert result.arrival_slippage_bps == pytest.approx(0.75 / 41 * 10_000)


def test_a_buy_filled_below_the_decision_price_is_a_negative_cost():
    """Bloomberg Exam Prep CFA practice question (bloombergprep.com, "Trade Cost Measurement:
    Implementation Shortfall"): buy 4,000 decided at $16.24, all filled at $16.20, fee $38.50;
    the answer is about −0.19%: 0.06% fee − 0.25% price gain."""
    fills = (Fill(D(4_000), D("16.20")),)
    result = analyze(Execution(Side.BUY, D(4_000), fills, D("38.50"), decision_price=D("16.24")))
    assert result.perold_execution_cost == D("-160.00")  # 4,000 × (16.20 − 16.24)
    assert result.total_cost == D("-121.50")
    assert round(result.total_cost_bps / 100, 2) == -0.19  # −121.50 / 64,960 = −0.187 %


def test_a_sell_partly_filled_then_cancelled_carries_opportunity_cost():
    """A CFA Level III sell example (analystforum.com/t/108005): sell 5,000 XYZ decided at the
    $40 close; the next day closes at $39.50 (the revised benchmark); 4,000 fill at $39.70
    with $75 commission; the order is cancelled at the $39 close. The thread's split: realized
    (39.70 − 39.50) × 4,000 = $800 gain, delay (39.50 − 40) × 4,000 = $2,000 loss, missed
    (39 − 40) × 1,000 = $1,000 loss: 75 − 800 + 2,000 + 1,000 = $2,275."""
    fills = [Fill(D(4_000), D("39.70"))]
    perold = perold_shortfall(SELL, D(5_000), fills, D(40), D(39), D(75))
    # −1 × (4,000 × 39.70 − 4,000 × 40) = 1,200; −1 × 1,000 × (39 − 40) = 1,000.
    assert (perold.execution, perold.opportunity, perold.total) == (1_200, 1_000, 2_275)
    expanded = expanded_shortfall(SELL, D(5_000), fills, D(40), D("39.50"), D(39), D(75))
    # delay −1 × 5,000 × (39.50 − 40) = 2,500; trading −1 × 4,000 × (39.70 − 39.50) = −800;
    # opportunity −1 × 1,000 × (39 − 39.50) = 500.
    assert (expanded.delay, expanded.trading, expanded.opportunity) == (2_500, -800, 500)
    assert expanded.total == 2_275


def test_two_fills_and_a_missed_remainder():
    """J. L. Teall, Financial Trading and Investing, exercise (question at solutioninn.com,
    "General Statics"): buy 1,000 decided at the close of 20; the market opens at 20.10 (taken
    as arrival); 400 fill at 20.10 and 400 at 20.15; 200 never fill and the close is 20.20;
    commission 0.04 a share, on the 800 executed = 32. Hand-worked (the published answer is
    not available):
    Perold: execution 400 × 20.10 + 400 × 20.15 − 800 × 20 = 8,040 + 8,060 − 16,000 = 100;
            opportunity 200 × (20.20 − 20) = 40; total 100 + 40 + 32 = 172 = 86 bps of 20,000.
    Expanded: delay 1,000 × 0.10 = 100; trading 16,100 − 800 × 20.10 = 20;
              opportunity 200 × (20.20 − 20.10) = 20; 100 + 20 + 20 + 32 = 172."""
    fills = (Fill(D(400), D("20.10")), Fill(D(400), D("20.15")))
    result = analyze(
        Execution(
            Side.BUY,
            D(1000),
            fills,
            D(32),
            decision_price=D(20),
            arrival_price=D("20.10"),
            end_price=D("20.20"),
        )
    )
    assert (result.perold_execution_cost, result.perold_opportunity_cost) == (100, 40)
    assert (result.delay_cost, result.trading_cost, result.opportunity_cost) == (100, 20, 20)
    assert result.total_cost == 172
    assert result.total_cost_bps == pytest.approx(86.0)
    assert result.average_price == D("20.125")


# --- implementation shortfall: properties ---------------------------------------------------

prices = st.integers(1, 10_000_000).map(lambda n: D(n) / 100)  # 0.01 .. 100,000.00
quantities = st.integers(1, 1_000_000).map(lambda n: D(n) / 1000)


@st.composite
def orders(draw):
    fills = draw(st.lists(st.tuples(quantities, prices), max_size=8))
    filled = sum((q for q, _ in fills), D(0))
    unfilled = draw(st.sampled_from([D(0), D(1)]) | quantities)
    return (
        draw(st.sampled_from([BUY, SELL])),
        filled + unfilled if filled + unfilled > 0 else D(1),
        [Fill(q, p) for q, p in fills],
        draw(prices),
        draw(prices),
        draw(prices),
        draw(st.integers(-1000, 1000).map(lambda n: D(n) / 10)),
    )


@given(orders())
def test_both_forms_of_the_shortfall_add_up_to_the_same_total(order):
    d, quantity, fills, decision, arrival, end, fees = order
    perold = perold_shortfall(d, quantity, fills, decision, end, fees)
    expanded = expanded_shortfall(d, quantity, fills, decision, arrival, end, fees)
    assert perold.total == expanded.total


@given(orders())
def test_flipping_the_side_and_mirroring_the_prices_keeps_every_cost(order):
    """A sell is a buy in a mirrored market: every price p becomes 2c − p around a centre c."""
    d, quantity, fills, decision, arrival, end, fees = order
    centre = D(200_000)
    mirrored = [Fill(f.quantity, 2 * centre - f.price) for f in fills]
    cost = expanded_shortfall(d, quantity, fills, decision, arrival, end, fees)
    flipped = expanded_shortfall(
        -d, quantity, mirrored, 2 * centre - decision, 2 * centre - arrival, 2 * centre - end, fees
    )
    assert cost == flipped


# --- missing inputs -------------------------------------------------------------------------


def test_without_a_decision_price_only_what_needs_none_is_reported():
    result = analyze(
        Execution(Side.BUY, D(10), (Fill(D(4), D(101)),), arrival_price=D(100), end_price=D(102))
    )
    assert (result.perold_execution_cost, result.delay_cost, result.total_cost) == (
        None,
        None,
        None,
    )
    assert result.total_cost_bps is None
    assert (result.trading_cost, result.opportunity_cost) == (4, 12)  # 4 × 1; 6 × (102 − 100)
    assert result.arrival_slippage_bps == pytest.approx(100.0)  # (101 − 100)/100


def test_without_fills_or_prices_nothing_crashes_and_nothing_is_guessed():
    bare = analyze(Execution(Side.SELL, D(5)))
    assert (bare.filled_quantity, bare.fill_ratio, bare.average_price) == (0, 0.0, None)
    assert (bare.total_cost, bare.arrival_slippage_bps, bare.trading_cost) == (None, None, None)
    assert (bare.effective_spread_bps, bare.markouts_bps, bare.fills) == (None, {}, ())
    # No fills, all prices known: the whole order is opportunity cost.
    # Sell 5: −1 × 5 × (95 − 100) = 25 against the decision price.
    unfilled = analyze(
        Execution(Side.SELL, D(5), decision_price=D(100), arrival_price=D(99), end_price=D(95)),
        Market(mids=((T, D(99)),)),
    )
    assert (unfilled.perold_execution_cost, unfilled.total_cost) == (0, 25)
    assert unfilled.opportunity_cost == 20  # −1 × 5 × (95 − 99)
    assert unfilled.delay_cost == 5  # −1 × 5 × (99 − 100)
    assert (unfilled.timing_cost, unfilled.interval_vwap, unfilled.participation_rate) == (
        0,
        None,
        None,
    )
    # Partly filled without an end price: the opportunity cost is unknown, and so the total.
    partial = analyze(Execution(Side.BUY, D(5), (Fill(D(1), D(100)),), decision_price=D(100)))
    assert (partial.perold_opportunity_cost, partial.total_cost) == (None, None)


# --- spreads, impact and markouts -----------------------------------------------------------


def test_effective_spreads_of_sells_as_in_the_cfa_example():
    """CFA Level III effective-spread example (solution at https://www.gaodun.com/q/403v0v):
    sells at $9.98 (quote 10.00/10.07, mid 10.035), $9.92 (9.90/9.96, mid 9.93) and $9.91
    (9.88/9.94, mid 9.91); effective spreads 2 × (mid − price) = $0.11, $0.02, $0.00. Here
    in bps of the mid."""
    for price, mid, dollars in (("9.98", "10.035", "0.11"), ("9.92", "9.93", "0.02")):
        expected = float(D(dollars) / D(mid) * 10_000)
        assert spreads(SELL, D(price), D(mid), None).effective_bps == pytest.approx(expected)
    assert spreads(SELL, D("9.91"), D("9.91"), None).effective_bps == 0


def test_the_effective_spread_of_a_buy_inside_the_quote_as_in_the_cfa_example():
    """CFA Level III example (https://www.gaodun.com/q/b03v0r): bid 40.40, ask 40.49, mid
    40.445, a buy at 40.47: effective spread 2 × (40.47 − 40.445) = $0.05 (4 cents better than
    the $0.09 quoted spread)."""
    effective = spreads(BUY, D("40.47"), D("40.445"), None).effective_bps
    assert effective == pytest.approx(0.05 / 40.445 * 10_000)  # 12.36 bps


def test_realized_spread_and_impact_split_the_effective_spread_on_both_sides():
    # Buy at 100.05, mid 100.00 at the fill, 100.08 Δ later:
    # effective 2 × 0.05 / 100 = 10 bps = realized 2 × (100.05 − 100.08)/100 = −6 bps
    #                                   + impact 2 × (100.08 − 100.00)/100 = 16 bps.
    buy = spreads(BUY, D("100.05"), D(100), D("100.08"))
    assert (buy.effective_bps, buy.realized_bps, buy.impact_bps) == pytest.approx((10, -6, 16))
    # Sell at 99.95, mid 100.00, then 99.90: effective −2 × (99.95 − 100)/100 = 10 bps,
    # realized −2 × (99.95 − 99.90)/100 = −10 bps, impact −2 × (99.90 − 100)/100 = 20 bps.
    sell = spreads(SELL, D("99.95"), D(100), D("99.90"))
    assert (sell.effective_bps, sell.realized_bps, sell.impact_bps) == pytest.approx((10, -10, 20))


def test_markouts_are_positive_when_the_market_moves_the_traders_way():
    # Bought at 100.05, the mid is 100.08 a second later: (100.08 − 100.05)/100.05 = 2.9985 bps.
    assert markout_bps(BUY, D("100.05"), D("100.08")) == pytest.approx(0.03 / 100.05 * 1e4)
    # Sold at 99.95, the mid falls to 99.90: −(99.90 − 99.95)/99.95 = 5.0025 bps.
    assert markout_bps(SELL, D("99.95"), D("99.90")) == pytest.approx(0.05 / 99.95 * 1e4)
    assert markout_bps(BUY, D("100.05"), D("100.00")) < 0


@given(
    st.sampled_from([BUY, SELL]),
    prices,
    prices,
    prices,
)
def test_effective_is_realized_plus_impact_on_every_fill(d, price, mid, later):
    result = spreads(d, price, mid, later)
    assert result.effective_bps == result.realized_bps + result.impact_bps
    # ... and equals the direct formula up to the float rounding of its two terms.
    exact = Fraction(2 * d) * (Fraction(price) - Fraction(mid)) / Fraction(mid) * 10_000
    rounding = 1e-14 * max(abs(result.realized_bps), abs(result.impact_bps))
    assert result.effective_bps == pytest.approx(float(exact), rel=0, abs=rounding)


def test_the_order_averages_its_fills_by_quantity_and_keeps_the_identity():
    # Buy 30: 10 at 100.05 (t, mid 100.00) and 20 at 100.10 (t + 1 s, mid 100.06);
    # mids 100.08 from t + 2 s, 100.20 from t + 6 s. Δ = 5 s, markouts at 1 s and 5 s.
    mids = ((T, D(100)), (T + S, D("100.06")), (T + 2 * S, D("100.08")), (T + 6 * S, D("100.2")))
    fills = (Fill(D(10), D("100.05"), T), Fill(D(20), D("100.10"), T + S))
    result = analyze(
        Execution(Side.BUY, D(30), fills, arrival_price=D(100), arrival_time=T, end_time=T + S),
        Market(mids=mids, known_until=T + 10 * S),
        Horizons(markouts_us=(S, 5 * S), spread_us=5 * S),
    )
    first, second = result.fills
    # Fill 1: m_{t+5s} = 100.08: realized 2(100.05 − 100.08)/100 = −6, impact 16, effective 10.
    assert (first.spreads.realized_bps, first.spreads.impact_bps) == pytest.approx((-6, 16))
    # Fill 2: m_{t+1s+5s} = 100.20: realized 2(100.10 − 100.20)/100.06 = −19.988 bps,
    # impact 2(100.20 − 100.06)/100.06 = 27.983 bps.
    assert second.spreads.realized_bps == pytest.approx(-0.2 / 100.06 * 1e4)
    assert second.spreads.impact_bps == pytest.approx(0.28 / 100.06 * 1e4)
    # The order: (10 × fill 1 + 20 × fill 2) / 30.
    assert result.realized_spread_bps == pytest.approx((10 * -6 + 20 * -0.2 / 100.06 * 1e4) / 30)
    assert result.effective_spread_bps == result.realized_spread_bps + result.price_impact_bps
    # Markout 1 s: fill 1 sees 100.06 → (100.06 − 100.05)/100.05; fill 2 sees 100.08 →
    # (100.08 − 100.10)/100.10.
    one = (10 * 0.01 / 100.05 + 20 * -0.02 / 100.10) * 1e4 / 30
    assert result.markouts_bps["1"] == pytest.approx(one)
    # Timing: 10 × (100.00 − 100) + 20 × (100.06 − 100) = 1.20.
    assert result.timing_cost == D("1.20")


def test_markouts_past_the_known_market_are_left_out():
    fills = (Fill(D(1), D(101), T),)
    market = Market(mids=((T, D(100)),), known_until=T + 2 * S)
    result = analyze(
        Execution(Side.BUY, D(1), fills), market, Horizons(markouts_us=(S, 5 * S), spread_us=S)
    )
    assert list(result.markouts_bps) == ["1"]
    assert result.fills[0].markouts_bps.keys() == {"1"}


def test_the_mid_at_a_time_is_the_latest_at_or_before_it():
    mids = [(T, D(1)), (T + 5, D(2)), (T + 5, D(3)), (T + 9, D(4))]
    assert [mid_at(mids, T + n) for n in (-1, 0, 4, 5, 8, 9, 100)] == [None, 1, 1, 3, 3, 4, 4]


# --- interval VWAP, participation, timing ---------------------------------------------------


def test_interval_vwap_and_participation_with_and_without_own_prints_on_the_tape():
    # The market in the interval: 100 at 10.00, 300 at 10.10, 100 at 10.20 (one print before
    # and one after it do not count). Own fill: 100 at 10.16.
    # Others: (1,000 + 3,030 + 1,020)/500 = 5,050/500 = 10.10.
    # With the own fill: (5,050 + 1,016)/600 = 6,066/600 = 10.11; participation 100/600.
    others = [
        Print(T - 1, D(9), D(1000)),
        Print(T, D("10.00"), D(100)),
        Print(T + 2, D("10.10"), D(300)),
        Print(T + 4, D("10.20"), D(100)),
        Print(T + 5, D(11), D(1000)),
    ]
    own = Print(T + 3, D("10.16"), D(100))
    fills = [Fill(D(100), D("10.16"), T + 3)]
    apart = interval_market(others, T, T + 4, fills, trades_include_fills=False)
    tape = sorted([*others, own], key=lambda p: p.timestamp)
    together = interval_market(tape, T, T + 4, fills, trades_include_fills=True)
    assert apart == together
    assert (apart.vwap, apart.vwap_excluding_own, apart.volume) == (D("10.11"), D("10.1"), 600)
    result = analyze(
        Execution(Side.BUY, D(100), tuple(fills), arrival_time=T, end_time=T + 4),
        Market(trades=others),
    )
    assert result.participation_rate == pytest.approx(1 / 6)
    # Buy at 10.16 against 10.11: (10.16 − 10.11)/10.11 = 49.46 bps.
    assert result.vwap_slippage_bps == pytest.approx(0.05 / 10.11 * 1e4)
    assert result.interval_vwap_excluding_own == D("10.1")


def test_no_market_prints_in_the_interval_means_no_vwap():
    fills = [Fill(D(1), D(10), T)]
    assert (
        interval_market([Print(T + 9, D(10), D(1))], T, T + 1, fills, trades_include_fills=False)
        is None
    )


def test_timing_cost_follows_the_mid_at_each_fill():
    # Buy: 10 when the mid is 100.02, 30 when it is 99.98, arrival 100:
    # 10 × 0.02 + 30 × (−0.02) = −0.40 (the market moved the buyer's way).
    fills = [Fill(D(10), D("100.03")), Fill(D(30), D("99.99"))]
    assert timing_cost(BUY, fills, [D("100.02"), D("99.98")], D(100)) == D("-0.40")
    assert timing_cost(SELL, fills, [D("100.02"), D("99.98")], D(100)) == D("0.40")
    assert timing_cost(BUY, fills, [D("100.02"), None], D(100)) is None


# --- configuration --------------------------------------------------------------------------


def test_the_tca_table_sets_the_horizons():
    config = TcaConfig.from_dict({"markout_seconds": [30, 0.5], "spread_horizon_seconds": 2})
    assert config.horizons == Horizons(markouts_us=(500_000, 30 * S), spread_us=2 * S)
    assert config.horizons.longest_us == 30 * S
    assert TcaConfig.from_dict({}) == TcaConfig() == load_config().tca  # the shipped defaults


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"markouts": [1]}, "tca: unknown field(s) markouts"),
        ({"markout_seconds": 5}, "tca.markout_seconds: expected a list of seconds"),
        ({"markout_seconds": [1, "x"]}, "tca.markout_seconds[1]: expected a number of seconds"),
        ({"markout_seconds": [1, 1]}, "a horizon is listed twice"),
        ({"spread_horizon_seconds": 0}, "expected more than 0 seconds"),
        ({"trades_include_fills": "no"}, "expected true or false"),
    ],
)
def test_a_bad_tca_table_is_named(table, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        TcaConfig.from_dict(table)
