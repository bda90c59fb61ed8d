"""Pre-trade preview: an algorithm's planned slices, before any order exists.

Schedules that depend only on time (TWAP, VWAP, implementation shortfall) are exactly what the
executor would plan; POV's depends on the volume the market will trade, so its preview assumes
a steady volume rate; an iceberg's parts go out as each previous one fills, so they have no
offset. Adaptive chooses among these from the market at arrival, which a preview cannot know.

Offsets are in seconds, but for implementation shortfall given a `horizon`: then they are in
the horizon's own unit (the paper's days, say), as are sigma and eta.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal

from fillstream.streams.execution import almgren_chriss
from fillstream.streams.execution.algorithms import shortfall, twap, vwap
from fillstream.streams.execution.algorithms.base import SECOND_US, Schedule, schedule_of
from fillstream.streams.execution.algorithms.catalog import CATALOG, parse
from fillstream.streams.execution.volume_profile import VolumeProfile

__all__ = ["PreviewSlice", "preview"]

PreviewSlice = tuple[Decimal | None, Decimal]  # (offset, quantity)

_MODEL = ("sigma", "eta", "gamma")


def preview(
    name: str,
    quantity: Decimal,
    raw: Mapping[str, str],
    *,
    lot: Decimal | None = None,
    start_us: int = 0,
    profile: VolumeProfile | None = None,
    volume_rate: Decimal | None = None,
    display_quantity: Decimal | None = None,
) -> list[PreviewSlice]:
    """The planned (offset, quantity) slices; ValueError says what is missing or wrong."""
    if name not in CATALOG:
        raise ValueError(f"unknown algorithm {name!r}; the catalog has: {', '.join(CATALOG)}")
    if quantity <= 0:
        raise ValueError("the quantity must be positive")
    if name == "implementation_shortfall":
        return _shortfall(quantity, dict(raw), lot)
    parameters = parse(CATALOG[name], raw)
    if name == "twap":
        duration = int(parameters["duration_seconds"] * SECOND_US)
        slices = twap.slice_count(duration, parameters)
        variation = float(parameters["random_variation"])
        return _slices(schedule_of(quantity, twap.points(duration, slices, variation), lot))
    if name == "vwap":
        duration = int(parameters["duration_seconds"] * SECOND_US)
        interval = int(parameters["interval_seconds"] * SECOND_US)
        points = vwap.points(profile, start_us, duration, interval)
        return _slices(schedule_of(quantity, points, lot))
    if name == "pov":
        return _pov(quantity, parameters, lot, volume_rate)
    if name == "iceberg":
        if display_quantity is None:
            raise ValueError("an iceberg preview needs the display quantity")
        parts, last = divmod(quantity, display_quantity)
        sizes = [display_quantity] * int(parts) + ([last] if last else [])
        return [(None, size) for size in sizes]
    raise ValueError(
        f"{name} chooses its algorithm from the market at arrival; preview the one it would "
        "choose instead (see `fillstream algos list`)"
    )


def _shortfall(quantity: Decimal, raw: dict[str, str], lot: Decimal | None) -> list[PreviewSlice]:
    horizon = raw.pop("horizon", None)
    if horizon is not None:
        raw["duration_seconds"] = horizon  # same number; the unit is the caller's
    parameters = parse(CATALOG["implementation_shortfall"], raw)
    missing = [name for name in _MODEL if parameters[name] is None]
    if missing:
        raise ValueError(
            f"a preview has no market to estimate {', '.join(missing)} from: give them"
        )
    model = almgren_chriss.ImpactModel(*(parameters[name] for name in _MODEL))
    points = shortfall.points(
        float(quantity),
        float(parameters["duration_seconds"]),
        parameters["periods"],
        model,
        parameters["risk_aversion"],
        SECOND_US,
    )
    return _slices(schedule_of(quantity, points, lot))


def _pov(
    quantity: Decimal, parameters: dict, lot: Decimal | None, volume_rate: Decimal | None
) -> list[PreviewSlice]:
    if volume_rate is None or volume_rate <= 0:
        raise ValueError("pov trades as the market prints: give the market's volume rate")
    rate = parameters["participation_rate"]
    ours_per_second = volume_rate * rate / (1 - rate)
    size = parameters["min_slice"] or parameters["max_slice"] or quantity / 10
    size = min(size, parameters["max_slice"] or size, quantity)
    count = int(-(-quantity // size))
    points = [(round(k * size / ours_per_second * SECOND_US), 1.0) for k in range(count)]
    return _slices(schedule_of(quantity, points, lot))


def _slices(schedule: Schedule) -> list[PreviewSlice]:
    return [
        (Decimal(offset) / SECOND_US, after - before)
        for (offset, after), (_, before) in zip(
            schedule, itertools.chain([(0, Decimal(0))], schedule), strict=False
        )
    ]
