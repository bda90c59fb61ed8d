"""The simulated venue restored from its saved entries after any step behaves as the original.

A venue's live orders change in place, and a save writes only those it noted changed (every
report's order, and those its listing moved): a change it failed to note would leave a stale
entry behind. Random sessions (orders of every type and time in force, cancels, replaces,
trades, book diffs and snapshots, clock ticks past the session close) run twice: once
uninterrupted, once saved after every step into a dict standing in for the changelog and
rebuilt from it; the reports must be the same, and after every step the restored venue's whole
memory must be the original's, entry for entry.
"""

from __future__ import annotations

import random
from decimal import Decimal as D
from typing import Any

import pytest

from fillstream.connectors.simvenue import SimulatedVenue
from fillstream.schemas.models import ExecutionReport, Quote, Slice
from fillstream.streams.memory import Memory
from tests.unit.test_simvenue import (
    BOOK,
    BTC,
    LATENCY,
    MIDNIGHT,
    VENUE,
    T,
    amend,
    book,
    new,
    trade,
)

PRICES = [D(100) + D(n) / 2 for n in range(-6, 8)]  # 97 to 103.5, on the tick
SIZES = ["0.5", "1", "1.5", "2.5", "5"]


class Desk:
    """What the desk's venue stage remembers: its venues."""

    durable = ("venues",)
    venues: dict[str, SimulatedVenue]

    def __init__(self) -> None:
        self.venues = {"sim": SimulatedVenue(VENUE, [BTC])}

    @property
    def venue(self) -> SimulatedVenue:
        return self.venues["sim"]


def session(seed: int, steps: int) -> list[tuple[str, Any]]:
    """A random session: (what, argument) steps in time order."""
    draw = random.Random(seed)
    # First a buy joins behind the 10 bid at 99, and a print there moves it up the queue: a
    # change no report tells.
    behind = new("s-behind", "buy", "1", price="99", created_at=T + 100)
    now, sent = T + 100 + LATENCY, [behind]
    steps_out: list[tuple[str, Any]] = [
        ("market", BOOK),
        ("submit", behind),
        ("advance", now),
        ("market", trade("99", "0.5", "sell", now)),
    ]
    for n in range(steps):
        now += draw.choice([1, 300, 1_500, 40_000])
        kind = draw.random()
        if kind < 0.35 or not sent:
            slice_ = _new(draw, f"s-{n}", now)
            sent.append(slice_)
            steps_out.append(("submit", slice_))
        elif kind < 0.5:
            target, action = draw.choice(sent), draw.choice(["cancel", "replace"])
            terms: dict[str, Any] = {}
            if action == "replace":
                terms["quantity"] = draw.choice(SIZES)
                if target.price is not None and draw.random() < 0.5:
                    terms["price"] = str(draw.choice(PRICES))
            steps_out.append(("submit", amend(target, action, now, **terms)))
        elif kind < 0.7:
            price = draw.choice(PRICES)
            aggressor = draw.choice(["buy", "sell", None])
            steps_out.append(("market", trade(str(price), draw.choice(SIZES), aggressor, now)))
        elif kind < 0.85:
            bids = [(str(p), draw.choice(["0", *SIZES])) for p in draw.sample(PRICES[:8], 2)]
            asks = [(str(p), draw.choice(["0", *SIZES])) for p in draw.sample(PRICES[6:], 2)]
            steps_out.append(("market", book("diff", now, bids=bids, asks=asks)))
        elif kind < 0.9:
            steps_out.append(("market", BOOK.model_copy(update={"timestamp": now})))
        elif kind < 0.95:
            quote = Quote(
                symbol="BTC/USDT",
                venue="sim",
                bid_price=D(99),
                bid_size=D(1),
                ask_price=D(102),
                ask_size=D(1),
                timestamp=now,
            )
            steps_out.append(("market", quote))
        else:
            now += draw.choice([LATENCY, 60_000_000, MIDNIGHT - now + 1])
            steps_out.append(("advance", now))
    return steps_out


def _new(draw: random.Random, slice_id: str, now: int) -> Slice:
    order_type = draw.choice(["limit", "limit", "market", "iceberg", "stop", "stop_limit"])
    terms: dict[str, Any] = {"order_type": order_type, "created_at": now}
    if order_type in ("limit", "iceberg", "stop_limit"):
        terms["price"] = str(draw.choice(PRICES))
    if order_type in ("stop", "stop_limit"):
        terms["stop_price"] = str(draw.choice(PRICES))
    quantity = draw.choice(SIZES)
    if order_type == "iceberg":
        quantity, terms["display_quantity"] = "5", "1"
    tif = draw.choice(["GTC", "GTC", "DAY", "GTD", "IOC", "FOK"])
    terms["time_in_force"] = tif
    if tif == "GTD":
        terms["expire_at"] = now + draw.choice([2_000, 5_000_000])
    return new(slice_id, draw.choice(["buy", "sell"]), quantity, **terms)


def step(venue: SimulatedVenue, what: str, argument: Any) -> list[ExecutionReport]:
    if what == "submit":
        return venue.submit(argument)
    if what == "market":
        return venue.on_market(argument)
    return venue.advance(argument)


SEEDS, STEPS = range(8), 200


@pytest.mark.parametrize("seed", SEEDS)
def test_a_venue_restored_after_every_step_reports_as_the_original(seed):
    steps = session(seed, STEPS)
    original = Desk()
    expected = [step(original.venue, what, argument) for what, argument in steps]

    desk, changelog = Desk(), {}
    memory = Memory(desk)
    reports = []
    for what, argument in steps:
        reports.append(step(desk.venue, what, argument))
        puts, removed = memory.changes()
        changelog.update(puts)
        for key in removed:
            del changelog[key]
        restored = Desk()
        memory = Memory(restored)
        memory.restore(changelog)
        assert Memory(restored).changes()[0] == Memory(desk).changes()[0]
        assert restored.venue.open_orders() == desk.venue.open_orders()
        assert sorted(restored.venue._due) == sorted(desk.venue._due)  # what is scheduled
        desk = restored
    assert reports == expected


def test_the_sessions_reach_every_kind_of_change():
    seen = set()
    for seed in SEEDS:
        venue = Desk().venue
        for what, argument in session(seed, STEPS):
            for report in step(venue, what, argument):
                seen.add((report.exec_type.value, report.status.value, report.liquidity))
    kinds = {exec_type for exec_type, _, _ in seen}
    assert kinds == {"ack", "partial_fill", "fill", "cancel", "replace", "expire", "reject"}
    assert {("partial_fill", "partially_filled", "maker"), ("reject", "accepted", None)} <= seen
