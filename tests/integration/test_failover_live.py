"""Failover on the live pipeline: risk refuses one account's child, and its quantity completes
on another account of the group; the rationale says so, and `fillstream audit` passes. And an
account paused while its child works: the child is cancelled and its rest goes to another.

The fault is risk's: fund-b may order at most 0.01 BTC, so its child of 0.03 (the accounts are
tests/accounts.py's, splitting 0.1 BTC 20 : 30 : 50 into 0.02, 0.03, 0.05) is refused. Its end
reaches the allocator on `allocations.ended`, and fund-c, the heaviest account left, takes the
0.03 as `grp-1:fund-c:f1`: fund-c ends holding 0.08, fund-a 0.02, fund-b nothing.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from fillstream.cli import app
from fillstream.connectors.feeds.synthetic import SyntheticParams, synthetic_events
from fillstream.domain.ids import order_id_for
from fillstream.pipeline import feed
from fillstream.schemas.models import Command
from tests.accounts import write_config
from tests.integration.live import running_pipeline
from tests.integration.test_allocation_live import GROUP_SIGNAL, SECOND, START

pytestmark = pytest.mark.integration

REFUSE_FUND_B = """
[risk.accounts.fund-b.symbols."BTC/USDT"]
max_order_quantity = "0.01"
"""
FILLED = {
    "grp-1:fund-a": Decimal("0.02"),
    "grp-1:fund-c": Decimal("0.05"),
    "grp-1:fund-c:f1": Decimal("0.03"),
}


def test_a_refused_childs_quantity_completes_on_another_account(kafka_bootstrap, tmp_path_factory):
    config = write_config(tmp_path_factory.mktemp("config"), REFUSE_FUND_B)
    with running_pipeline(kafka_bootstrap, tmp_path_factory, "failover", config=config) as (
        pipeline,
        watcher,
    ):
        market = synthetic_events(SyntheticParams(start=START, duration_us=8 * SECOND), seed=3)
        feed(market, [GROUP_SIGNAL], watcher=watcher, pipeline=pipeline)
        watcher.settle(timeout=50, pipeline=pipeline)
        records = watcher.records

        [refusal] = records["orders.rejected"]
        assert (refusal["signal_id"], refusal["reason_code"]) == (
            "grp-1:fund-b",
            "MAX_ORDER_QUANTITY",
        )
        original, failover = records["allocations"]
        assert (original["failover_of"], original["allocated"]) == (None, Decimal("0.1"))
        assert (failover["failover_of"], failover["allocated"]) == ("grp-1:fund-b", Decimal("0.03"))
        assert failover["notes"][0].startswith("failover of grp-1:fund-b: rejected (MAX_ORDER")
        assert failover["notes"][-1] == "0.03 to fund-c as grp-1:fund-c:f1"
        final = {s["order_id"]: s for s in records["orders.state"]}
        for signal_id, quantity in FILLED.items():
            order = final[order_id_for(signal_id)]
            assert (order["status"], order["filled_quantity"]) == ("filled", quantity), order
        refused = final[order_id_for("grp-1:fund-b")]
        assert (refused["status"], refused["filled_quantity"]) == ("rejected", 0), refused

        audit = tmp_path_factory.mktemp("audit") / "audit.json"
        result = CliRunner().invoke(app, ["audit", "--json", str(audit)])
        assert result.exit_code == 0, result.output
        assert json.loads(audit.read_text())["violations"] == []


def test_a_child_working_when_its_account_is_paused_moves_to_another_account(
    kafka_bootstrap, tmp_path_factory
):
    # Limit children 1.7 % below a 60,000 market rest; fund-b is paused at 5 s, its 0.03 is
    # cancelled and fund-c, the heaviest account left, rests 0.03 more as grp-1:fund-c:f1.
    config = write_config(tmp_path_factory.mktemp("config"))
    resting = GROUP_SIGNAL | {"order_type": "limit", "price": "59000"}
    pause = Command(
        command_id="pause-b",
        kind="pause",
        account_id="fund-b",
        reason="ops",
        created_at=START + 5 * SECOND,
    )
    with running_pipeline(kafka_bootstrap, tmp_path_factory, "pause", config=config) as (
        pipeline,
        watcher,
    ):
        market = synthetic_events(SyntheticParams(start=START, duration_us=8 * SECOND), seed=3)
        feed(market, [resting], [pause], watcher=watcher, pipeline=pipeline)
        watcher.settle(timeout=50, pipeline=pipeline)
        records = watcher.records

        final = {s["order_id"]: s for s in records["orders.state"]}
        paused = final[order_id_for("grp-1:fund-b")]
        assert (paused["status"], paused["reason"]) == ("cancelled", "account paused: ops")
        _, failover = records["allocations"]
        assert failover["notes"][0] == "failover of grp-1:fund-b: cancelled (account paused: ops)"
        assert failover["notes"][-1] == "0.03 to fund-c as grp-1:fund-c:f1"
        moved = final[order_id_for("grp-1:fund-c:f1")]
        assert (moved["status"], moved["quantity"]) == ("accepted", Decimal("0.03")), moved
        for working in ("grp-1:fund-a", "grp-1:fund-c"):
            assert final[order_id_for(working)]["status"] == "accepted"
