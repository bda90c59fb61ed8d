"""Almgren & Chriss (2000), "Optimal Execution of Portfolio Transactions", J. Risk 3(2).

The implementation-shortfall schedule: sell (or buy) X shares over a horizon T cut into N
periods of τ = T/N, minimising E + λV under linear impact. This is the exact discrete solution,
not its small-τ approximation, because schedules here have few periods (a day cut in 5 or 10).

A model, not money: everything is a float, in the paper's units. Quantities are shares, prices
are per share, time is in one chosen unit (the paper uses days) and the model's σ, η and the
horizon must all use that unit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ImpactModel",
    "estimate",
    "expected_cost",
    "holdings",
    "trades",
    "urgency",
    "variance",
]

_SECOND_US = 1_000_000
_DAY_SECONDS = 86_400.0
# The paper's calibration: trading 10% of a day's volume moves the price one spread for good,
# and trading at 1% of daily volume per day costs one spread per share while it lasts.
_PERMANENT_FRACTION = 0.1
_TEMPORARY_FRACTION = 0.01


@dataclass(frozen=True)
class ImpactModel:
    """Linear impact: a trade of n shares in a period τ moves the price by gamma·n for good and
    costs ε + η·(n/τ) per share while it lasts.

    sigma: absolute volatility, price per share per √(time unit); eta: price per share per
    (share per time unit); gamma: price per share per share; epsilon: price per share.
    """

    sigma: float
    eta: float
    gamma: float
    epsilon: float = 0.0

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.sigma, self.eta, self.gamma, self.epsilon)):
            raise ValueError("impact model parameters must be finite numbers")
        if self.sigma < 0 or self.gamma < 0 or self.epsilon < 0:
            raise ValueError("sigma, gamma and epsilon must not be negative")
        if self.eta <= 0:
            raise ValueError(f"eta must be positive, got {self.eta}")

    def eta_tilde(self, tau: float) -> float:
        """η̃ = η − γτ/2: the temporary impact net of the permanent impact's own-period share."""
        eta_tilde = self.eta - self.gamma * tau / 2
        if eta_tilde <= 0:
            raise ValueError(
                f"η̃ = η − γτ/2 = {eta_tilde:g} is not positive: periods of {tau:g} are too long "
                "for this model (use more periods or a larger eta)"
            )
        return eta_tilde


def urgency(horizon: float, periods: int, model: ImpactModel, risk_aversion: float) -> float:
    """κ, per time unit, from cosh(κτ) = 1 + κ̃²τ²/2 with κ̃² = λσ²/η̃.

    Solved as κτ = 2·asinh(κ̃τ/2), the same root (cosh u − 1 = 2 sinh²(u/2)), because acosh of a
    number next to 1 loses every digit when κτ is tiny. The half-life of the schedule is 1/κ.
    """
    tau = _period(horizon, periods)
    if risk_aversion < 0 or not math.isfinite(risk_aversion):
        raise ValueError(f"risk aversion must be a finite number ≥ 0, got {risk_aversion}")
    kappa_tilde = math.sqrt(risk_aversion * model.sigma**2 / model.eta_tilde(tau))
    return 2 * math.asinh(kappa_tilde * tau / 2) / tau


def holdings(
    quantity: float, horizon: float, periods: int, model: ImpactModel, risk_aversion: float
) -> list[float]:
    """x_0..x_N of the optimal schedule: x_j = X·sinh(κ(T − t_j))/sinh(κT), x_0 = X, x_N = 0.

    The ratio is evaluated as e^(−jκτ)·(1 − e^(−2(N−j)κτ))/(1 − e^(−2Nκτ)) with expm1, which
    neither overflows for a large κT (an infinite one sells everything in the first period) nor
    loses precision for a small one; κ = 0 (λ = 0, or λ so small that κ underflows) is the
    linear schedule X·(N − j)/N, i.e. TWAP.
    """
    kappa_tau = urgency(horizon, periods, model, risk_aversion) * _period(horizon, periods)
    if kappa_tau == 0:
        between = [quantity * (periods - j) / periods for j in range(1, periods)]
    else:
        whole = math.expm1(-2 * periods * kappa_tau)
        between = [
            quantity * math.exp(-j * kappa_tau) * math.expm1(-2 * (periods - j) * kappa_tau) / whole
            for j in range(1, periods)
        ]
    return [quantity, *between, 0.0]


def trades(
    quantity: float, horizon: float, periods: int, model: ImpactModel, risk_aversion: float
) -> list[float]:
    """n_1..n_N, the shares to trade in each period: n_j = x_(j−1) − x_j."""
    path = holdings(quantity, horizon, periods, model, risk_aversion)
    return [before - after for before, after in itertools.pairwise(path)]


def expected_cost(path: Sequence[float], horizon: float, model: ImpactModel) -> float:
    """E = gamma·X²/2 + ε·Σ|n_k| + (η̃/τ)·Σn_k², for any schedule x_0 = X, ..., x_N = 0.

    The paper's expected shortfall without drift (alpha = 0), as in its own example.
    """
    tau = _trajectory_period(path, horizon)
    sold = [before - after for before, after in itertools.pairwise(path)]
    return (
        model.gamma * path[0] ** 2 / 2
        + model.epsilon * sum(abs(n) for n in sold)
        + model.eta_tilde(tau) / tau * sum(n * n for n in sold)
    )


def variance(path: Sequence[float], horizon: float, model: ImpactModel) -> float:
    """V = σ²τ·Σ_(k=1..N) x_k²: the risk of holding x_k through each period."""
    tau = _trajectory_period(path, horizon)
    return model.sigma**2 * tau * sum(x * x for x in path[1:])


def estimate(
    mids: Sequence[tuple[int, float]],
    *,
    spread: float,
    daily_volume: float,
    unit_seconds: float = _DAY_SECONDS,
) -> ImpactModel:
    """The paper's own calibration, for when no model is given.

    mids: (µs since the epoch, mid price) in time order; σ is their realised volatility,
    √(Σ Δmid² / Σ Δt), per √(unit_seconds), without a drift (over an execution horizon it is
    noise). spread: the usual bid-ask spread, a price. daily_volume: shares per 24 hours of the
    mids' clock. Then ε is half the spread; gamma moves the price one spread for good when 10%
    of a day's volume is traded; η costs one spread per share when trading at 1% of the daily
    volume per day (expressed per time unit), so with a unit of one day η = 10·gamma.
    """
    if spread <= 0 or daily_volume <= 0 or unit_seconds <= 0:
        raise ValueError("spread, daily volume and the time unit must be positive")
    if len(mids) < 2:
        raise ValueError(f"volatility needs at least two mid observations, got {len(mids)}")
    steps = list(itertools.pairwise(mids))
    if any(later <= earlier for (earlier, _), (later, _) in steps):
        raise ValueError("mid observations must have strictly increasing timestamps")
    elapsed_units = (mids[-1][0] - mids[0][0]) / _SECOND_US / unit_seconds
    squared_moves = math.fsum((after - before) ** 2 for (_, before), (_, after) in steps)
    rate_per_unit = daily_volume * unit_seconds / _DAY_SECONDS
    return ImpactModel(
        sigma=math.sqrt(squared_moves / elapsed_units),
        eta=spread / (_TEMPORARY_FRACTION * rate_per_unit),
        gamma=spread / (_PERMANENT_FRACTION * daily_volume),
        epsilon=spread / 2,
    )


def _period(horizon: float, periods: int) -> float:
    if periods < 1:
        raise ValueError(f"a schedule needs at least one period, got {periods}")
    if not horizon > 0 or not math.isfinite(horizon):
        raise ValueError(f"the horizon must be a positive time, got {horizon}")
    return horizon / periods


def _trajectory_period(path: Sequence[float], horizon: float) -> float:
    if len(path) < 2:
        raise ValueError("a schedule has at least x_0 and x_N")
    if path[-1] != 0:
        raise ValueError(f"a schedule ends with nothing left (x_N = 0), got {path[-1]}")
    return _period(horizon, len(path) - 1)
