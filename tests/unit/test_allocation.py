"""The allocation core on hand-computed cases: each size is worked out in the comments first.

Every case uses group `funded` with adverse move 0.05 (a budget B carries a notional of 20 B)
and max_correlation 0.7, and accounts at leverage 1, so an account's capacity is
min(balance + pnl - exposure, 20 x remaining budget).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from fillstream.schemas.models import AccountState, AccountStatus, Signal, VenueBalance
from fillstream.streams.accounts import AccountConfig, AccountsConfig, GroupConfig, parse_accounts
from fillstream.streams.allocation import Lot, allocate

GROUP = GroupConfig(name="funded")
T0 = 1_723_161_300_000_000


def account(account_id: str, balance: str, budget: str, **more: object) -> AccountConfig:
    return AccountConfig.model_validate(
        {"id": account_id, "venue": "binance", "balance": balance, "risk_budget": budget}
        | {"groups": ["funded"]}
        | more
    )


def signal(quantity: str = "1", **more: object) -> Signal:
    return Signal.model_validate(
        {
            "signal_id": "grp-1",
            "strategy_id": "momentum",
            "account_id": "desk",
            "symbol": "BTC/USDT",
            "side": "buy",
            "quantity": quantity,
            "order_type": "market",
            "created_at": T0,
            "allocation_group": "funded",
        }
        | more
    )


def standing(account_id: str, **more: object) -> AccountState:
    return AccountState.model_validate(
        {
            "account_id": account_id,
            "status": "active",
            "exposure": "0",
            "working_orders": 0,
            "pnl": "0",
            "daily_pnl": "0",
            "drawdown": "0",
            "updated_at": T0,
        }
        | more
    )


# A: margin 100,000, budget 1,000 -> min(100,000, 20,000) = 20,000 (the budget binds)
# B: balance 40,000 less exposure 10,000 -> margin 30,000; budget 5,000 -> 100,000: 30,000
# C: balance 60,000, pnl -10,000 -> margin 50,000; budget 2,500 -> 50,000: 50,000
A = account("a", "100000", "1000", max_drawdown="10000")
B = account("b", "40000", "5000")
C = account("c", "60000", "2500")
STANDING = {"b": standing("b", exposure="10000"), "c": standing("c", pnl="-10000")}


def sizes(children: list[Signal]) -> dict[str, Decimal]:
    return {child.account_id: child.quantity for child in children}


def lines(rationale):
    return {line.account_id: line for line in rationale.accounts}


def test_three_accounts_share_by_the_smaller_of_margin_and_budget():
    # weights 20,000 : 30,000 : 50,000 of 100,000; 100 lots of 1 -> 20, 30, 50 exactly
    children, rationale = allocate(signal("100"), GROUP, [C, A, B], STANDING, {}, Lot(Decimal(1)))
    assert sizes(children) == {"a": 20, "b": 30, "c": 50}
    assert [c.signal_id for c in children] == ["grp-1:a", "grp-1:b", "grp-1:c"]
    assert all(c.allocation_group == "funded" for c in children)
    assert rationale.allocated == 100
    by_id = lines(rationale)
    assert (by_id["a"].available_margin, by_id["a"].remaining_budget) == (100000, 1000)
    assert (by_id["a"].capacity, by_id["b"].capacity, by_id["c"].capacity) == (
        20000,
        30000,
        50000,
    )
    assert by_id["b"].available_margin == 30000
    assert by_id["a"].notes == [
        "capacity 20000: the smaller of margin 100000 x leverage 1 = 100000 and budget 1000 /"
        " adverse move 0.05 = 20000"
    ]


def test_the_one_account_on_a_venue_takes_its_margin_from_the_venues_free_balance():
    # d is kraken's only account and names USDT: kraken says 5,000 USDT free, so its margin is
    # 5,000, not its configured 100,000: capacity min(5,000, 20 x 5,000) = 5,000. b names
    # USDT too but shares binance with a, so binance's balance speaks for neither: a 20,000
    # and b 30,000 as above. e is okx's only account but names no currency: 10,000 as
    # configured, budget 500 -> min(10,000, 10,000) = 10,000.
    # weights 20,000 : 30,000 : 5,000 : 10,000 of 65,000; 130 lots of 1 -> 40, 60, 10, 20
    b = B.model_copy(update={"currency": "USDT"})
    d = account("d", "100000", "5000", venue="kraken", currency="USDT")
    e = account("e", "10000", "500", venue="okx")
    balances = {
        venue: VenueBalance(
            venue=venue,
            free={"USDT": Decimal(free), "BTC": Decimal(2)},
            total={"USDT": Decimal(free) + 1000, "BTC": Decimal(2)},
            fetched_at=T0,
        )
        for venue, free in (("kraken", "5000"), ("binance", "7"), ("okx", "3"))
    }
    funds = AccountsConfig(accounts={x.id: x for x in (A, b, d, e)}).venue_funds(balances)
    assert list(funds) == ["d"]
    assert (funds["d"].free, funds["d"].currency, funds["d"].venue) == (5000, "USDT", "kraken")

    children, rationale = allocate(
        signal("130"), GROUP, [A, b, d, e], STANDING, {}, Lot(Decimal(1)), funds
    )
    assert sizes(children) == {"a": 40, "b": 60, "d": 10, "e": 20}
    by_id = lines(rationale)
    assert (by_id["d"].available_margin, by_id["d"].capacity) == (5000, 5000)
    assert (by_id["b"].available_margin, by_id["e"].available_margin) == (30000, 10000)
    assert by_id["d"].notes[0] == (
        "margin 5000: kraken's free USDT balance, fetched 2024-08-08T23:55:00+00:00"
    )
    assert not any("free USDT" in note for note in by_id["b"].notes + by_id["e"].notes)


def test_a_venue_without_the_accounts_currency_leaves_it_no_margin():
    # kraken holds BTC only: d's free USDT is 0, so d has no capacity and is skipped.
    d = account("d", "100000", "5000", venue="kraken", currency="USDT")
    held = {"BTC": Decimal(1)}
    balance = VenueBalance(venue="kraken", free=held, total=held, fetched_at=T0)
    funds = AccountsConfig(accounts={"d": d}).venue_funds({"kraken": balance})
    _, rationale = allocate(signal("10"), GROUP, [A, d], {}, {}, Lot(Decimal(1)), funds)
    assert lines(rationale)["d"].quantity == 0
    assert lines(rationale)["d"].notes[-1] == "skipped: no capacity"
    assert lines(rationale)["a"].quantity == 10


def test_an_account_in_drawdown_is_sized_down_linearly():
    # A: drawdown 2,500 of its 10,000 limit -> x (1 - 0.25) = 0.75: weight 15,000
    # weights 15,000 : 30,000 : 50,000 of 95,000; 95 -> 15, 30, 50
    at = STANDING | {"a": standing("a", drawdown="2500")}
    children, rationale = allocate(signal("95"), GROUP, [A, B, C], at, {}, Lot(Decimal(1)))
    assert sizes(children) == {"a": 15, "b": 30, "c": 50}
    line = lines(rationale)["a"]
    assert (line.drawdown_factor, line.weight) == (Decimal("0.75"), 15000)
    assert "drawdown 2500 of its limit 10000: weight x 0.75" in line.notes


def test_an_account_at_its_drawdown_limit_gets_nothing():
    at = STANDING | {"a": standing("a", drawdown="10000")}
    children, rationale = allocate(signal("80"), GROUP, [A, B, C], at, {}, Lot(Decimal(1)))
    # weights 0 : 30,000 : 50,000 -> 30, 50
    assert sizes(children) == {"b": 30, "c": 50}
    assert "skipped: drawdown 10000 at its limit 10000" in lines(rationale)["a"].notes


def test_two_accounts_correlated_at_085_share_one_allocation():
    # A (20,000) and B (30,000) at 0.85 > 0.7 weigh as one: their mean 25,000, split 20 : 30
    # -> A 10,000, B 15,000; C 50,000. Of 75,000: 75 -> A 10, B 15, C 50
    children, rationale = allocate(
        signal("75"), GROUP, [A, B, C], STANDING, {"a|b": 0.85}, Lot(Decimal(1))
    )
    assert sizes(children) == {"a": 10, "b": 15, "c": 50}
    by_id = lines(rationale)
    assert (by_id["a"].correlated_with, by_id["b"].correlated_with) == (["b"], ["a"])
    assert (by_id["a"].weight, by_id["b"].weight, by_id["c"].weight) == (10000, 15000, 50000)
    assert any("correlated above 0.7 with b (0.85)" in note for note in by_id["a"].notes)
    assert by_id["c"].correlated_with == []


def test_a_correlation_below_the_threshold_changes_nothing():
    children, _ = allocate(
        signal("100"), GROUP, [A, B, C], STANDING, {"a|b": 0.65}, Lot(Decimal(1))
    )
    assert sizes(children) == {"a": 20, "b": 30, "c": 50}


def test_a_paused_account_is_skipped_and_the_rationale_says_so():
    # B paused: weights 20,000 : 50,000 of 70,000; 70 -> 20, 50
    at = STANDING | {"b": standing("b", status="paused", exposure="10000")}
    children, rationale = allocate(signal("70"), GROUP, [A, B, C], at, {}, Lot(Decimal(1)))
    assert sizes(children) == {"a": 20, "c": 50}
    line = lines(rationale)["b"]
    assert (line.quantity, line.child_signal_id, line.status) == (0, None, AccountStatus.PAUSED)
    assert "skipped: paused" in line.notes


def test_an_account_paused_in_the_config_is_skipped_until_risk_says_otherwise():
    paused = account("b", "40000", "5000", state="paused")
    children, _ = allocate(signal("70"), GROUP, [A, paused, C], {}, {}, Lot(Decimal(1)))
    # nothing from risk: C stands at 60,000 margin, 50,000 budget -> 50,000; A 20,000 -> 20, 50
    assert sizes(children) == {"a": 20, "c": 50}
    # risk's standing says B is active: the configured pause no longer holds it back
    children, _ = allocate(
        signal("70"), GROUP, [A, paused, C], {"b": standing("b")}, {}, Lot(Decimal(1))
    )
    assert sizes(children)["b"] > 0


def test_lot_rounding_gives_the_spare_lot_to_the_largest_remainder_and_leaves_the_rest():
    # 1.25 at 20 : 30 : 50 -> 0.25, 0.375, 0.625; in lots of 0.1: 2.5, 3.75, 6.25
    # floors 2 + 3 + 6 = 11 lots; 1.25 holds 12 whole lots: one spare, to B (0.75 the largest
    # remainder): A 0.2, B 0.4, C 0.6 = 1.2; 0.05, below one lot, stays unallocated
    children, rationale = allocate(
        signal("1.25"), GROUP, [A, B, C], STANDING, {}, Lot(Decimal("0.1"))
    )
    assert sizes(children) == {"a": Decimal("0.2"), "b": Decimal("0.4"), "c": Decimal("0.6")}
    assert rationale.allocated == Decimal("1.2")
    assert "one more lot: the largest remainder of the rounding" in lines(rationale)["b"].notes
    assert rationale.notes[0].startswith("unallocated 0.05")


def test_equal_remainders_go_by_account_id():
    # three equal accounts: 1.0 -> 0.333.. each = 3.33 lots of 0.1; floors 9, one spare: A
    twin = [account(name, "20000", "1000") for name in ("c", "b", "a")]
    children, _ = allocate(signal("1.0"), GROUP, twin, {}, {}, Lot(Decimal("0.1")))
    assert sizes(children) == {"a": Decimal("0.4"), "b": Decimal("0.3"), "c": Decimal("0.3")}


def test_max_position_caps_a_share_and_a_child_below_the_minimum_is_dropped():
    # A holds 18 of max_position 20: room 2 for a buy; pro rata 20 -> capped at 2 (18 left
    # unallocated). 0.2 minimum 0.5 drops nothing here; a second run with 1 lot total shows it.
    capped = account("a", "100000", "1000", max_position="20")
    at = STANDING | {"a": standing("a", positions={"BTC/USDT": "18"})}
    children, rationale = allocate(signal("100"), GROUP, [capped, B, C], at, {}, Lot(Decimal(1)))
    assert sizes(children) == {"a": 2, "b": 30, "c": 50}
    assert rationale.allocated == 82
    # 1 at 20 : 30 : 50 -> 0.2, 0.3, 0.5 in lots of 0.1, minimum 0.4: A and B dropped
    children, rationale = allocate(
        signal("1"), GROUP, [A, B, C], STANDING, {}, Lot(Decimal("0.1"), Decimal("0.4"))
    )
    assert sizes(children) == {"c": Decimal("0.5")}
    assert "dropped: 0.2 is below the minimum quantity 0.4" in lines(rationale)["a"].notes


def test_a_repeated_parent_gives_identical_children_and_rationale():
    first = allocate(signal("1.25"), GROUP, [A, B, C], STANDING, {}, Lot(Decimal("0.1")))
    again = allocate(signal("1.25"), GROUP, [C, B, A], STANDING, {}, Lot(Decimal("0.1")))
    assert first == again


def test_children_never_sum_beyond_the_parent():
    for quantity in ("0.05", "0.3", "1", "7.77", "100"):
        children, rationale = allocate(
            signal(quantity), GROUP, [A, B, C], STANDING, {"a|c": 0.9}, Lot(Decimal("0.1"))
        )
        assert sum(child.quantity for child in children) == rationale.allocated
        assert rationale.allocated <= Decimal(quantity)


def test_accounts_config_names_the_table_and_key_of_a_mistake():
    group = [{"name": "funded"}]
    with pytest.raises(ValueError, match=r"accounts\[2\]\.risk_budget"):
        parse_accounts(
            [
                {"id": "a", "venue": "binance", "balance": "1", "risk_budget": "1"},
                {"id": "b", "venue": "binance", "balance": "1", "risk_budget": "-1"},
            ],
            group,
        )
    with pytest.raises(ValueError, match=r"accounts\[1\]\.groups: no \[\[allocation_groups\]\]"):
        parse_accounts(
            [{"id": "a", "venue": "v", "balance": 1, "risk_budget": 1, "groups": ["x"]}], group
        )
    with pytest.raises(ValueError, match=r"accounts\[1\]\.colour"):
        parse_accounts(
            [{"id": "a", "venue": "v", "balance": 1, "risk_budget": 1, "colour": "red"}], group
        )
    config = parse_accounts(
        [
            {"id": "b", "venue": "v", "balance": 1, "risk_budget": 1, "groups": ["funded"]},
            {"id": "a", "venue": "v", "balance": "2.5", "risk_budget": 1, "groups": ["funded"]},
        ],
        group,
    )
    assert [member.id for member in config.members("funded")] == ["a", "b"]
    assert config.accounts["a"].balance == Decimal("2.5")
