"""What an order will do, told when it is submitted: its algorithm, how many slices it plans
and when the last is due (pure).

It is the algorithm's pre-trade preview (`fillstream algos preview`,
streams/execution/algorithms/preview.py) for the signal as submitted, from its creation time:
TWAP, VWAP and implementation shortfall plan exactly what the executor will; POV's preview
assumes the market keeps trading at its pace over the last 24 hours (or over the minutes of
them the API has followed); an iceberg's parts go out as each fills, so it has a slice count
and no completion time. Where a preview cannot be made (POV
without trades to pace it, adaptive, which picks from the market at arrival) the answer says
why instead of guessing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fillstream.config import EngineConfig
from fillstream.schemas.models import Signal
from fillstream.streams.execution.algorithms.base import SECOND_US
from fillstream.streams.execution.algorithms.catalog import DIRECT
from fillstream.streams.execution.algorithms.preview import PreviewSlice, preview

__all__ = ["planned_execution"]


def _lot(engine: EngineConfig, symbol: str) -> Decimal | None:
    """The finest lot among the symbol's venues: the router picks the venue later."""
    lots = [i.lot_size for (_, s), i in engine.instruments.instruments.items() if s == symbol]
    return min(lots, default=None)


def planned_execution(
    signal: Signal, engine: EngineConfig, volume_per_second: Decimal | None
) -> dict[str, Any]:
    """`algorithm`, `planned_slices`, `estimated_completion_at` (µs, the last slice's time)
    and `plan_note` (why something is unknown; None when nothing is)."""
    algorithm = signal.algorithm or DIRECT
    answer: dict[str, Any] = {
        "algorithm": algorithm,
        "planned_slices": None,
        "estimated_completion_at": None,
        "plan_note": None,
    }
    slices: list[PreviewSlice]
    if algorithm == DIRECT:
        slices = [(Decimal(0), signal.quantity)]
    else:
        try:
            slices = preview(
                algorithm,
                signal.quantity,
                signal.algorithm_parameters,
                lot=_lot(engine, signal.symbol),
                start_us=signal.created_at,
                profile=engine.volume_profiles.get(signal.symbol),
                volume_rate=volume_per_second,
                display_quantity=signal.display_quantity,
            )
        except ValueError as error:
            return answer | {"plan_note": str(error)}
    offsets = [offset for offset, _ in slices]
    answer["planned_slices"] = len(slices)
    if None in offsets:
        answer["plan_note"] = "each part goes out once the previous one fills"
    else:
        last = max(offset for offset in offsets if offset is not None)
        answer["estimated_completion_at"] = signal.created_at + int(last * SECOND_US)
    return answer
