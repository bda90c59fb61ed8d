"""Records built from already-valid values without validation equal validated ones, and the
test suites' check catches a value validation would have changed or refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fillstream.schemas import trusted as trusted_module
from fillstream.schemas.models import ExecType, ExecutionReport, OrderStatus, Side
from fillstream.schemas.trusted import trusted

REPORT = {
    "report_id": "s-1:1",
    "order_id": "o-1",
    "signal_id": "sig-1",
    "slice_id": "s-1",
    "account_id": "acct",
    "symbol": "BTCUSDT",
    "venue": "sim",
    "side": Side.BUY,
    "exec_type": ExecType.FILL,
    "status": OrderStatus.FILLED,
    "quantity": Decimal("0.5"),
    "last_quantity": Decimal("0.5"),
    "last_price": Decimal("100.1"),
    "filled_quantity": Decimal("0.5"),
    "leaves_quantity": Decimal(0),
    "commission": Decimal("0.01"),
    "timestamp": 1_700_000_000_000_000,
}


def test_a_trusted_record_equals_the_validated_one_in_every_way_that_shows():
    built, validated = trusted(ExecutionReport, **REPORT), ExecutionReport(**REPORT)
    assert built == validated
    assert hash(built.report_id) == hash(validated.report_id)
    assert list(built.__dict__) == list(validated.__dict__)  # the model's field order
    assert built.model_fields_set == validated.model_fields_set
    assert built.model_dump() == validated.model_dump()
    assert built.model_copy(update={"venue": "x"}) == validated.model_copy(update={"venue": "x"})


def test_a_missing_or_unknown_field_is_refused():
    with pytest.raises(TypeError, match="missing"):
        trusted(ExecutionReport, **{k: v for k, v in REPORT.items() if k != "symbol"})
    with pytest.raises(TypeError, match="unknown"):
        trusted(ExecutionReport, **REPORT, colour="red")


def test_the_check_catches_what_validation_would_have_changed(monkeypatch):
    monkeypatch.setattr(trusted_module, "CHECK", True)
    with pytest.raises(AssertionError, match="side"):
        trusted(ExecutionReport, **{**REPORT, "side": "BUY"})  # validation makes it Side.BUY
    with pytest.raises(Exception):  # noqa: B017 - validation refuses it: pydantic's error
        trusted(ExecutionReport, **{**REPORT, "quantity": Decimal(0)})
