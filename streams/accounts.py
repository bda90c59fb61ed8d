"""Accounts and allocation groups, as the engine configuration declares them.

An account is what a desk trades for someone: a fund, a sub-account, a funded trading account
held to its own rules. It has a venue, a balance (its equity at the start), the leverage its
margin allows, a risk budget (money it may lose in a UTC day), its own limits (maximum
position, maximum daily loss, maximum drawdown) and a state at the start. It belongs to one or
more allocation groups; a group's signal is split across the group's accounts
(streams/allocation.py). The `[[accounts]]` and `[[allocation_groups]]` tables of the TOML file
are validated here by pydantic, and every error names the table, its number and the key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fillstream.schemas.models import AccountStatus, Identifier, VenueBalance

__all__ = [
    "AccountConfig",
    "AccountsConfig",
    "GroupConfig",
    "VenueFunds",
    "parse_accounts",
]

_Money = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
_Positive = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccountConfig(_Table):
    """One `[[accounts]]` table. Amounts are in the venue's quote currency, `currency` when
    named; `max_position` in units of any symbol. `state`: `active`, `paused` (until a resume
    command) or `halted` (risk refuses its orders; a resume does not lift it)."""

    id: Identifier
    venue: Identifier
    currency: Identifier | None = None
    balance: _Money
    leverage: _Positive = Decimal(1)
    risk_budget: _Money
    max_position: _Money | None = None
    max_daily_loss: _Money | None = None
    max_drawdown: _Positive | None = None
    state: AccountStatus = AccountStatus.ACTIVE
    groups: list[Identifier] = Field(default_factory=list)


class GroupConfig(_Table):
    """One `[[allocation_groups]]` table. `max_correlation`: accounts whose returns correlate
    above it share one allocation. `adverse_move`: the fraction of its notional a position is
    taken to risk in a day, which turns a risk budget into the notional it allows (a budget of
    1,000 at 0.05 allows 20,000)."""

    name: Identifier
    max_correlation: Annotated[float, Field(ge=-1, le=1)] = 0.7
    adverse_move: Annotated[Decimal, Field(gt=0, le=1, allow_inf_nan=False)] = Decimal("0.05")


class AccountsConfig(BaseModel):
    """Every account by id and every group by name, with its members (sorted by id)."""

    model_config = ConfigDict(frozen=True)
    accounts: Mapping[str, AccountConfig] = Field(default_factory=dict)
    groups: Mapping[str, GroupConfig] = Field(default_factory=dict)

    def members(self, group: str) -> list[AccountConfig]:
        return sorted(
            (account for account in self.accounts.values() if group in account.groups),
            key=lambda account: account.id,
        )

    def venue_funds(self, balances: Mapping[str, VenueBalance]) -> dict[str, VenueFunds]:
        """By account id, what its venue says it has free: for an account that names its
        `currency` and is the only account on a venue whose balance the gateway publishes. A
        venue key several accounts share cannot say whose money is whose: theirs stays the
        configured balance plus risk's PnL."""
        on_venue: dict[str, list[AccountConfig]] = {}
        for account in self.accounts.values():
            on_venue.setdefault(account.venue, []).append(account)
        funds = {}
        for venue, (account, *others) in on_venue.items():
            balance = balances.get(venue)
            if others or balance is None or account.currency is None:
                continue
            free = balance.free.get(account.currency, Decimal(0))
            funds[account.id] = VenueFunds(venue, account.currency, free, balance.fetched_at)
        return funds


@dataclass(frozen=True)
class VenueFunds:
    """An account's free money as its venue last stated it (`venue.balances`)."""

    venue: str
    currency: str
    free: Decimal
    fetched_at: int


def _table(model: type[_Table], entry: Any, where: str) -> Any:
    try:
        return model.model_validate(entry)
    except ValidationError as error:
        first = error.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{where}.{key}: {first['msg']}") from None


def parse_accounts(
    accounts: Sequence[Mapping[str, Any]], groups: Sequence[Mapping[str, Any]]
) -> AccountsConfig:
    """The two tables, checked against each other: ids are unique, every group an account
    names is declared."""
    by_name: dict[str, GroupConfig] = {}
    for number, entry in enumerate(groups, start=1):
        group = _table(GroupConfig, entry, f"allocation_groups[{number}]")
        if group.name in by_name:
            raise ValueError(f"allocation_groups[{number}].name: {group.name!r} is defined twice")
        by_name[group.name] = group
    by_id: dict[str, AccountConfig] = {}
    for number, entry in enumerate(accounts, start=1):
        account = _table(AccountConfig, entry, f"accounts[{number}]")
        if account.id in by_id:
            raise ValueError(f"accounts[{number}].id: {account.id!r} is defined twice")
        for group in account.groups:
            if group not in by_name:
                raise ValueError(
                    f"accounts[{number}].groups: no [[allocation_groups]] table is named {group!r}"
                )
        by_id[account.id] = account
    return AccountsConfig(accounts=by_id, groups=by_name)
