"""Implementation shortfall: the Almgren-Chriss optimal schedule, in seconds.

Period j's trade n_j (`almgren_chriss.trades`) is released at the period's start, (j − 1)·τ.
Model parameters the signal does not give are estimated from the market the executor has
seen (the paper's own calibration: volatility from the mids, impact from the spread and the
traded volume). When the market says too little for that (no quotes or trades yet), or the
parameters make no valid model, the schedule falls back to the λ → 0 limit, TWAP, which is
what the optimal schedule is when nothing is known of the risk.
"""

from __future__ import annotations

from typing import Any

from fillstream.streams.execution import almgren_chriss
from fillstream.streams.execution.algorithms.base import (
    SECOND_US,
    Market,
    ParentFacts,
    ScheduledPlan,
    Venue,
    schedule_of,
)

__all__ = ["model_of", "plan", "points"]

_DAY_SECONDS = 86_400


def points(
    quantity: float,
    horizon: float,
    periods: int,
    model: almgren_chriss.ImpactModel | None,
    risk_aversion: float,
    unit_us: int,
) -> list[tuple[int, float]]:
    """(offset µs, shares) of each period's trade; TWAP when there is no model."""
    tau = horizon / periods
    if model is None:
        sizes = [quantity / periods] * periods
    else:
        sizes = almgren_chriss.trades(quantity, horizon, periods, model, risk_aversion)
    return [(round(j * tau * unit_us), size) for j, size in enumerate(sizes)]


def model_of(parameters: dict[str, Any], market: Market) -> almgren_chriss.ImpactModel | None:
    """The given parameters, the missing ones estimated from the market; None if impossible."""
    given = {name: parameters.get(name) for name in ("sigma", "eta", "gamma")}
    try:
        if None in given.values():
            spread, rate = market.spread(), market.volume_rate()
            if spread is None or spread <= 0 or not rate:
                return None
            estimated = almgren_chriss.estimate(
                list(market.mids),
                spread=float(spread),
                daily_volume=rate * _DAY_SECONDS,
                unit_seconds=1.0,
            )
            given = {
                name: value if value is not None else getattr(estimated, name)
                for name, value in given.items()
            }
            return almgren_chriss.ImpactModel(epsilon=estimated.epsilon, **given)
        return almgren_chriss.ImpactModel(**given)
    except ValueError:
        return None


def plan(parent: ParentFacts, market: Market, venue: Venue) -> ScheduledPlan:
    parameters = dict(parent.parameters)
    horizon = float(parameters["duration_seconds"])
    periods = int(parameters["periods"])
    model = model_of(parameters, market)
    try:
        sized = points(
            float(parent.quantity), horizon, periods, model, parameters["risk_aversion"], SECOND_US
        )
    except ValueError:  # η̃ ≤ 0: periods too long for this model
        sized = points(float(parent.quantity), horizon, periods, None, 0.0, SECOND_US)
    return ScheduledPlan(
        "implementation_shortfall",
        parent.start_us,
        schedule_of(parent.quantity, sized, venue.lot),
        parent.side,
    )
