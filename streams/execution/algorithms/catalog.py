"""The algorithm catalog: every algorithm's name, description and parameters, in one place.

Risk validates a signal's algorithm and parameters against it (a bad one is rejected with
INVALID_ALGORITHM before it becomes an order), the executor reads the typed values from it,
and the CLI and the API list and document it, so none of them can drift from the others.
Parameters travel as text in signals (exact numbers); `parse` gives them their types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from fillstream.schemas.models import OrderType, Signal
from fillstream.streams.execution import collar

__all__ = ["CATALOG", "DIRECT", "AlgorithmSpec", "Kind", "Parameter", "parse", "problems"]

DIRECT = "direct"


class Kind(StrEnum):
    """A parameter's type, as the CLI and the API show it."""

    SECONDS = "seconds"  # a positive decimal number of seconds
    INTEGER = "integer"  # a positive whole number
    FRACTION = "fraction"  # a decimal strictly between 0 and 1
    VARIATION = "variation"  # a decimal from 0 to 1 inclusive
    QUANTITY = "quantity"  # a positive decimal quantity
    NUMBER = "number"  # a positive real (model parameters; floats)
    BPS = "bps"  # a decimal number of basis points, strictly between 0 and 10,000
    BOOLEAN = "boolean"


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    kind: Kind
    description: str
    required: bool = False
    default: str | None = None  # as text, like a signal carries it

    def convert(self, text: str) -> Any:
        """The typed value of `text`, or ValueError saying what is expected."""
        if self.kind is Kind.BOOLEAN:
            if text.lower() not in {"true", "false"}:
                raise ValueError(f"{self.name} must be true or false, not {text!r}")
            return text.lower() == "true"
        if self.kind is Kind.NUMBER:
            try:
                number = float(text)
            except ValueError:
                raise ValueError(f"{self.name} must be a number, not {text!r}") from None
            if not number > 0 or number == float("inf"):
                raise ValueError(f"{self.name} must be a positive number, not {text!r}")
            return number
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{self.name} must be a number, not {text!r}") from None
        if not value.is_finite():
            raise ValueError(f"{self.name} must be a finite number, not {text!r}")
        if self.kind is Kind.INTEGER:
            if value != value.to_integral_value() or value < 1:
                raise ValueError(f"{self.name} must be a whole number of at least 1, not {text}")
            return int(value)
        if self.kind is Kind.FRACTION and not 0 < value < 1:
            raise ValueError(f"{self.name} must be between 0 and 1 (exclusive), not {text}")
        if self.kind is Kind.VARIATION and not 0 <= value <= 1:
            raise ValueError(f"{self.name} must be from 0 to 1, not {text}")
        if self.kind is Kind.BPS and not 0 < value < 10_000:
            raise ValueError(f"{self.name} must be between 0 and 10000 bps (exclusive), not {text}")
        if self.kind in {Kind.SECONDS, Kind.QUANTITY} and value <= 0:
            raise ValueError(f"{self.name} must be positive, not {text}")
        return value


@dataclass(frozen=True, slots=True)
class AlgorithmSpec:
    name: str
    display_name: str
    description: str
    parameters: tuple[Parameter, ...] = ()
    order_types: frozenset[OrderType] = frozenset({OrderType.MARKET, OrderType.LIMIT})
    needs_display_quantity: bool = False
    # Every parameter at its default, parsed once (None if one is required): most signals
    # carry no parameters, and risk and the executor parse each signal's.
    defaults: Mapping[str, Any] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            defaults = self.typed({})
        except ValueError:
            defaults = None
        object.__setattr__(self, "defaults", defaults)

    def typed(self, raw: Mapping[str, str]) -> dict[str, Any]:
        """Each parameter's value from its text in `raw`, else its default; ValueError naming
        a required one missing or a text of the wrong kind."""
        values: dict[str, Any] = {}
        for parameter in self.parameters:
            text = raw.get(parameter.name, parameter.default)
            if text is None:
                if parameter.required:
                    raise ValueError(f"{self.name} needs {parameter.name}")
                values[parameter.name] = None
                continue
            values[parameter.name] = parameter.convert(text)
        return values

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    def describe(self) -> dict[str, Any]:
        """The algorithm and its parameters' schema as plain JSON (the CLI's and the API's)."""
        return {
            "name": self.name,
            "display_name": self.display_name,
            "description": self.description,
            "order_types": sorted(t.value for t in self.order_types),
            "parameters": [
                {
                    "name": p.name,
                    "type": p.kind.value,
                    "required": p.required,
                    "default": p.default,
                    "description": p.description,
                }
                for p in self.parameters
            ],
        }


_DURATION = Parameter(
    "duration_seconds", Kind.SECONDS, "How long the schedule runs.", default="300"
)
_POST_ONLY = Parameter(
    "post_only",
    Kind.BOOLEAN,
    "Rest as maker only: the venue refuses a child that would take liquidity.",
    default="false",
)
_MAX_SLIPPAGE = Parameter(
    collar.PARAMETER,
    Kind.BPS,
    "Slippage collar: a market order or market child goes as a limit IOC this many bps from "
    "its reference price (else the risk config's for the account and symbol, else "
    f"{collar.DEFAULT_MAX_SLIPPAGE_BPS}).",
)

CATALOG: dict[str, AlgorithmSpec] = {
    spec.name: spec
    for spec in (
        AlgorithmSpec(
            DIRECT,
            "Direct",
            "The whole order at once, one child per venue of the routing plan, with the "
            "signal's own order type and time in force. The default when a signal names none.",
            (_POST_ONLY, _MAX_SLIPPAGE),
            order_types=frozenset(OrderType),
        ),
        AlgorithmSpec(
            "twap",
            "TWAP",
            "Equal slices at equal intervals over the duration (time-weighted average price), "
            "with optional bounded randomisation of slice size and timing.",
            (
                _DURATION,
                Parameter(
                    "slices",
                    Kind.INTEGER,
                    "Number of slices (10 when neither this nor interval_seconds is given).",
                ),
                Parameter(
                    "interval_seconds",
                    Kind.SECONDS,
                    "Time between slices; sets the number of slices when `slices` is not given.",
                ),
                Parameter(
                    "random_variation",
                    Kind.VARIATION,
                    "Randomise each slice's size by up to this fraction of the average slice, "
                    "and its time by up to half of this fraction of the interval.",
                    default="0",
                ),
                _MAX_SLIPPAGE,
            ),
        ),
        AlgorithmSpec(
            "vwap",
            "VWAP",
            "Slices in proportion to the historical volume profile over the duration "
            "(volume-weighted average price), optionally capped at a share of market volume "
            "and held off while the price strays from the interval's market VWAP.",
            (
                _DURATION,
                Parameter("interval_seconds", Kind.SECONDS, "Time between slices.", default="10"),
                Parameter(
                    "participation_rate",
                    Kind.FRACTION,
                    "Cap on our share of the market's volume since the start.",
                ),
                Parameter(
                    "max_deviation",
                    Kind.FRACTION,
                    "No new slice while the price to pay is worse than the market VWAP since "
                    "the start by more than this fraction (0.002 = 20 bps).",
                ),
                _MAX_SLIPPAGE,
            ),
        ),
        AlgorithmSpec(
            "pov",
            "Percentage of volume",
            "Trades a fixed share of the market's volume as it prints, until done.",
            (
                Parameter(
                    "participation_rate",
                    Kind.FRACTION,
                    "Our target share of the total volume traded, ours included.",
                    required=True,
                ),
                Parameter(
                    "min_slice",
                    Kind.QUANTITY,
                    "Smallest child to send (the venue's minimum applies anyway).",
                ),
                Parameter("max_slice", Kind.QUANTITY, "Largest child to send."),
                _MAX_SLIPPAGE,
            ),
        ),
        AlgorithmSpec(
            "iceberg",
            "Iceberg",
            "Rests `display_quantity` at the limit price at a time, and shows the next part "
            "each time the visible one fills.",
            (_POST_ONLY,),
            order_types=frozenset({OrderType.LIMIT, OrderType.ICEBERG}),
            needs_display_quantity=True,
        ),
        AlgorithmSpec(
            "implementation_shortfall",
            "Implementation shortfall",
            "The Almgren-Chriss optimal schedule: trades faster early the more risk-averse, "
            "balancing market impact against price risk. Model parameters not given are "
            "estimated from the market at arrival. Time unit: seconds.",
            (
                _DURATION,
                Parameter("periods", Kind.INTEGER, "Number of trading periods.", default="10"),
                Parameter("sigma", Kind.NUMBER, "Price volatility, price units per √second."),
                Parameter("eta", Kind.NUMBER, "Temporary impact, price per (quantity per second)."),
                Parameter("gamma", Kind.NUMBER, "Permanent impact, price per quantity."),
                Parameter(
                    "risk_aversion",
                    Kind.NUMBER,
                    "λ, per unit of currency; towards 0 the schedule becomes TWAP.",
                    default="1e-6",
                ),
                _MAX_SLIPPAGE,
            ),
        ),
        AlgorithmSpec(
            "adaptive",
            "Adaptive",
            "Picks an algorithm and its urgency from the signal's urgency and confidence and "
            "the market at arrival (spread, displayed depth, traded volume).",
            (
                Parameter(
                    "duration_seconds",
                    Kind.SECONDS,
                    "Longest time to take (else from the order's size and the market's volume).",
                ),
                _MAX_SLIPPAGE,
            ),
        ),
    )
}


def parse(spec: AlgorithmSpec, raw: Mapping[str, str]) -> dict[str, Any]:
    """Every parameter of `spec`, typed, defaults filled in; ValueError on any problem.

    A raw parameter the algorithm does not have is an error too: a misspelt name would
    otherwise be silently replaced by its default.
    """
    if not raw and spec.defaults is not None:
        return dict(spec.defaults)
    unknown = sorted(set(raw) - {p.name for p in spec.parameters})
    if unknown:
        known = ", ".join(p.name for p in spec.parameters) or "none"
        raise ValueError(f"{spec.name} has no parameter {', '.join(unknown)} (it has: {known})")
    return spec.typed(raw)


def problems(signal: Signal) -> str | None:
    """Why the signal's algorithm cannot run it, or None."""
    name = signal.algorithm or DIRECT
    spec = CATALOG.get(name)
    if spec is None:
        return f"unknown algorithm {name!r}; the catalog has: {', '.join(CATALOG)}"
    if signal.order_type not in spec.order_types:
        allowed = ", ".join(sorted(t.value for t in spec.order_types))
        return f"{name} runs {allowed} orders, not {signal.order_type.value}"
    if spec.needs_display_quantity and signal.display_quantity is None:
        return f"{name} needs a display_quantity"
    try:
        parse(spec, signal.algorithm_parameters)
    except ValueError as error:
        return str(error)
    return None
