"""An account's status as the API and the CLI show it: the configuration's terms, risk's latest
state of it (`accounts.state`), its venue's word on its free money where the venue speaks for
it (`venue.balances`) and its orders still working (`orders.state`), in one place so that both
surfaces say the same."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fillstream.schemas.decimals import format_decimal
from fillstream.schemas.models import TERMINAL, AccountState, OrderState
from fillstream.streams.accounts import AccountConfig, VenueFunds
from fillstream.streams.allocation import available_margin, funds_text, remaining_budget

__all__ = ["account_status"]


def account_status(
    account: AccountConfig,
    standing: AccountState | None,
    orders: Iterable[OrderState],
    funds: VenueFunds | None = None,
) -> dict[str, Any]:
    """What an operator asks of an account: its state, available margin (and where it comes
    from), risk budget left, daily PnL and drawdown against its limits, open positions and
    working orders. Before risk has published it, it stands as configured: flat, its whole
    budget left."""
    working = sorted(
        (o for o in orders if o.account_id == account.id and o.status not in TERMINAL),
        key=lambda o: o.order_id,
    )

    def amount(value: Any) -> str | None:
        return None if value is None else format_decimal(value)

    return {
        "account_id": account.id,
        "venue": account.venue,
        "groups": list(account.groups),
        "state": (account.state if standing is None else standing.status).value,
        "balance": amount(account.balance),
        "available_margin": amount(available_margin(account, standing, funds)),
        "margin_source": "balance and PnL" if funds is None else funds_text(funds),
        "risk_budget": amount(account.risk_budget),
        "risk_budget_remaining": amount(remaining_budget(account, standing)),
        "pnl": amount(None if standing is None else standing.pnl),
        "daily_pnl": amount(None if standing is None else standing.daily_pnl),
        "max_daily_loss": amount(account.max_daily_loss),
        "drawdown": amount(None if standing is None else standing.drawdown),
        "max_drawdown": amount(account.max_drawdown),
        "exposure": amount(None if standing is None else standing.exposure),
        "positions": {}
        if standing is None
        else {s: amount(q) for s, q in standing.positions.items()},
        "working_orders": [
            {
                "order_id": o.order_id,
                "symbol": o.symbol,
                "side": o.side.value,
                "quantity": amount(o.quantity),
                "filled_quantity": amount(o.filled_quantity),
                "status": o.status.value,
            }
            for o in working
        ],
        "updated_at": None if standing is None else standing.updated_at,
    }
