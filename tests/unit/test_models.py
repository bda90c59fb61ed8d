"""Edge validation: what the contract models accept and what they refuse, with reasons."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from fillstream.schemas import jsonl
from fillstream.schemas.models import Command, OrderType, Side, Signal, TimeInForce

BASE = {
    "signal_id": "s-1",
    "strategy_id": "st",
    "account_id": "a-1",
    "symbol": "BTC/USDT",
    "side": "buy",
    "quantity": "0.5",
    "order_type": "market",
    "created_at": 1723161300000000,
}


def signal(**changes) -> Signal:
    return Signal.model_validate({**BASE, **changes})


def test_defaults_and_case_insensitive_enums():
    parsed = signal(side="SELL", order_type="Limit", price="100", time_in_force="ioc")
    assert (parsed.side, parsed.order_type, parsed.time_in_force) == (
        Side.SELL,
        OrderType.LIMIT,
        TimeInForce.IOC,
    )
    assert signal().time_in_force is TimeInForce.GTC


def test_numbers_from_json_lines_stay_exact():
    line = '{"quantity": 0.1000000000000000055511151231257827, "price": 61250.123456789012345}'
    parsed = signal(order_type="limit", **jsonl.loads(line))
    assert parsed.quantity == Decimal("0.1000000000000000055511151231257827")
    assert parsed.price == Decimal("61250.123456789012345")


def test_algorithm_parameters_become_exact_text():
    parsed = signal(
        algorithm="twap",
        algorithm_parameters=jsonl.loads(
            '{"slices": 10, "random_variation": 0.1, "randomise": true}'
        ),
    )
    assert parsed.algorithm_parameters == {
        "slices": "10",
        "random_variation": "0.1",
        "randomise": "true",
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"order_type": "limit"}, "a limit order needs a price"),
        ({"order_type": "stop"}, "a stop order needs a stop_price"),
        ({"order_type": "stop_limit", "price": "1"}, "a stop_limit order needs a stop_price"),
        ({"order_type": "iceberg", "price": "1"}, "an iceberg order needs a display_quantity"),
        (
            {"order_type": "iceberg", "price": "1", "display_quantity": "0.6"},
            "display_quantity cannot exceed quantity",
        ),
        ({"time_in_force": "GTD"}, "a GTD order needs expire_at"),
        ({"quantity": "0"}, "greater than 0"),
        ({"quantity": "-1"}, "greater than 0"),
        ({"quantity": "NaN"}, "finite"),
        ({"side": "hold"}, "'buy' or 'sell'"),
        ({"created_at": 1723161300000}, "looks like seconds or milliseconds"),
        ({"confidence": 1.5}, "less than or equal to 1"),
        ({"quantitiy": "1"}, "Extra inputs are not permitted"),
        ({"signal_id": ""}, "at least 1 character"),
    ],
)
def test_invalid_signals_are_refused_with_a_reason(changes, message):
    with pytest.raises(ValidationError, match=message):
        signal(**changes)


def test_commands_need_their_target():
    with pytest.raises(ValidationError, match="a cancel command needs an order_id"):
        Command(command_id="c", kind="cancel", created_at=1723161300000000)
    with pytest.raises(ValidationError, match="a modify command needs a new quantity or price"):
        Command(
            command_id="c", kind="modify", order_id="o", symbol="S", created_at=1723161300000000
        )
    with pytest.raises(ValidationError, match="and the order's symbol"):
        Command(command_id="c", kind="cancel", order_id="o", created_at=1723161300000000)
    kill = Command(command_id="c", kind="KILL_SWITCH", created_at=1723161300000000)
    assert kill.account_id is None  # every account
