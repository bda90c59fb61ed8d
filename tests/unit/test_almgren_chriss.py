"""Almgren & Chriss (2000): the paper's worked example, limits and properties, by hand."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fillstream.streams.execution.almgren_chriss import (
    ImpactModel,
    estimate,
    expected_cost,
    holdings,
    trades,
    urgency,
    variance,
)

# The paper's example: S0 = 50, 30% annual volatility, spread 1/8, 5 million shares a day;
# sell X = 10⁶ shares over T = 5 days in N = 5 periods (τ = 1 day), no drift.
X = 1e6
T = 5.0
N = 5
TAU = 1.0
PAPER = ImpactModel(sigma=0.95, eta=2.5e-6, gamma=2.5e-7, epsilon=0.0625)
LAMBDA = 1e-6
DAY_US = 86_400_000_000


def test_the_papers_parameters_come_from_its_market():
    # σ: 30% a year over 250 trading days, in dollars at $50: 0.3 / √250 · 50 = 0.9487 ≈ 0.95
    assert 0.3 / math.sqrt(250) * 50 == pytest.approx(PAPER.sigma, abs=0.002)
    # η̃ = η − γτ/2 = 2.5e-6 − 2.5e-7 · 1 / 2 = 2.5e-6 − 0.125e-6 = 2.375e-6
    assert PAPER.eta_tilde(TAU) == pytest.approx(2.375e-6, rel=1e-15)


def test_urgency_of_the_papers_example():
    # κ̃² = λσ²/η̃ = 1e-6 · 0.9025 / 2.375e-6 = 0.38 per day²
    # cosh(κτ) = 1 + κ̃²τ²/2 = 1.19, so κ = acosh(1.19) = ln(1.19 + √(1.19² − 1))
    #          = ln(1.19 + √0.4161) = ln(1.19 + 0.645058) = ln(1.835058) ≈ 0.60708 per day
    kappa = urgency(T, N, PAPER, LAMBDA)
    assert kappa == pytest.approx(math.acosh(1.19), rel=1e-14)
    assert kappa == pytest.approx(math.log(1.19 + math.sqrt(0.4161)), rel=1e-14)
    assert kappa == pytest.approx(0.60708, abs=1e-5)
    # the half-life of the trade, 1/κ ≈ 1.647 days: well inside the 5-day horizon
    assert 1 / kappa == pytest.approx(1.6472, abs=1e-4)


def test_holdings_of_the_papers_example():
    kappa = math.acosh(1.19)
    expected = [X * math.sinh(kappa * (T - j * TAU)) / math.sinh(kappa * T) for j in range(N + 1)]
    path = holdings(X, T, N, PAPER, LAMBDA)
    assert path == pytest.approx(expected, rel=1e-12, abs=1e-6)
    # ≈ 1,000,000 / 541,956 / 289,854 / 147,897 / 62,142 / 0
    assert [round(x) for x in path] == [1_000_000, 541_956, 289_854, 147_897, 62_142, 0]


def test_optimal_holdings_solve_the_papers_difference_equation():
    # Setting ∂(E + λV)/∂x_j = 0 at each inner x_j gives
    # (x_(j−1) − 2x_j + x_(j+1)) / τ² = κ̃² x_j, with κ̃² = 0.38 here.
    path = holdings(X, T, N, PAPER, LAMBDA)
    for j in range(1, N):
        second_difference = (path[j - 1] - 2 * path[j] + path[j + 1]) / TAU**2
        assert second_difference == pytest.approx(0.38 * path[j], rel=1e-9)


def test_linear_strategy_cost_and_variance_by_hand():
    linear = [1e6, 8e5, 6e5, 4e5, 2e5, 0.0]
    # E = gamma·X²/2 + εX + η̃X²/T = ½ · 2.5e-7 · 1e12 + 0.0625 · 1e6 + 2.375e-6 · 1e12 / 5
    #   = 125,000 + 62,500 + 475,000
    assert expected_cost(linear, T, PAPER) == pytest.approx(662_500, rel=1e-12)
    # V = σ²τ Σx_k² = 0.9025 · (0.64 + 0.36 + 0.16 + 0.04) · 1e12 = 0.9025 · 1.2e12 = 1.083e12
    assert variance(linear, T, PAPER) == pytest.approx(1.083e12, rel=1e-12)
    # so a standard deviation of about $1.04 million
    assert math.sqrt(variance(linear, T, PAPER)) == pytest.approx(1_040_673, abs=1)


def test_selling_everything_at_once_by_hand():
    immediate = [1e6, 0.0, 0.0, 0.0, 0.0, 0.0]
    # E = gamma·X²/2 + εX + η̃X²/τ = 125,000 + 62,500 + 2,375,000; nothing is held, so V = 0
    assert expected_cost(immediate, T, PAPER) == pytest.approx(2_562_500, rel=1e-12)
    assert variance(immediate, T, PAPER) == 0


def test_optimal_cost_and_variance_match_the_papers_closed_forms():
    # The paper's E and V of the optimal trajectory, in closed form:
    # E = gamma·X²/2 + εX + η̃X² · tanh(½κτ)(τ sinh 2κT + 2T sinh κτ) / (2τ² sinh² κT)
    # V = ½σ²X² · (τ sinh κT cosh κ(T − τ) − T sinh κτ) / (sinh² κT sinh κτ)
    kappa, eta_tilde, sigma = math.acosh(1.19), 2.375e-6, 0.95
    closed_e = (
        0.5 * 2.5e-7 * X**2
        + 0.0625 * X
        + eta_tilde
        * X**2
        * math.tanh(kappa * TAU / 2)
        * (TAU * math.sinh(2 * kappa * T) + 2 * T * math.sinh(kappa * TAU))
        / (2 * TAU**2 * math.sinh(kappa * T) ** 2)
    )
    closed_v = (
        0.5
        * sigma**2
        * X**2
        * (TAU * math.sinh(kappa * T) * math.cosh(kappa * (T - TAU)) - T * math.sinh(kappa * TAU))
        / (math.sinh(kappa * T) ** 2 * math.sinh(kappa * TAU))
    )
    path = holdings(X, T, N, PAPER, LAMBDA)
    assert expected_cost(path, T, PAPER) == pytest.approx(closed_e, rel=1e-12)
    assert variance(path, T, PAPER) == pytest.approx(closed_v, rel=1e-12)
    # ≈ $911,227 expected and $603,431 standard deviation, against $662,500 and $1,040,673
    assert closed_e == pytest.approx(911_227, abs=1)
    assert math.sqrt(closed_v) == pytest.approx(603_431, abs=1)


def test_optimal_strategy_trades_cost_for_risk():
    linear = [1e6, 8e5, 6e5, 4e5, 2e5, 0.0]
    optimal = holdings(X, T, N, PAPER, LAMBDA)
    assert variance(optimal, T, PAPER) < variance(linear, T, PAPER)
    assert expected_cost(optimal, T, PAPER) > expected_cost(linear, T, PAPER)

    def utility(path: list[float]) -> float:
        return expected_cost(path, T, PAPER) + LAMBDA * variance(path, T, PAPER)

    best = utility(optimal)
    assert best < utility(linear)
    assert best < utility([1e6, 0.0, 0.0, 0.0, 0.0, 0.0])
    for j in range(1, N):
        for nudge in (-1_000.0, 1_000.0):
            nudged = list(optimal)
            nudged[j] += nudge
            assert best < utility(nudged)


def test_no_risk_aversion_is_twap_exactly():
    assert holdings(X, T, N, PAPER, 0.0) == [X * (N - j) / N for j in range(N + 1)]
    assert holdings(1e6, 5.0, 5, PAPER, 0.0) == [1e6, 8e5, 6e5, 4e5, 2e5, 0.0]
    assert trades(1e6, 5.0, 5, PAPER, 0.0) == [2e5] * 5


@pytest.mark.parametrize("risk_aversion", [1e-20, 1e-100, 1e-300, 5e-324])
def test_tiny_risk_aversion_is_twap_within_precision(risk_aversion):
    path = holdings(X, T, N, PAPER, risk_aversion)
    assert path == pytest.approx([X * (1 - j / N) for j in range(N + 1)], rel=1e-9)


@pytest.mark.parametrize("risk_aversion", [0.0, 1e-8, 1e-6, 1e-4, 1.0, 1e6, 1e300])
def test_holdings_start_at_x_end_at_zero_and_fall(risk_aversion):
    path = holdings(X, T, N, PAPER, risk_aversion)
    assert path[0] == X
    assert path[-1] == 0
    assert all(before >= after for before, after in itertools.pairwise(path))
    assert math.fsum(trades(X, T, N, PAPER, risk_aversion)) == pytest.approx(X, rel=1e-12)


@pytest.mark.parametrize("risk_aversion", [1e-12, 1e-6, 1.0, 1e6])
def test_holdings_strictly_fall_with_risk_aversion(risk_aversion):
    path = holdings(X, T, N, PAPER, risk_aversion)
    assert all(before > after for before, after in itertools.pairwise(path))


def test_extreme_risk_aversion_sells_in_the_first_period_without_overflow():
    sold = trades(X, T, 50, PAPER, 1e300)
    assert sold[0] == pytest.approx(X, rel=1e-12)
    assert all(math.isfinite(n) for n in sold)


def test_more_risk_aversion_front_loads_more():
    first_period = [trades(X, T, N, PAPER, lam)[0] for lam in (0.0, 1e-7, 1e-6, 1e-5, 1e-4)]
    assert first_period == sorted(first_period)
    assert len(set(first_period)) == len(first_period)


@given(
    quantity=st.floats(1.0, 1e9),
    horizon=st.floats(1e-3, 1e3),
    periods=st.integers(1, 300),
    sigma=st.floats(0.0, 100.0),
    eta=st.floats(1e-9, 1.0),
    gamma_share=st.floats(0.0, 0.999),
    epsilon=st.floats(0.0, 1.0),
    risk_aversion=st.one_of(st.just(0.0), st.floats(1e-12, 1e3)),
)
def test_any_valid_schedule_trades_the_whole_quantity(
    quantity, horizon, periods, sigma, eta, gamma_share, epsilon, risk_aversion
):
    tau = horizon / periods
    # gamma < 2η/τ keeps η̃ = η − gamma·τ/2 positive
    model = ImpactModel(sigma=sigma, eta=eta, gamma=gamma_share * 2 * eta / tau, epsilon=epsilon)
    sold = trades(quantity, horizon, periods, model, risk_aversion)
    assert len(sold) == periods
    assert all(math.isfinite(n) and n >= 0 for n in sold)
    assert math.fsum(sold) == pytest.approx(quantity, rel=1e-9)
    path = holdings(quantity, horizon, periods, model, risk_aversion)
    assert math.isfinite(expected_cost(path, horizon, model))
    assert math.isfinite(variance(path, horizon, model))


def test_estimate_reproduces_the_papers_impact_parameters():
    # ε = spread/2 = 1/16; gamma = (1/8)/(0.1 · 5e6) = 2.5e-7; η = (1/8)/(0.01 · 5e6) = 2.5e-6
    mids = [(0, 50.0), (DAY_US, 50.95)]
    model = estimate(mids, spread=1 / 8, daily_volume=5e6, unit_seconds=86_400)
    assert model.epsilon == 0.0625
    assert model.gamma == pytest.approx(2.5e-7, rel=1e-15)
    assert model.eta == pytest.approx(2.5e-6, rel=1e-15)
    # one day, one move of $0.95: σ = 0.95 $/share/day^½
    assert model.sigma == pytest.approx(0.95, rel=1e-12)


def test_estimate_scales_to_the_time_unit():
    # Alternating ±1/8 every minute for a day: Σ Δmid² = 1440/64 = 22.5 over one day.
    mids = [(i * 60_000_000, 50.0 + (i % 2) / 8) for i in range(1441)]
    per_day = estimate(mids, spread=1 / 8, daily_volume=5e6)
    assert per_day.sigma == pytest.approx(math.sqrt(22.5), rel=1e-12)
    # per hour: 22.5 / 24 = 0.9375; η per hour: trading 1% of 5e6/24 shares an hour costs 1/8
    per_hour = estimate(mids, spread=1 / 8, daily_volume=5e6, unit_seconds=3_600)
    assert per_hour.sigma == pytest.approx(math.sqrt(0.9375), rel=1e-12)
    assert per_hour.eta == pytest.approx((1 / 8) / (0.01 * 5e6 / 24), rel=1e-12)
    assert per_hour.gamma == per_day.gamma


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: holdings(X, 0.0, N, PAPER, LAMBDA), "horizon"),
        (lambda: holdings(X, -1.0, N, PAPER, LAMBDA), "horizon"),
        (lambda: holdings(X, T, 0, PAPER, LAMBDA), "at least one period"),
        (lambda: holdings(X, T, N, PAPER, -1e-6), "risk aversion"),
        # 30 days in one period: η̃ = 2.5e-6 − 2.5e-7 · 30 / 2 = −1.25e-6
        (lambda: holdings(X, 30.0, 1, PAPER, LAMBDA), "η̃"),
        (lambda: expected_cost([1e6, 5e5], T, PAPER), "x_N = 0"),
        (lambda: variance([1e6], T, PAPER), "at least x_0 and x_N"),
        (lambda: ImpactModel(sigma=0.95, eta=0.0, gamma=0.0), "eta must be positive"),
        (lambda: ImpactModel(sigma=-1.0, eta=1e-6, gamma=0.0), "must not be negative"),
        (lambda: estimate([(0, 50.0)], spread=0.125, daily_volume=5e6), "at least two"),
        (lambda: estimate([(1, 50.0), (1, 51.0)], spread=0.125, daily_volume=5e6), "increasing"),
        (lambda: estimate([(0, 50.0), (1, 51.0)], spread=0.0, daily_volume=5e6), "positive"),
    ],
)
def test_bad_input_is_refused_with_a_reason(call, message):
    with pytest.raises(ValueError, match=message):
        call()
