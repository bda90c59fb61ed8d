"""Accounts: who may trade (API key and secret) and what each holds, free and locked.

An order locks what it may spend when it is placed (a buy its quote at the limit price, or the
estimated cost of a market buy; a sell its base quantity) and gives back what it did not spend
when it ends. Commission is charged in the asset received, as Binance does without BNB: a buy
pays it in base, a sell in quote.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from fillstream.connectors.emulator.errors import insufficient_balance

__all__ = ["Account", "Wallet"]

_ZERO = Decimal(0)


@dataclass(frozen=True)
class Account:
    """A trading account: `balances` are what it holds when the emulator starts."""

    name: str
    api_key: str
    secret: str = field(repr=False)
    balances: Mapping[str, Decimal] = field(default_factory=dict)


class Wallet:
    """One account's balances (call its methods in the exact decimal context)."""

    def __init__(self, balances: Mapping[str, Decimal]) -> None:
        self.free: dict[str, Decimal] = dict(balances)
        self.locked: dict[str, Decimal] = {}

    def lock(self, asset: str, amount: Decimal) -> None:
        """Set `amount` aside for an order; refuse (-2010) if it is not free."""
        if self.free.get(asset, _ZERO) < amount:
            raise insufficient_balance()
        self._move(asset, -amount, amount)

    def unlock(self, asset: str, amount: Decimal) -> None:
        self._move(asset, amount, -amount)

    def settle(
        self, paid: str, from_locked: Decimal, cost: Decimal, received: str, proceeds: Decimal
    ) -> None:
        """Book one fill: `cost` of `paid` leaves, `from_locked` of it from the locked part (the
        rest of that lock returns to free), `proceeds` of `received` arrive."""
        self._move(paid, from_locked - cost, -from_locked)
        self._move(received, proceeds, _ZERO)

    def assets(self) -> list[str]:
        return sorted(self.free.keys() | self.locked.keys())

    def _move(self, asset: str, free: Decimal, locked: Decimal) -> None:
        self.free[asset] = self.free.get(asset, _ZERO) + free
        self.locked[asset] = self.locked.get(asset, _ZERO) + locked
