"""Stage outputs are valid, encodable contract records (what the live shell will publish)."""

from __future__ import annotations

from decimal import Decimal

from fillstream.schemas.models import OrderState, OrderStatus, Rejection, Signal
from fillstream.schemas.serde import SingleObjectCodec
from fillstream.streams.stages.oms import OmsStage

T = 1723161300000000


def test_a_refused_signal_gets_an_encodable_rejected_order_state():
    signal = Signal(
        signal_id="x",
        strategy_id="s",
        account_id="a",
        symbol="BTC/USDT",
        side="buy",
        quantity="1",
        order_type="market",
        created_at=T,
    )
    rejection = Rejection(
        signal_id="x",
        account_id="a",
        reason_code="MAX_ORDER_QUANTITY",
        reason="too big",
        stage="risk",
        signal=signal,
        rejected_at=T + 1,
    )
    (emit,) = OmsStage().handle("orders.rejected", rejection, T + 1)  # risk never held it
    state = OrderState.model_validate(emit.record.model_dump())
    assert (state.order_id, state.status, state.leaves_quantity, state.reason) == (
        "o-x",
        OrderStatus.REJECTED,
        Decimal(0),
        "MAX_ORDER_QUANTITY: too big",
    )
    codec = SingleObjectCodec("OrderState")
    assert codec.decode(codec.encode(emit.record.model_dump()))["leaves_quantity"] == 0
